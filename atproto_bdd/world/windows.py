"""The event window, by sequence numbers, and expectations about PDS and relay firehoses.

"Then the firehose of PDS A shows ..." checks the outcome of the action: the
events since the scenario's latest group of When-steps began. The window is
opened with sequence numbers, never clocks: when the first When-step of a
group starts, every PDS's head is kept, and events numbered above that head
are the window's. The head is read from the PDS itself where the runtime can
(the local runtime asks the PDS's sequencer in its host), so no recorder is
started for a scenario that never looks at a firehose; otherwise, and when
the network has a relay, every PDS's recorder is brought up to that head (a
``FutureCursor`` probe proves it), so relay events can be placed by the PDS
events they carry.

The relay numbers events its own way, so a relay event is placed through the
PDS event it carries on: the same type, account and revision (commits,
syncs) or time (identity, account events). It belongs to the window if that
PDS event does. An event with no PDS origin (one the relay made itself)
belongs to it if it arrived after the window opened.

"Shows no ..." first proves the stream is complete up to a point after the
action - the PDS's recorder holds the PDS's head; the relay has passed on, or
dropped, the latest event of every account concerned (it carried that event,
a later one of the account, or its host cursor is past it) - and only then
looks. Nothing is judged after a sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..protocol.firehose import FirehoseError, FirehoseEvent, FirehoseRecorder, sync_to_head
from ..services.specs import hostname_of
from ..settings import Settings
from ..waiting import Deadline, poll
from .events import EventQuery, InWindow, expect_event, expect_no_event

if TYPE_CHECKING:
    from ..services import Runtime
    from .pds import Pds
    from .relay import Relay

#: An event's identity across streams: its type, account, and revision or time.
Origin = tuple[str, str, str]


def origin_of(event: FirehoseEvent) -> Origin | None:
    """What identifies ``event`` on every stream that carries it (None if it lacks the fields)."""
    marker = event.body.get("rev") if event.type in ("commit", "sync") else event.body.get("time")
    if not event.did or not isinstance(marker, str):
        return None
    return (event.type, event.did, marker)


@dataclass
class EventWindow:
    """Where the latest group of When-steps began: each PDS's head then, and the local clock."""

    heads: dict[str, int] = field(default_factory=dict)
    opened_at: float = field(default_factory=time.perf_counter)

    def on_pds(self, pds: str) -> InWindow:
        """Whether an event of PDS ``pds``'s firehose is in the window (a PDS started since: all are)."""
        head = self.heads.get(pds, 0)
        return lambda event: (event.seq or 0) > head


class Origins:
    """Which PDS event (PDS name, sequence number) each relay event carries on."""

    def __init__(self, pdses: Callable[[], Mapping[str, Pds]]) -> None:
        self._pdses = pdses
        self._known: dict[Origin, tuple[str, int]] = {}
        self._read: dict[int, int] = {}  # id(recorder) -> events indexed

    def find(self, event: FirehoseEvent) -> tuple[str, int] | None:
        """The PDS event ``event`` carries on, from what the PDS recorders hold now."""
        key = origin_of(event)
        if key is None:
            return None
        if key not in self._known:
            self._index()
        return self._known.get(key)

    def _index(self) -> None:
        for name, pds in self._pdses().items():
            if not pds.firehose_started:
                continue
            recorder = pds.firehose
            events = recorder.events
            for event in events[self._read.get(id(recorder), 0) :]:
                key = origin_of(event)
                if key is not None and event.seq is not None:
                    self._known.setdefault(key, (name, event.seq))
            self._read[id(recorder)] = len(events)


