"""Matching firehose events, and expectations that explain what was seen instead.

A Then-step asks for "a commit by alice.test creating app.bsky.feed.post";
:class:`EventQuery` says that as data, and :func:`expect_event` waits for it
with a deadline. When it does not come, the failure lists the events that did
(type, sequence number, account, ops), with DIDs shown as handles, and says
when a matching event came before the window the step looks at.
:func:`expect_no_event` judges a stream that was first proved complete (see
:mod:`atproto_bdd.world.windows`): it never waits and hopes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import UsageError
from ..protocol.firehose import FirehoseEvent, FirehoseRecorder
from ..protocol.syntax import normalize_nsid

#: Event types of subscribeRepos, without the ``#``.
EVENT_TYPES = ("commit", "identity", "account", "sync")
#: Step wording of commit operations.
ACTIONS = {"creating": "create", "updating": "update", "deleting": "delete"}

Names = Callable[[str], str]
#: Whether an event belongs to the window a step looks at.
InWindow = Callable[[FirehoseEvent], bool]


def everything(event: FirehoseEvent) -> bool:
    """The window of "has shown" steps: the whole recorded stream."""
    return True


def require_event_type(name: str) -> str:
    """``name`` if it is an event type we know, else a UsageError listing them."""
    if name not in EVENT_TYPES:
        raise UsageError(f"unknown firehose event type {name!r}; known types: {', '.join(EVENT_TYPES)}")
    return name


@dataclass(frozen=True)
class EventQuery:
    """Which events count: a type, and optionally a DID, an operation on a collection, a status.

    Commits count only if they carry at least one record operation. Which
    part of a stream is looked at (the window) is not part of the query.
    """

    type: str = "commit"
    did: str | None = None
    action: str | None = None
    collection: str | None = None
    status: str | None = None

    def matches(self, event: FirehoseEvent) -> bool:
        """True if ``event`` is one of the events this query asks for."""
        if event.type != self.type or (self.did is not None and event.did != self.did):
            return False
        if self.status is not None and event.status != self.status:
            return False
        if event.type == "commit" and not event.ops:
            # The empty commit that initialises a new repository changes no record:
            # "a commit by alice.test" means alice.test wrote something.
            return False
        if self.action is None and self.collection is None:
            return True
        wanted = normalize_nsid(self.collection) if self.collection is not None else None
        return any(
            (self.action is None or op.action == self.action)
            and (wanted is None or normalize_nsid(op.collection) == wanted)
            for op in event.ops
        )

    def describe(self, names: Names = str) -> str:
        """The query in step wording: ``a commit by alice.test creating app.bsky.feed.post``."""
        article = "an" if self.type[0] in "aeiou" else "a"
        text = f"{article} {self.type}" if self.type == "commit" else f"{article} {self.type} event"
        if self.did is not None:
            text += f" {'by' if self.type == 'commit' else 'for'} {names(self.did)}"
        if self.action or self.collection:
            verb = next((word for word, action in ACTIONS.items() if action == self.action), "touching")
            text += f" {verb} {self.collection or 'any collection'}"
        if self.status is not None:
            text += f" with status {self.status}"
        return text


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def describe_event(event: FirehoseEvent, names: Names = str) -> str:
    """One line: ``#12 02:00:20.137 commit alice.test: create app.bsky.feed.post/3kab...``."""
    who = names(event.did) if event.did else "-"
    when = f" {_clock(event.timestamp)}" if event.timestamp is not None else ""
    line = f"#{event.seq}{when} {event.type} {who}"
    if event.ops:
        line += ": " + ", ".join(f"{op.action} {op.path}" for op in event.ops)
    elif event.type == "account":
        line += f": {event.status}"
    elif event.type == "identity" and event.body.get("handle"):
        line += f": handle {event.body['handle']}"
    return line


def describe_events(events: Sequence[FirehoseEvent], names: Names = str, limit: int = 40) -> str:
    """The events seen, one per line (the last ``limit``), for failure messages."""
    if not events:
        return "    (no events)"
    shown = events[-limit:]
    lines = [f"    {describe_event(event, names)}" for event in shown]
    if len(events) > limit:
        lines.insert(0, f"    ... {len(events) - limit} earlier events")
    return "\n".join(lines)


def expect_event(
    stream: FirehoseRecorder,
    query: EventQuery,
    *,
    timeout: float,
    in_window: InWindow = everything,
    names: Names = str,
    where: str = "the firehose",
    whole_scenario_step: str = "",
) -> FirehoseEvent:
    """Wait up to ``timeout`` for an event in the window matching ``query``; fail listing what was seen.

    When a matching event exists outside the window (before the latest
    When-steps), the failure says so and names ``whole_scenario_step``, the
    step that looks at the whole scenario.
    """
    event = stream.wait_for(lambda e: in_window(e) and query.matches(e), timeout)
    if event is not None:
        return event
    events = stream.events
    earlier = [e for e in events if query.matches(e) and not in_window(e)]
    hint = ""
    if earlier:
        hint = f"\n  it did show {query.describe(names)} at #{earlier[-1].seq}, before the When-steps" + (
            f": to check the whole scenario use `Then {whole_scenario_step}`" if whole_scenario_step else ""
        )
    raise AssertionError(
        f"{where} did not show {query.describe(names)} within {timeout:g}s{hint}; it showed:\n"
        f"{describe_events(events, names)}{_errors(stream)}"
    )


def expect_no_event(
    events: Sequence[FirehoseEvent],
    query: EventQuery,
    *,
    in_window: InWindow = everything,
    names: Names = str,
    where: str = "the firehose",
) -> None:
    """Fail if ``events`` (a stream proved complete up to after the action) hold one matching ``query``."""
    found = [event for event in events if in_window(event) and query.matches(event)]
    if found:
        raise AssertionError(
            f"{where} showed {query.describe(names)}:\n{describe_events(found, names)}\nall events:\n"
            f"{describe_events(events, names)}"
        )


def _errors(stream: FirehoseRecorder) -> str:
    errors = stream.errors
    closed = "\n  (the stream was closed by the server)" if stream.closed else ""
    failure = f"\n  recording stopped: {stream.failure}" if stream.failure is not None else ""
    return ("\n  error frames: " + "; ".join(str(e) for e in errors) if errors else "") + closed + failure


def repeated(events: list[FirehoseEvent], key: Callable[[FirehoseEvent], Hashable]) -> list[FirehoseEvent]:
    """The events of ``events`` whose ``key`` an earlier one had (each later copy)."""
    seen: set[Hashable] = set()
    twice: list[FirehoseEvent] = []
    for event in events:
        k = key(event)
        if k in seen:
            twice.append(event)
        seen.add(k)
    return twice
