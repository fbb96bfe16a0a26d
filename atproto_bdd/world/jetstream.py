"""Jetstream in a world's network: its URL, its recorded stream, and checks by the relay's sequence.

Jetstream reads the relay's firehose (from its first event) and serves JSON
events. The world records one unfiltered subscription from Jetstream's start;
a "filtered to" check opens a subscription with ``wantedCollections`` of its
own, replayed from Jetstream's first event.

Events are placed in the scenario's window the way relay events are: by the
PDS event they carry on (commit revision, or identity/account time). A
"shows no" check first proves Jetstream has passed on everything of the
account up to the action: the relay has handled the account's latest event
(the relay barrier), and Jetstream - which keeps each account's order - has
emitted the relay's latest event of that account (the *marker*). A filtered
subscription also asks for the marker's collection, reads until the marker
arrives, and only then judges; the marker's own collection is not judged
unless the filter names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Protocol

from ..errors import UsageError
from ..protocol.firehose import FirehoseEvent, FirehoseRecorder
from ..protocol.jetstream import JetstreamRecorder, subscribe_url
from ..services.jetstream import JetstreamService
from ..services.network import ws_url
from .events import EventQuery, describe_events, expect_event, expect_no_event, repeated
from .needs import Configured, Describing, OnTheRuntime, RelayWindows
from .service_base import WorldService


class JetstreamWorld(Configured, Describing, RelayWindows, OnTheRuntime, Protocol):
    """What :class:`Jetstream` uses of the world: settings, names, the relay and its windows, the network."""


def _same_event(jet: FirehoseEvent, relay: FirehoseEvent) -> bool:
    """Whether Jetstream's ``jet`` is (one op of) the relay's ``relay``."""
    if jet.did != relay.did or jet.type != relay.type:
        return False
    if relay.type == "commit":
        return jet.body.get("rev") == relay.body.get("rev")
    return jet.body.get("seq") == relay.seq


def event_key(event: FirehoseEvent) -> tuple[object, ...]:
    """What makes a Jetstream event the one it is, apart from its ``time_us``: its commit operation or relay seq."""
    if event.type == "commit":
        op = event.ops[0] if event.ops else None
        return (event.did, event.body.get("rev"), op and op.path, op and op.action)
    return (event.type, event.did, event.body.get("seq"))


def passes_jetstream(event: FirehoseEvent) -> bool:
    """Whether Jetstream passes a relay event on: commits with record operations, identity and account events."""
    return (event.type == "commit" and bool(event.ops)) or event.type in ("identity", "account")


class Jetstream(WorldService):
    """The network's Jetstream: ``url`` (ws base URL), the recorded stream, and expectations."""

    #: The placeholders it offers: ``${jetstream.url}`` (its ws:// base URL, ``/subscribe`` below it).
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Jetstream], str]]] = {"url": lambda jetstream: jetstream.url}

    NAME = "jetstream"

    def __init__(self, world: JetstreamWorld, service: JetstreamService) -> None:
        super().__init__(world, service)
        self.service: JetstreamService = service
        self.timeout = world.settings.request_timeout
        # From Jetstream's first event on (cursor 1 µs: the oldest it holds), so nothing is missed.
        self.recorder: FirehoseRecorder = JetstreamRecorder(
            subscribe_url(self.url, cursor=1), name="Jetstream", open_timeout=self.timeout
        ).start()

    @property
    def url(self) -> str:
        """Jetstream's base URL for subscribers, ``ws://127.0.0.1:<port>`` (``/subscribe`` is below it)."""
        return ws_url(self.service.url)

    @property
    def events(self) -> list[FirehoseEvent]:
        """Every event recorded so far (unfiltered), in Jetstream's order."""
        return self.recorder.events

    def subscribe(self, collections: list[str], cursor: int | None = 1) -> FirehoseRecorder:
        """A new recorded subscription with ``wantedCollections`` (from ``cursor``; None: live only)."""
        return JetstreamRecorder(
            subscribe_url(self.url, collections=collections, cursor=cursor),
            name=f"Jetstream filtered to {', '.join(collections)}",
            open_timeout=self.timeout,
        ).start()

    # -- expectations -------------------------------------------------------------------

    def expect(self, query: EventQuery, *, whole: bool = False, collections: list[str] | None = None) -> FirehoseEvent:
        """Wait (``firehose_timeout``) for an event matching ``query``; ``collections``: on a filtered subscription."""
        world = self._world
        in_window = world.relay_window(whole=whole)
        world.start_crawled_recorders()  # places events by their PDS origin
        where = "Jetstream" + (f" filtered to {', '.join(collections)}" if collections else "")
        recorder = self.subscribe(collections) if collections else self.recorder
        try:
            return expect_event(
                recorder,
                query,
                timeout=world.settings.firehose_timeout,
                in_window=in_window,
                names=world.name_of,
                where=where,
                whole_scenario_step=f"Jetstream has shown {query.describe(world.name_of)}",
            )
        finally:
            if recorder is not self.recorder:
                recorder.close()

    def expect_none(self, *queries: EventQuery, collections: list[str] | None = None) -> None:
        """Fail if Jetstream (filtered to ``collections``) shows an event matching one of ``queries``.

        Judged once proved complete (see the module). The queries name one
        account: the proof follows that account's events.
        """
        world = self._world
        did = queries[0].did
        if did is None or any(query.did != did for query in queries):
            raise UsageError("a 'shows no' check on Jetstream names one account")
        world.sync_relay(queries[0])
        marker = next((e for e in reversed(world.relay.firehose.events) if e.did == did and passes_jetstream(e)), None)
        where = "Jetstream" + (f" filtered to {', '.join(collections)}" if collections else "")
        if marker is None:  # the relay never carried an event of the account that Jetstream would pass on
            self._judge(self.events, queries, where)
            return
        timeout = world.settings.relay_timeout
        names = world.name_of
        if self.recorder.wait_for(lambda e: _same_event(e, marker), timeout) is None:
            raise AssertionError(
                f"{where} could not be proved complete: within {timeout:g}s Jetstream did not pass on the relay's "
                f"event #{marker.seq} ({marker.type} of {names(did)}); Jetstream showed:\n"
                f"{describe_events(self.events, names)}"
            )
        if not collections:
            self._judge(self.events, queries, where)
            return
        extra = [op.collection for op in marker.ops if op.collection not in collections][:1]
        recorder = self.subscribe([*collections, *extra])
        try:
            if recorder.wait_for(lambda e: _same_event(e, marker), timeout) is None:
                raise AssertionError(
                    f"{where} could not be proved complete: its replay did not reach the relay's event #{marker.seq} "
                    f"within {timeout:g}s; it showed:\n{describe_events(recorder.events, names)}"
                )
            # The marker's collection was asked for only to know where the replay stands: not judged.
            self._judge([e for e in recorder.events if not (e.ops and e.ops[0].collection in extra)], queries, where)
        finally:
            recorder.close()

    # -- restarts -----------------------------------------------------------------------

    def wait_caught_up(self) -> None:
        """Wait (``relay_timeout``) until Jetstream has passed on the relay's latest event it passes on.

        The relay barrier first (the relay has handled every PDS's latest
        event); then the recorder holds the relay's latest commit with record
        operations, identity or account event (Jetstream keeps the relay's
        order with its one worker).
        """
        world = self._world
        world.relay_head()
        marker = next((e for e in reversed(world.relay.firehose.events) if passes_jetstream(e)), None)
        if marker is None:
            return
        timeout = world.settings.relay_timeout
        if self.recorder.wait_for(lambda e: _same_event(e, marker), timeout) is None:
            raise AssertionError(
                f"Jetstream did not pass on the relay's latest event #{marker.seq} ({marker.type} of "
                f"{world.name_of(marker.did or '')}) within {timeout:g}s; it showed:\n"
                f"{describe_events(self.events, world.name_of)}"
            )

    @contextmanager
    def restarting(self) -> Iterator[None]:
        """Around a stop and start of Jetstream (the block): the recorder pauses, then resumes from its cursor.

        Jetstream first passes on everything the relay has (so nothing is in
        flight inside it when it stops); the recorder is closed before
        Jetstream goes away (no failure), and once the block has returned it
        takes the service as the network now runs it and subscribes again
        from the microsecond after its latest event: every event once, the
        same recorder (waits and windows on it go on). If the block raises,
        the recorder stays closed.
        """
        self.wait_caught_up()
        self.recorder.close()
        yield
        self.service = self._world.network.services[self.NAME]
        self.recorder.resubscribe()

    def restart(self) -> Jetstream:
        """Restart Jetstream on its data and ports (local runtime); it resumes the relay from its stored cursor.

        Its subscribers see a disconnect; one that subscribes again with its
        cursor (``time_us``) gets every event after it, the world's recorder
        included.
        """
        with self.restarting():
            self._world.network.restart(self.NAME)
        return self

    def expect_each_once(self) -> None:
        """Fail if Jetstream showed one relay event's operation twice (a replay), once it caught up with the relay.

        Events are the same when they carry the same commit operation
        (account, revision, path, operation) or the same identity or account
        event (the relay's sequence number); Jetstream's own ``time_us``
        differs on a replay, so it is no key.
        """
        self.wait_caught_up()
        twice = repeated(self.events, event_key)
        if twice:
            names = self._world.name_of
            raise AssertionError(
                f"Jetstream showed {len(twice)} event(s) twice (a replay):\n{describe_events(twice, names)}"
            )

    def _judge(self, events: list[FirehoseEvent], queries: tuple[EventQuery, ...], where: str) -> None:
        world = self._world
        in_window = world.relay_window()
        for query in queries:
            expect_no_event(events, query, in_window=in_window, names=world.name_of, where=where)

    def close(self) -> None:
        """Close the recorded subscription."""
        self.recorder.close()

    def recorded(self) -> tuple[str, list[FirehoseEvent]]:
        """What diagnostics show of it: the events its recorder holds."""
        return ("Jetstream", self.recorder.events)