class FirehoseChecks:
    """The world's part that opens event windows and checks PDS and relay firehoses against them.

    Mixed into :class:`~atproto_bdd.world.World`, which provides ``settings``,
    ``pdses``, ``pds``, ``relay`` and ``name_of``.
    """

    settings: Settings
    window: EventWindow | None = None
    _origins: Origins | None = None
    #: Each crawled PDS's head when the relay began to crawl it: earlier events never reach the relay.
    relay_start: dict[str, int]

    # provided by World
    pdses: Mapping[str, Pds]
    pds: Callable[[str], Pds]
    relay: Relay
    has_relay: bool
    runtime: Runtime
    name_of: Callable[[str], str]

    def open_window(self) -> EventWindow:
        """Open a new event window: keep every PDS's head (with a relay, each PDS recorder is brought to it)."""
        window = EventWindow()
        for name, pds in self.pdses.items():
            # A relay event is placed through the PDS event it carries: the recorders must hold every
            # event before the window then, or a late one would count as the action's.
            window.heads[name] = self._sync_pds(pds) if self.has_relay else self.sequenced_head(name)
        window.opened_at = time.perf_counter()
        self.window = window
        return window

    def close_window(self) -> None:
        """Forget the window (a new scenario): "shows" looks at the whole stream until a When-step runs."""
        self.window = None

    def _sync_pds(self, pds: Pds) -> int:
        try:
            return sync_to_head(pds.firehose, pds.url, timeout=self.settings.firehose_timeout)
        except FirehoseError as error:
            raise AssertionError(f"the firehose of PDS {pds.name} could not be read up to its head: {error}") from None

    # -- windows ----------------------------------------------------------------------

    def pds_window(self, pds: str, *, whole: bool = False) -> InWindow:
        """The events of PDS ``pds``'s firehose a step looks at."""
        if whole or self.window is None:
            return lambda event: True
        return self.window.on_pds(pds)

    def relay_window(self, *, whole: bool = False) -> InWindow:
        """The events of the relay's firehose a step looks at, placed by their PDS origin."""
        window = self.window
        if whole or window is None:
            return lambda event: True
        origins = self.origins

        def in_window(event: FirehoseEvent) -> bool:
            origin = origins.find(event)
            if origin is None:
                return event.received_at > window.opened_at
            pds, seq = origin
            return seq > window.heads.get(pds, 0)

        return in_window

    @property
    def origins(self) -> Origins:
        """The PDS origins of relay events (one index per world)."""
        if self._origins is None:
            self._origins = Origins(lambda: self.pdses)
        return self._origins

    # -- expectations -----------------------------------------------------------------

    def expect_on_pds(self, pds: str, query: EventQuery, *, whole: bool = False) -> FirehoseEvent:
        """Wait (``firehose_timeout``) for an event matching ``query`` on PDS ``pds``'s firehose."""
        where = f"the firehose of PDS {pds}"
        return expect_event(
            self.pds(pds).firehose,
            query,
            timeout=self.settings.firehose_timeout,
            in_window=self.pds_window(pds, whole=whole),
            names=self.name_of,
            where=where,
            whole_scenario_step=f"{where} has shown {query.describe(self.name_of)}",
        )

    def expect_none_on_pds(self, pds: str, query: EventQuery) -> None:
        """Fail if PDS ``pds``'s firehose, read up to the PDS's head, holds an event matching ``query``."""
        target = self.pds(pds)
        self._sync_pds(target)
        expect_no_event(
            target.firehose.events,
            query,
            in_window=self.pds_window(pds),
            names=self.name_of,
            where=f"the firehose of PDS {pds}",
        )

    def expect_on_relay(self, query: EventQuery, *, whole: bool = False) -> FirehoseEvent:
        """Wait (``firehose_timeout``) for an event matching ``query`` on the relay's firehose."""
        if not whole and self.window is not None:
            self.start_crawled_recorders()
        return expect_event(
            self.relay.firehose,
            query,
            timeout=self.settings.firehose_timeout,
            in_window=self.relay_window(whole=whole),
            names=self.name_of,
            where="the relay firehose",
            whole_scenario_step=f"the relay firehose has shown {query.describe(self.name_of)}",
        )

    def expect_none_on_relay(self, query: EventQuery) -> None:
        """Fail if the relay's firehose holds an event matching ``query``, once it is proved complete."""
        self.sync_relay(query)
        expect_no_event(
            self.relay.firehose.events,
            query,
            in_window=self.relay_window(),
            names=self.name_of,
            where="the relay firehose",
        )

    # -- the relay barrier ------------------------------------------------------------

    def crawled_pdses(self) -> dict[str, Pds]:
        """The world's PDSes the relay crawls."""
        hosts = set(self.relay.service.hosts)
        return {name: pds for name, pds in self.pdses.items() if hostname_of(pds.url) in hosts}

    def start_crawled_recorders(self) -> None:
        """Start recording every crawled PDS (relay, Jetstream and Tap events are placed by their PDS origin)."""
        for pds in self.crawled_pdses().values():
            pds.firehose  # noqa: B018 - starts recording, so relay events can be placed

    def sync_relay(self, query: EventQuery | None = None) -> None:
        """Wait until the relay has handled the latest PDS event of every account ``query`` is about.

        Handled means: the relay carried that event or a later one of the
        same account (it keeps each account's order), or its cursor on that
        PDS (``getHostStatus``, saved every few seconds) is past it - the
        relay dropped it on purpose. Fails at ``relay_timeout``.
        """
        crawled = self.crawled_pdses()
        pending: list[tuple[str, FirehoseEvent]] = []
        for name, pds in crawled.items():
            self._sync_pds(pds)
            # Only events the relay can have seen, and (for a check) only the window's.
            start = max(self.relay_start.get(name, 0), self.window.heads.get(name, 0) if self.window else 0)
            latest: dict[str, FirehoseEvent] = {}
            for event in pds.firehose.events:
                if (event.seq or 0) <= start or not event.did:
                    continue
                if query is None or query.did is None or event.did == query.did:
                    latest[event.did] = event
            pending.extend((name, event) for event in latest.values())
        if not pending:
            return
        recorder = self.relay.firehose
        deadline = Deadline(self.settings.relay_timeout)

        def handled() -> bool:
            carried = self._carried(recorder)
            remaining = [(n, e) for n, e in pending if carried.get((n, e.did or ""), 0) < (e.seq or 0)]
            pending[:] = remaining
            if not pending:
                return True
            cursors = {n: self.relay.host_seq(hostname_of(crawled[n].url)) for n in {n for n, _ in pending}}
            pending[:] = [(n, e) for n, e in pending if cursors[n] < (e.seq or 0)]
            return not pending

        def behind() -> AssertionError:
            name, event = pending[0]
            return AssertionError(
                f"the relay firehose could not be proved complete: within {deadline.seconds:g}s the relay neither "
                f"carried PDS {name}'s event #{event.seq} ({event.type} of {self.name_of(event.did or '')}) nor "
                "moved its cursor past it"
            )

        poll(lambda: recorder.raise_failure() or handled(), timeout=deadline.remaining, on_timeout=behind)

    def _carried(self, recorder: FirehoseRecorder) -> dict[tuple[str, str], int]:
        """For each (PDS, account): the highest PDS sequence number the relay's events carried on."""
        carried: dict[tuple[str, str], int] = {}
        for event in recorder.events:
            origin = self.origins.find(event)
            if origin is not None and event.did:
                key = (origin[0], event.did)
                carried[key] = max(carried.get(key, 0), origin[1])
        return carried

    def relay_head(self) -> int:
        """The relay's latest sequence number, once it has handled everything the PDSes sequenced."""
        window, self.window = self.window, None  # a replay covers the whole stream
        try:
            self.sync_relay()
        finally:
            self.window = window
        return self.relay.firehose.last_seq

    def note_relay_start(self) -> None:
        """Keep the head of each PDS the relay has just begun to crawl."""
        for name, pds in self.crawled_pdses().items():
            if name not in self.relay_start:
                self.relay_start[name] = self._sync_pds(pds)

    def pds_head(self, pds: str) -> int:
        """PDS ``pds``'s latest sequence number, with its recorder holding everything up to it."""
        return self._sync_pds(self.pds(pds))

    def sequenced_head(self, pds: str) -> int:
        """PDS ``pds``'s latest sequence number, read from the PDS itself when the runtime can.

        One round trip to the local runtime's host, and no firehose
        subscription; a runtime that cannot read it gets it through the
        recorder (:meth:`pds_head`).
        """
        head = self.runtime.pds_head(self.pds(pds).service)
        return head if head is not None else self.pds_head(pds)
