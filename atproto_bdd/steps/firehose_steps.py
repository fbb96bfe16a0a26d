"""Steps that check a PDS's firehose (com.atproto.sync.subscribeRepos).

"Shows" waits up to ``firehose_timeout`` seconds (``-D firehose_timeout=5``)
for the event and, failing that, lists the events that were seen. "Shows no"
first reads the stream up to the PDS's latest event (a ``FutureCursor`` probe
proves it got there) and then looks: it never passes because the stream was
slow. The stream is recorded from the PDS's first event.

"Shows" and "shows no" look at the events since the scenario's latest group
of When-steps began - the events numbered above each PDS's head at that
moment - so a Then-step checks what the action caused, not what happened
before it; before any When-step they look at everything. "Has shown" looks
at the whole stream (on a network shared by ``@network:feature`` that
includes earlier scenarios' events). Replays read up to the PDS's head.

"A commit by alice.test" is a ``#commit`` with at least one record operation
in alice.test's repository: the empty commit that initialises a new account's
repository does not count (its ``#sync`` event shows it).
"""

from __future__ import annotations

from typing import Any

from behave import then

from ..protocol.firehose import FirehoseEvent, parse_cursor
from ..world import World
from ..world.events import ACTIONS, EventQuery, describe_events
from .support import atproto_step, world_of


def assert_replay_count(world: World, events: list[FirehoseEvent], query: EventQuery, count: int, cursor: str) -> None:
    """Check a replay from ``cursor`` holds ``count`` events matching ``query``."""
    found = [event for event in events if query.matches(event)]
    assert len(found) == count, (
        f"replaying from cursor {cursor} showed {len(found)} x {query.describe(world.name_of)}, expected {count}; "
        f"it showed:\n{describe_events(events, world.name_of)}"
    )


@then("the firehose of PDS {pds:PdsName} shows a commit by {handle:Handle}")
@atproto_step
def then_firehose_shows_commit(context: Any, pds: str, handle: str) -> None:
    """Waits for a ``#commit`` with record operations in HANDLE's repository on PDS PDS's firehose."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query("commit", handle))


@then("the firehose of PDS {pds:PdsName} shows a commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_firehose_shows_commit_op(context: Any, pds: str, handle: str, action: str, collection: str) -> None:
    """Waits for a ``#commit`` by HANDLE with a create/update/delete (ACTION) of a COLLECTION record."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query("commit", handle, action=ACTIONS[action], collection=collection))


@then("the firehose of PDS {pds:PdsName} shows an {kind:Word} event for {handle:Handle}")
@then("the firehose of PDS {pds:PdsName} shows a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_firehose_shows_event(context: Any, pds: str, kind: str, handle: str) -> None:
    """Waits for an event of type KIND (``identity``, ``account``, ``sync``, ``commit``) about HANDLE."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query(kind, handle))


@then("the firehose of PDS {pds:PdsName} shows an {kind:Word} event for {handle:Handle} with status {status:Word}")
@atproto_step
def then_firehose_shows_event_with_status(context: Any, pds: str, kind: str, handle: str, status: str) -> None:
    """Waits for an event of type KIND about HANDLE whose account status is STATUS (e.g. ``deactivated``)."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query(kind, handle, status=status))


@then("the firehose of PDS {pds:PdsName} shows no commit by {handle:Handle}")
@atproto_step
def then_firehose_shows_no_commit(context: Any, pds: str, handle: str) -> None:
    """Fails if the stream, read up to the PDS's latest event, holds a ``#commit`` by HANDLE in the window."""
    world = world_of(context)
    world.expect_none_on_pds(pds, world.event_query("commit", handle))


@then("the firehose of PDS {pds:PdsName} shows no commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_firehose_shows_no_commit_op(context: Any, pds: str, handle: str, action: str, collection: str) -> None:
    """Fails if a ``#commit`` by HANDLE creating/updating/deleting (ACTION) a COLLECTION record shows."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    world.expect_none_on_pds(pds, query)


@then(
    "replaying the firehose of PDS {pds:PdsName} from cursor {cursor:Word} shows "
    "{count:Count} commits by {handle:Handle} {action:Action} {collection:NSID}"
)
@then(
    "replaying the firehose of PDS {pds:PdsName} from cursor {cursor:Word} shows "
    "{count:Count} commit by {handle:Handle} {action:Action} {collection:NSID}"
)
@atproto_step
def then_replay_shows_commits(
    context: Any, pds: str, cursor: str, count: int, handle: str, action: str, collection: str
) -> None:
    """Opens a new subscription from CURSOR (0 = oldest), reads it up to the PDS's latest event, counts commits."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    start = parse_cursor(cursor)
    events = world.pds(pds).replay_firehose(start, head=world.pds_head(pds))
    assert_replay_count(world, events, query, count, cursor)


@then("the firehose of PDS {pds:PdsName} has shown a commit by {handle:Handle}")
@atproto_step
def then_firehose_has_shown_commit(context: Any, pds: str, handle: str) -> None:
    """Like "shows a commit by HANDLE", over the whole scenario (events before the When-steps count too)."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query("commit", handle), whole=True)


@then("the firehose of PDS {pds:PdsName} has shown a commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_firehose_has_shown_commit_op(context: Any, pds: str, handle: str, action: str, collection: str) -> None:
    """Like "shows a commit by HANDLE ACTION COLLECTION", over the whole scenario."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    world.expect_on_pds(pds, query, whole=True)


@then("the firehose of PDS {pds:PdsName} has shown an {kind:Word} event for {handle:Handle}")
@then("the firehose of PDS {pds:PdsName} has shown a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_firehose_has_shown_event(context: Any, pds: str, kind: str, handle: str) -> None:
    """Like "shows an KIND event for HANDLE", over the whole scenario."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query(kind, handle), whole=True)


@then("the firehose of PDS {pds:PdsName} has shown an {kind:Word} event for {handle:Handle} with status {status:Word}")
@atproto_step
def then_firehose_has_shown_event_with_status(context: Any, pds: str, kind: str, handle: str, status: str) -> None:
    """Like "shows an KIND event for HANDLE with status STATUS", over the whole scenario."""
    world = world_of(context)
    world.expect_on_pds(pds, world.event_query(kind, handle, status=status), whole=True)
