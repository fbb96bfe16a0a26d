"""Steps for the relay: the real indigo relay aggregating the network's PDSes.

The relay is ``github.com/bluesky-social/indigo/cmd/relay`` at a pinned
version, built with ``go install`` on first use. Declare it before the
accounts whose creation it should see: it follows each PDS's live stream.
Its firehose re-sequences every PDS's events into one stream with its own
sequence numbers.
"""

from __future__ import annotations

from typing import Any

from behave import given, then

from ..protocol.firehose import parse_cursor
from ..services.specs import hostname_of
from ..world.events import ACTIONS, describe_events
from .firehose_steps import assert_replay_count
from .support import atproto_step, uses, world_of


@given("a relay crawling {pdses:PdsList}")
@uses("relay")
@atproto_step
def given_relay_crawling(context: Any, pdses: list[str]) -> None:
    """Starts the network's relay subscribed to the PDSes (``PDS A``, ``PDS A and PDS B``, ...).

    If the relay already runs, it crawls these PDSes too. The step returns once
    the relay holds a subscription on each of them.
    """
    world_of(context).add_relay(*pdses)


@then("the relay firehose shows a commit")
@atproto_step
def then_relay_shows_any_commit(context: Any) -> None:
    """Waits for any ``#commit`` with record operations on the relay's firehose."""
    world = world_of(context)
    world.expect_on_relay(world.event_query("commit"))


@then("the relay firehose shows a commit by {handle:Handle}")
@atproto_step
def then_relay_shows_commit(context: Any, handle: str) -> None:
    """Waits for a ``#commit`` by HANDLE on the relay's firehose."""
    world = world_of(context)
    world.expect_on_relay(world.event_query("commit", handle))


@then("the relay firehose shows a commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_relay_shows_commit_op(context: Any, handle: str, action: str, collection: str) -> None:
    """Waits for a ``#commit`` by HANDLE creating/updating/deleting (ACTION) a COLLECTION record on the relay."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    world.expect_on_relay(query)


@then("the relay firehose shows an {kind:Word} event for {handle:Handle}")
@then("the relay firehose shows a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_relay_shows_event(context: Any, kind: str, handle: str) -> None:
    """Waits for an event of type KIND (``identity``, ``account``, ``sync``, ``commit``) about HANDLE on the relay."""
    world = world_of(context)
    world.expect_on_relay(world.event_query(kind, handle))


@then("the relay firehose shows an {kind:Word} event for {handle:Handle} with status {status:Word}")
@atproto_step
def then_relay_shows_event_with_status(context: Any, kind: str, handle: str, status: str) -> None:
    """Waits for an event of type KIND about HANDLE with account status STATUS on the relay's firehose."""
    world = world_of(context)
    query = world.event_query(kind, handle, status=status)
    world.expect_on_relay(query)


@then("the relay firehose shows no commit by {handle:Handle}")
@atproto_step
def then_relay_shows_no_commit(context: Any, handle: str) -> None:
    """Fails if the relay's firehose shows a ``#commit`` by HANDLE in the window.

    The stream is first proved complete: the relay has passed on (or dropped,
    as its cursor on the PDS shows) HANDLE's latest event.
    """
    world = world_of(context)
    world.expect_none_on_relay(world.event_query("commit", handle))


@then("the relay firehose has shown a commit by {handle:Handle}")
@atproto_step
def then_relay_has_shown_commit(context: Any, handle: str) -> None:
    """Like "the relay firehose shows a commit by HANDLE", over the whole scenario."""
    world = world_of(context)
    world.expect_on_relay(world.event_query("commit", handle), whole=True)


@then("the relay firehose has shown a commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_relay_has_shown_commit_op(context: Any, handle: str, action: str, collection: str) -> None:
    """Like "the relay firehose shows a commit by HANDLE ACTION COLLECTION", over the whole scenario."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    world.expect_on_relay(query, whole=True)


@then("the relay firehose has shown an {kind:Word} event for {handle:Handle}")
@then("the relay firehose has shown a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_relay_has_shown_event(context: Any, kind: str, handle: str) -> None:
    """Like "the relay firehose shows an KIND event for HANDLE", over the whole scenario."""
    world = world_of(context)
    world.expect_on_relay(world.event_query(kind, handle), whole=True)


@then("the relay firehose has shown an {kind:Word} event for {handle:Handle} with status {status:Word}")
@atproto_step
def then_relay_has_shown_event_with_status(context: Any, kind: str, handle: str, status: str) -> None:
    """Like "the relay firehose shows an KIND event for HANDLE with status STATUS", over the whole scenario."""
    world = world_of(context)
    world.expect_on_relay(world.event_query(kind, handle, status=status), whole=True)


@then("the relay firehose numbers its events in increasing order")
@atproto_step
def then_relay_sequence_increases(context: Any) -> None:
    """Checks the sequence numbers of every event the relay streamed so far strictly increase."""
    events = world_of(context).relay.firehose.events
    seqs = [event.seq for event in events]
    assert seqs and all(a < b for a, b in zip(seqs, seqs[1:], strict=False)), (
        f"the relay's sequence numbers are {seqs}:\n{describe_events(events, world_of(context).name_of)}"
    )


@then(
    "replaying the relay firehose from cursor {cursor:Word} shows "
    "{count:Count} commits by {handle:Handle} {action:Action} {collection:NSID}"
)
@then(
    "replaying the relay firehose from cursor {cursor:Word} shows "
    "{count:Count} commit by {handle:Handle} {action:Action} {collection:NSID}"
)
@atproto_step
def then_relay_replay_shows(context: Any, cursor: str, count: int, handle: str, action: str, collection: str) -> None:
    """Opens a new subscription to the relay from CURSOR (0 = oldest), reads it up to its head, counts commits."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    start = parse_cursor(cursor)
    events = world.relay.replay_firehose(start, head=world.relay_head())
    assert_replay_count(world, events, query, count, cursor)


@then("the relay lists PDS {pds:PdsName} as a host")
@atproto_step
def then_relay_lists_host(context: Any, pds: str) -> None:
    """Checks ``com.atproto.sync.listHosts`` on the relay lists PDS PDS (``localhost:<port>``).

    The relay lists hosts it has received events from and saves their state
    every few seconds, so the step polls for up to ``relay_timeout`` seconds.
    """
    world = world_of(context)
    hostname = hostname_of(world.pds(pds).url)
    hosts = world.relay.wait_for_host(hostname, world.settings.relay_timeout)
    names = [host.get("hostname") for host in hosts]
    assert hostname in names, f"the relay lists {names or 'no hosts'}, not PDS {pds} ({hostname})"


@then("PDS {other:PdsName} resolves {handle:Handle}'s DID to PDS {pds:PdsName}")
@atproto_step
def then_pds_resolves_did(context: Any, other: str, handle: str, pds: str) -> None:
    """Looks HANDLE's DID up in the PLC directory PDS OTHER is configured with; it must point at PDS PDS.

    This is how a PDS finds accounts hosted elsewhere: handles are local to a
    PDS, DIDs are resolved through the shared PLC directory.
    """
    world = world_of(context)
    document = world.pds(other).resolve_did(world.account(handle).did)
    expected = world.pds(pds).url
    assert document.pds_endpoint == expected, (
        f"PDS {other}'s PLC directory resolves {document.id} to {document.pds_endpoint}, "
        f"expected PDS {pds} ({expected})"
    )
