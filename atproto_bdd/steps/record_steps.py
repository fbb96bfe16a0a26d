"""Steps that create, delete and check records."""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..errors import UsageError
from ..world import XrpcCall
from ..world.bsky import POST
from ..world.matching import mismatches
from .support import atproto_step, json_object_docstring, world_of


@given('{handle:Handle} posts "{text}"')
@when('{handle:Handle} posts "{text}"')
@atproto_step
def when_posts(context: Any, handle: str, text: str) -> None:
    """Creates an ``app.bsky.feed.post`` with TEXT (placeholders allowed) in HANDLE's repository.

    As the official clients do, ``@handle`` of an account becomes a mention
    facet and an ``https://`` URL a link facet (byte offsets in UTF-8).
    """
    world = world_of(context)
    world.account(handle).post(world.resolve(text))


@given('{handle:Handle} posts "{text}" mentioning {other:Handle}')
@when('{handle:Handle} posts "{text}" mentioning {other:Handle}')
@atproto_step
def when_posts_mentioning(context: Any, handle: str, text: str, other: str) -> None:
    """Posts TEXT with a mention facet for OTHER: over ``@OTHER`` in TEXT, or with ``@OTHER `` put in front."""
    world = world_of(context)
    world.account(handle).post_mentioning(world.account(other), world.resolve(text))


@when('{handle:Handle} tries to post "{text}"')
@atproto_step
def when_tries_to_post(context: Any, handle: str, text: str) -> None:
    """Like "posts", but a refusal by the PDS is kept for "Then the request ..." instead of failing."""
    world = world_of(context)
    account = world.account(handle)
    world.attempt(f"{handle} posts", lambda: account.post(world.resolve(text)))


@given("{handle:Handle} creates a {collection:NSID} record:")
@when("{handle:Handle} creates a {collection:NSID} record:")
@atproto_step
def when_creates_record(context: Any, handle: str, collection: str) -> None:
    """Creates a record from the JSON docstring (placeholders allowed) in COLLECTION.

    ``$type`` defaults to the collection. Example::

        When alice.test creates a com.example.project record:
          \"\"\"
          {"name": "My project", "owner": "${alice.test.did}"}
          \"\"\"
    """
    world = world_of(context)
    record = json_object_docstring(context, world, "the record as JSON")
    world.account(handle).create_record(collection, record)


@when("{handle:Handle} tries to create a {collection:NSID} record:")
@atproto_step
def when_tries_to_create_record(context: Any, handle: str, collection: str) -> None:
    """Like "creates a ... record:", but keeps a refusal for "Then the request ..." steps."""
    world = world_of(context)
    record = json_object_docstring(context, world, "the record as JSON")
    account = world.account(handle)
    # The outcome is the PDS's reply (uri, cid, validationStatus): what "the response contains:" compares.
    world.attempt(
        f"{handle} creates a {collection} record",
        lambda: account.create_record(collection, record).reply,
        xrpc=XrpcCall(
            "com.atproto.repo.createRecord",
            input={"repo": account.did, "collection": collection, "record": {"$type": collection, **record}},
            procedure=True,
        ),
    )


@given("{handle:Handle} follows {other:Handle}")
@when("{handle:Handle} follows {other:Handle}")
@atproto_step
def when_follows(context: Any, handle: str, other: str) -> None:
    """Creates an ``app.bsky.graph.follow`` of OTHER in HANDLE's repository."""
    world = world_of(context)
    world.account(handle).follow(world.account(other))


@given("{handle:Handle} likes {other:Handle}'s latest post")
@when("{handle:Handle} likes {other:Handle}'s latest post")
@atproto_step
def when_likes_latest_post(context: Any, handle: str, other: str) -> None:
    """Creates an ``app.bsky.feed.like`` of OTHER's latest post (the newest in their repository)."""
    world = world_of(context)
    world.account(handle).like(world.account(other).latest(POST))


@given("{handle:Handle} reposts {other:Handle}'s latest post")
@when("{handle:Handle} reposts {other:Handle}'s latest post")
@atproto_step
def when_reposts_latest_post(context: Any, handle: str, other: str) -> None:
    """Creates an ``app.bsky.feed.repost`` of OTHER's latest post (the newest in their repository)."""
    world = world_of(context)
    world.account(handle).repost(world.account(other).latest(POST))


@given("{handle:Handle} deletes their latest post")
@when("{handle:Handle} deletes their latest post")
@atproto_step
def when_deletes_latest_post(context: Any, handle: str) -> None:
    """Deletes HANDLE's latest post (the newest in their repository) (``com.atproto.repo.deleteRecord``)."""
    account = world_of(context).account(handle)
    account.delete(account.latest(POST))


@given("{handle:Handle} deletes {pronoun:Pronoun} latest {collection:NSID} record")
@when("{handle:Handle} deletes {pronoun:Pronoun} latest {collection:NSID} record")
@atproto_step
def when_deletes_latest_record(context: Any, handle: str, pronoun: str, collection: str) -> None:
    """Deletes HANDLE's newest COLLECTION record, whoever wrote it (``com.atproto.repo.deleteRecord``)."""
    account = world_of(context).account(handle)
    account.delete(account.latest(collection))


