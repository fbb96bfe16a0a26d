"""Steps that check a PDS's firehose (com.atproto.sync.subscribeRepos).

"shows" waits up to ``firehose_timeout`` seconds (``-D firehose_timeout=5``)
for the event and, failing that, lists the events that were seen. "shows no"
waits ``firehose_settle`` seconds and fails if such an event arrived. The
stream is recorded from the PDS's first event, so a step also finds events
that happened before it ran. On a network shared by ``@network:feature`` that
includes earlier scenarios' events.

"A commit by alice.test" is a ``#commit`` with at least one record operation
in alice.test's repository: the empty commit that initialises a new account's
repository does not count (its ``#sync`` event shows it).

"Shows" and "shows no" look at the events since the scenario's latest group
of When-steps began (all events, if no When-step ran yet): a Then-step checks
what the action caused, not what happened before it. Replays are not limited.
"""

from __future__ import annotations

from typing import Any

from behave import then

from ..protocol.firehose import FirehoseEvent, FirehoseRecorder
from ..world import World
from ..world.events import ACTIONS, EventQuery, describe_events, expect_event, expect_no_event
from .support import atproto_step, world_of


def expect_on(world: World, stream: FirehoseRecorder, where: str, query: EventQuery) -> FirehoseEvent:
    """Wait (``firehose_timeout``) for ``query`` on ``stream``; shared by the PDS and relay steps."""
    return expect_event(stream, query, timeout=world.settings.firehose_timeout, names=world.name_of, where=where)


def expect_none_on(world: World, stream: FirehoseRecorder, where: str, query: EventQuery) -> None:
    """Fail if ``query`` shows on ``stream`` within ``firehose_settle``."""
    expect_no_event(stream, query, settle=world.settings.firehose_settle, names=world.name_of, where=where)


def assert_replay_count(world: World, events: list[FirehoseEvent], query: EventQuery, count: int, cursor: str) -> None:
    """Check a replay from ``cursor`` holds ``count`` events matching ``query``."""
    found = [event for event in events if query.matches(event)]
    assert len(found) == count, (
        f"replaying from cursor {cursor} showed {len(found)} x {query.describe(world.name_of)}, expected {count}; "
        f"it showed:\n{describe_events(events, world.name_of)}"
    )


def _expect(world: World, pds: str, query: EventQuery) -> FirehoseEvent:
    return expect_on(world, world.pds(pds).firehose, f"the firehose of PDS {pds}", query)


@then("the firehose of PDS {pds:PdsName} shows a commit by {handle:Handle}")
@atproto_step
def then_firehose_shows_commit(context: Any, pds: str, handle: str) -> None:
    """Waits for a ``#commit`` with record operations in HANDLE's repository on PDS PDS's firehose."""
    world = world_of(context)
    _expect(world, pds, world.event_query("commit", handle))


@then("the firehose of PDS {pds:PdsName} shows a commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_firehose_shows_commit_op(context: Any, pds: str, handle: str, action: str, collection: str) -> None:
    """Waits for a ``#commit`` by HANDLE with a create/update/delete (ACTION) of a COLLECTION record."""
    world = world_of(context)
    _expect(world, pds, world.event_query("commit", handle, action=ACTIONS[action], collection=collection))


@then("the firehose of PDS {pds:PdsName} shows an {kind:Word} event for {handle:Handle}")
@then("the firehose of PDS {pds:PdsName} shows a {kind:Word} event for {handle:Handle}")
@atproto_step
def then_firehose_shows_event(context: Any, pds: str, kind: str, handle: str) -> None:
    """Waits for an event of type KIND (``identity``, ``account``, ``sync``, ``commit``) about HANDLE."""
    world = world_of(context)
    _expect(world, pds, world.event_query(kind, handle))


@then("the firehose of PDS {pds:PdsName} shows an {kind:Word} event for {handle:Handle} with status {status:Word}")
@atproto_step
def then_firehose_shows_event_with_status(context: Any, pds: str, kind: str, handle: str, status: str) -> None:
    """Waits for an event of type KIND about HANDLE whose account status is STATUS (e.g. ``deactivated``)."""
    world = world_of(context)
    _expect(world, pds, world.event_query(kind, handle, status=status))


@then("the firehose of PDS {pds:PdsName} shows no commit by {handle:Handle}")
@atproto_step
def then_firehose_shows_no_commit(context: Any, pds: str, handle: str) -> None:
    """Fails if a ``#commit`` with record operations by HANDLE arrives within the settle time (or arrived before)."""
    world = world_of(context)
    expect_none_on(world, world.pds(pds).firehose, f"the firehose of PDS {pds}", world.event_query("commit", handle))


@then("the firehose of PDS {pds:PdsName} shows no commit by {handle:Handle} {action:Action} {collection:NSID}")
@atproto_step
def then_firehose_shows_no_commit_op(context: Any, pds: str, handle: str, action: str, collection: str) -> None:
    """Fails if a ``#commit`` by HANDLE creating/updating/deleting (ACTION) a COLLECTION record shows."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection)
    expect_none_on(world, world.pds(pds).firehose, f"the firehose of PDS {pds}", query)


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
    """Opens a new subscription from CURSOR (0 = oldest) and counts matching commits until the stream is quiet."""
    world = world_of(context)
    query = world.event_query("commit", handle, action=ACTIONS[action], collection=collection, windowed=False)
    events = world.pds(pds).replay_firehose(cursor, idle=world.settings.firehose_settle)
    assert_replay_count(world, events, query, count, cursor)
