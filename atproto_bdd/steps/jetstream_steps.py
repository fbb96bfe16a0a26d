"""Steps for Jetstream: the JSON event stream many apps read instead of the firehose.

Jetstream (``github.com/bluesky-social/jetstream``) is built with ``go install``
on first use and reads the network's relay from its first event. Each record
operation is one event (``create``, ``update``, ``delete`` of a collection);
identity and account events pass every collection filter. Apps under test get
its URL as ``${jetstream.url}`` (``ws://127.0.0.1:<port>``; subscribe at
``/subscribe``).
"""

from __future__ import annotations

from typing import Any

from behave import given, then

from .support import atproto_step, uses, world_of


@given("Jetstream on the relay")
@uses("jetstream")
@atproto_step
def given_jetstream(context: Any) -> None:
    """Starts Jetstream on the network's relay (declare the relay first) and records its stream.

    It reads the relay from its first event, so what happened before it
    started is in its stream too.
    """
    world_of(context).add_jetstream()


@then("Jetstream shows a {operation:Operation} of {collection:NSID} by {handle:Handle}")
@then("Jetstream shows an {operation:Operation} of {collection:NSID} by {handle:Handle}")
@atproto_step
def then_jetstream_shows_op(context: Any, operation: str, collection: str, handle: str) -> None:
    """Waits for Jetstream's event of HANDLE's OPERATION (``create``, ``update``, ``delete``) of a COLLECTION record."""
    world = world_of(context)
    world.jetstream.expect(world.event_query("commit", handle, action=operation, collection=collection))


@then("Jetstream shows an {kind:Word} event for {handle:Handle}")
@then("Jetstream shows a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_jetstream_shows_event(context: Any, kind: str, handle: str) -> None:
    """Waits for Jetstream's event of KIND (``identity``, ``account``, ``commit``) about HANDLE."""
    world = world_of(context)
    world.jetstream.expect(world.event_query(kind, handle))


@then("Jetstream has shown a {operation:Operation} of {collection:NSID} by {handle:Handle}")
@then("Jetstream has shown an {operation:Operation} of {collection:NSID} by {handle:Handle}")
@atproto_step
def then_jetstream_has_shown_op(context: Any, operation: str, collection: str, handle: str) -> None:
    """Like "Jetstream shows a OPERATION of COLLECTION by HANDLE", over the whole scenario."""
    world = world_of(context)
    world.jetstream.expect(world.event_query("commit", handle, action=operation, collection=collection), whole=True)


@then("Jetstream has shown an {kind:Word} event for {handle:Handle}")
@then("Jetstream has shown a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_jetstream_has_shown_event(context: Any, kind: str, handle: str) -> None:
    """Like "Jetstream shows an KIND event for HANDLE", over the whole scenario."""
    world = world_of(context)
    world.jetstream.expect(world.event_query(kind, handle), whole=True)


@then(
    "Jetstream filtered to {collections:NSIDList} shows a {operation:Operation} of {collection:NSID} by {handle:Handle}"
)
@then(
    "Jetstream filtered to {collections:NSIDList} shows an {operation:Operation} "
    "of {collection:NSID} by {handle:Handle}"
)
@atproto_step
def then_jetstream_filtered_shows_op(
    context: Any, collections: list[str], operation: str, collection: str, handle: str
) -> None:
    """Subscribes with ``wantedCollections`` = COLLECTIONS and waits for HANDLE's OPERATION of a COLLECTION record."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=operation, collection=collection)
    world.jetstream.expect(query, collections=collections)


@then("Jetstream filtered to {collections:NSIDList} shows no event by {handle:Handle}")
@then("Jetstream filtered to {collections:NSIDList} shows no event for {handle:Handle}")
@atproto_step
def then_jetstream_filtered_shows_none(context: Any, collections: list[str], handle: str) -> None:
    """Fails if a subscription with ``wantedCollections`` = COLLECTIONS gets an event by HANDLE in the window.

    Identity and account events pass every collection filter, so they count.
    Judged only once Jetstream is proved to have passed on HANDLE's latest
    event (sequence-based, never after a sleep): see the guide.
    """
    world = world_of(context)
    queries = [world.event_query(kind, handle) for kind in ("commit", "identity", "account")]
    world.jetstream.expect_none(*queries, collections=collections)


@then("Jetstream shows no {operation:Operation} of {collection:NSID} by {handle:Handle}")
@atproto_step
def then_jetstream_shows_no_op(context: Any, operation: str, collection: str, handle: str) -> None:
    """Fails if Jetstream shows HANDLE's OPERATION of a COLLECTION record in the window, once proved complete."""
    world = world_of(context)
    world.jetstream.expect_none(world.event_query("commit", handle, action=operation, collection=collection))