@given("{handle:Handle} updates {pronoun:Pronoun} latest {collection:NSID} record to:")
@when("{handle:Handle} updates {pronoun:Pronoun} latest {collection:NSID} record to:")
@atproto_step
def when_replaces_latest_record(context: Any, handle: str, pronoun: str, collection: str) -> None:
    """Replaces HANDLE's newest COLLECTION record with the JSON docstring, at the same key (``putRecord``).

    The docstring is the whole new record (``$type`` defaults to COLLECTION);
    ``${handle.latest.*}`` then names the new version. Example::

        When alice.test updates her latest com.example.bookmark record to:
          \"\"\"
          {"url": "https://example.com", "title": "renamed"}
          \"\"\"
    """
    world = world_of(context)
    record = json_object_docstring(context, world, "the record as JSON")
    account = world.account(handle)
    account.put_record(collection, account.latest(collection).rkey, record)


@given("{handle:Handle} updates {pronoun:Pronoun} latest {collection:NSID} record with:")
@when("{handle:Handle} updates {pronoun:Pronoun} latest {collection:NSID} record with:")
@atproto_step
def when_updates_latest_record(context: Any, handle: str, pronoun: str, collection: str) -> None:
    """Changes fields of HANDLE's newest COLLECTION record: the JSON docstring's fields merged into it (``putRecord``).

    Fields not named keep their values; ``to:`` instead of ``with:`` replaces the whole record.
    """
    world = world_of(context)
    fields = json_object_docstring(context, world, "the fields as JSON")
    world.account(handle).update_record(world.account(handle).latest(collection), fields)


@given('{handle:Handle} creates a {collection:NSID} record as "{name}":')
@when('{handle:Handle} creates a {collection:NSID} record as "{name}":')
@atproto_step
def when_creates_named_record(context: Any, handle: str, collection: str, name: str) -> None:
    """Creates a record from the JSON docstring and names it NAME for this scenario.

    ``${records.NAME.uri}`` (``.cid``, ``.rkey``) is it in later steps, and
    ``When HANDLE deletes the record "NAME"`` deletes it.
    """
    world = world_of(context)
    record = json_object_docstring(context, world, "the record as JSON")
    world.name_record(name, world.account(handle).create_record(collection, record))


@given('{handle:Handle} deletes the record "{name}"')
@when('{handle:Handle} deletes the record "{name}"')
@atproto_step
def when_deletes_named_record(context: Any, handle: str, name: str) -> None:
    """Deletes the record named NAME (``creates a ... record as "NAME":``) from HANDLE's repository."""
    world = world_of(context)
    ref = world.named_record(name)
    account = world.account(handle)
    if ref.did != account.did:
        raise UsageError(
            f"the record \"{name}\" ({ref.uri}) is in {world.name_of(ref.did)}'s repository, not {handle}'s"
        )
    account.delete(ref)


@then("{handle:Handle} has {count:Count} {collection:NSID} records")
@then("{handle:Handle} has {count:Count} {collection:NSID} record")
@atproto_step
def then_has_records(context: Any, handle: str, count: int, collection: str) -> None:
    """Counts HANDLE's records in COLLECTION on their PDS (``com.atproto.repo.listRecords``).

    COUNT is a number or ``no``/``one``...``five``.
    """
    world = world_of(context)
    world.lexicons.refuse_near_miss(collection)  # "has no app.bsky.feed.pots records" would pass whatever happened
    records = world.account(handle).list_records(collection)
    uris = "\n    ".join(record.uri for record in records) or "(none)"
    assert len(records) == count, f"{handle} has {len(records)} {collection} records, expected {count}:\n    {uris}"


@then('{handle:Handle}\'s latest post has text "{text}"')
@atproto_step
def then_latest_post_text(context: Any, handle: str, text: str) -> None:
    """Fetches HANDLE's latest post from the PDS and compares its text."""
    world = world_of(context)
    account = world.account(handle)
    stored = account.get(account.latest(POST))
    expected = world.resolve(text)
    actual = stored.value.get("text")
    assert actual == expected, f"{stored.uri} has text {actual!r}, expected {expected!r}"


@then("{handle:Handle}'s latest {collection:NSID} record contains:")
@atproto_step
def then_latest_record_contains(context: Any, handle: str, collection: str) -> None:
    """Fetches HANDLE's latest COLLECTION record and checks it contains the JSON docstring's fields."""
    world = world_of(context)
    expected = json_object_docstring(context, world, "the fields the record contains, as JSON")
    account = world.account(handle)
    stored = account.get(account.latest(collection))
    problems = mismatches(expected, stored.value)
    assert not problems, f"{stored.uri} differs:\n    " + "\n    ".join(problems)
