"""Tap in a world's network: tracking accounts, its delivered events, and checks by the relay's sequence.

Tap hands each event to one consumer of ``/channel``. The world's recorder
connects on the first check that reads deliveries (and acknowledges every
event), so an app under test given ``${tap.url}`` and these checks would take
events from each other: use one or the other on a network. In webhook mode
(:meth:`World.add_tap_webhook <atproto_bdd.world.World.add_tap_webhook>`)
Tap POSTs every event to the app instead, and has no ``/channel``.

Events are placed in the scenario's window by the PDS commit they carry on
(the revision), as relay events are. "Delivers no" first proves Tap has
handled everything up to the action: the relay has handled the account's
latest event (the relay barrier); Tap's firehose cursor (``/stats/cursors``;
one firehose worker, so it moves in the relay's order) has reached the relay's
latest event of that account (unless that came before Tap subscribed to the
relay, which the step starting Tap waits for); and, for an account Tap tracks, Tap has delivered the latest commit it
keeps of that account (it delivers each account's events in order). Only then
does the check judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from ..errors import UsageError, XrpcError
from ..protocol.firehose import FirehoseEvent
from ..protocol.http import basic_auth, new_client
from ..protocol.tap import TapRecorder
from ..protocol.websocket import USER_AGENT
from ..protocol.xrpc import request_json
from ..services.network import ws_url
from ..services.tap import TapService
from ..waiting import poll
from .events import EventQuery, describe_events, expect_event, expect_no_event, repeated
from .needs import Configured, Describing, OnTheRuntime, RelayWindows
from .service_base import WorldService


class TapWorld(Configured, Describing, RelayWindows, OnTheRuntime, Protocol):
    """What :class:`Tap` uses of the world: settings, names, the relay and its windows, the network."""


#: Repository states of a finished backfill, and of one that failed (Tap's models.RepoState).
SETTLED = ("active", "takendown", "suspended", "deactivated", "desynchronized", "error")


def event_key(event: FirehoseEvent) -> tuple[object, ...]:
    """What makes a Tap record event the one it is, apart from its id; an identity event is only itself.

    Identity events carry no revision or sequence number: two alike may both
    be right (Tap sends one when it starts tracking and one on each change).
    """
    if event.type == "commit":
        op = event.ops[0] if event.ops else None
        return (event.did, event.body.get("rev"), op and op.path, op and op.action, event.body.get("live"))
    return ("identity", id(event))


def keeps(filters: tuple[str, ...], collection: str) -> bool:
    """Whether Tap's collection filters keep ``collection`` (a trailing ``*`` matches a prefix)."""
    if not filters:
        return True
    return any(collection.startswith(f[:-1]) if f.endswith("*") else collection == f for f in filters)


class Tap(WorldService):
    """The network's Tap: ``url``, ``admin_password``, tracking, the delivered events, expectations."""

    #: The placeholders it offers: ``${tap.url}``, ``${tap.admin_password}`` (basic auth, user ``admin``).
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Tap], str]]] = {
        "url": lambda tap: tap.url,
        "admin_password": lambda tap: tap.admin_password,
    }

    NAME = "tap"

    def __init__(self, world: TapWorld, service: TapService) -> None:
        super().__init__(world, service)
        self.service: TapService = service
        self.timeout = world.settings.request_timeout
        self._http = new_client(base_url=service.url, timeout=self.timeout)
        self._recorder: TapRecorder | None = None
        #: The relay's head when Tap subscribed (see :meth:`wait_subscribed`).
        self.start_head = 0
        #: Tap's firehose cursor before its latest restart: it reports 0 after one until it handles an event.
        self.cursor_before_restart = 0

    @classmethod
    def start(cls, world: Any, spec: Any = None) -> Tap:
        """Start Tap on the network's relay and return once the relay lists it as a subscriber."""
        before = {consumer.get("id") for consumer in world.relay.consumers()}
        tap = cls(world, world.network.add(cls.NAME, spec))
        try:
            tap.wait_subscribed(before)
        except BaseException:
            tap.close()  # its client; the network stops the program
            raise
        return tap

    def wait_subscribed(self, before: set[Any], *, keep_head: bool = False) -> None:
        """Wait until the relay lists Tap among its firehose consumers (not one of ``before``).

        Tap follows the relay live, from when it connects: an event the relay
        sends before that never reaches Tap's firehose reader, so the step that
        starts Tap returns only once it is subscribed. ``start_head`` keeps the
        relay's head then: Tap's cursor never covers what came before
        (``keep_head``: a restart, which resumes from Tap's saved cursor, keeps it).
        """
        relay = self._world.relay
        timeout = self._world.settings.service_timeout

        def subscribed() -> bool:
            return any(
                c.get("id") not in before and not str(c.get("user_agent", "")).startswith(("Python/", USER_AGENT))
                for c in relay.consumers()
            )

        poll(
            subscribed,
            timeout=timeout,
            max_interval=0.05,
            on_timeout=lambda: AssertionError(
                f"Tap did not subscribe to the relay within {timeout:g}s; the relay lists {relay.consumers()}"
            ),
        )
        if not keep_head:
            self.start_head = self._world.relay_head()

    @property
    def url(self) -> str:
        """Tap's URL, ``http://127.0.0.1:<port>`` (``/channel`` is its websocket)."""
        return self.service.url

    @property
    def admin_password(self) -> str:
        """The password of Tap's HTTP basic auth (user ``admin``), random per Tap."""
        return self.service.spec.admin_password

    @property
    def webhook_url(self) -> str:
        """Where Tap POSTs its events in webhook mode (empty: it serves them on ``/channel``)."""
        return self.service.spec.webhook_url

    @property
    def recorder(self) -> TapRecorder:
        """The recorded ``/channel`` (connected on first use; every event is acknowledged)."""
        if self.webhook_url:
            raise UsageError(
                f"Tap sends its events to {self.webhook_url} (webhook mode), and Tap has no /channel then: the "
                "'Tap delivers ...' steps read /channel, so they cannot check it; check what the app did with the "
                "events instead (its log, its answers)"
            )
        if self._recorder is None or self._recorder.closed:
            self._recorder = TapRecorder(
                f"{ws_url(self.url)}/channel",
                name="Tap",
                open_timeout=self.timeout,
                headers=basic_auth("admin", self.admin_password),
            ).start()
        return self._recorder

    @property
    def recorder_started(self) -> bool:
        """True once something read the channel (diagnostics never connect it)."""
        return self._recorder is not None

    @property
    def events(self) -> list[FirehoseEvent]:
        """Every event delivered to the recorder so far."""
        return self.recorder.events

    # -- the admin API -----------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return request_json(self._http, method, path, headers=basic_auth("admin", self.admin_password), **kwargs)

    def track(self, *dids: str) -> None:
        """``POST /repos/add``, then wait until Tap has backfilled each repository (or failed to).

        The recorder connects first: the steps that track accounts read the
        deliveries, and events are placed by when they arrive when they carry
        no PDS revision (identity events).
        """
        if not self.webhook_url:
            self.recorder  # noqa: B018 - connects
        self._request("POST", "/repos/add", json={"dids": list(dids)})
        for did in dids:
            info = self.wait_settled(did)
            if info.get("state") != "active":
                name = self._world.name_of(did)
                raise AssertionError(
                    f"Tap could not backfill {name}: state {info.get('state')!r}, error {info.get('error')!r}"
                )

    def info(self, did: str) -> dict[str, Any] | None:
        """``GET /info/<did>``: the repository's state, rev and record count; None if Tap does not track it."""
        try:
            return self._request("GET", f"/info/{did}")
        except XrpcError as error:
            if error.status_code == 404:
                return None
            raise

    def wait_settled(self, did: str) -> dict[str, Any]:
        """Wait (``relay_timeout``) until Tap's backfill of ``did`` finished or failed; its ``/info``."""
        seen: dict[str, Any] = {}

        def settled() -> bool:
            seen.update(self.info(did) or {})
            return seen.get("state") in SETTLED

        timeout = self._world.settings.relay_timeout
        poll(
            settled,
            timeout=timeout,
            max_interval=0.05,
            on_timeout=lambda: AssertionError(
                f"Tap did not finish backfilling {self._world.name_of(did)} within {timeout:g}s (last info: {seen})"
            ),
        )
        return seen

    def firehose_cursor(self) -> int:
        """The relay sequence number Tap's firehose reader has handled (``/stats/cursors``)."""
        cursor = (self._request("GET", "/stats/cursors") or {}).get("firehose")
        if not isinstance(cursor, int):
            raise AssertionError(f"Tap's /stats/cursors has no firehose cursor: {cursor!r}")
        return cursor

    # -- expectations -------------------------------------------------------------------

    def expect(self, query: EventQuery, *, whole: bool = False) -> FirehoseEvent:
        """Wait (``firehose_timeout``) for a delivered event matching ``query``."""
        world = self._world
        world.start_crawled_recorders()
        return expect_event(
            self.recorder,
            query,
            timeout=world.settings.firehose_timeout,
            in_window=world.relay_window(whole=whole),
            names=world.name_of,
            where="Tap",
            whole_scenario_step=f"Tap has delivered {query.describe(world.name_of)}",
        )

    def expect_none(self, *queries: EventQuery) -> None:
        """Fail if Tap delivered an event matching one of ``queries`` (about one account), once proved complete."""
        world = self._world
        did = queries[0].did
        if did is None or any(query.did != did for query in queries):
            raise UsageError("a 'delivers no' check on Tap names one account")
        recorder = self.recorder
        world.sync_relay(queries[0])
        # The relay's latest event of the account: Tap has handled it once its cursor is there (one firehose
        # worker: in the relay's order). Events from before Tap subscribed never reach its firehose reader.
        head = max((e.seq or 0 for e in world.relay.firehose.events if e.did == did), default=0)
        self._wait_cursor(
            head,
            lambda cursor, timeout: (
                f"Tap could not be proved complete: its firehose cursor is {cursor}, "
                f"the relay's latest event of {world.name_of(did)} #{head}, after {timeout:g}s"
            ),
        )
        if self.info(did) is not None:
            self._wait_delivered(did, recorder)
        for query in queries:
            expect_no_event(recorder.events, query, in_window=world.relay_window(), names=world.name_of, where="Tap")

    def _wait_cursor(self, head: int, failure: Callable[[int, float], str]) -> None:
        """Wait (``relay_timeout``) until Tap's firehose cursor reaches the relay's event #``head``.

        Nothing to wait for when ``head`` came before Tap subscribed (its
        cursor never covers that); ``failure(cursor, timeout)`` says what was seen.
        """
        if head <= self.start_head:
            return
        timeout = self._world.settings.relay_timeout
        seen = {"cursor": -1}

        def caught_up() -> bool:
            # It reports 0 after a restart until it handles an event: what it had reached before still holds.
            seen["cursor"] = max(self.firehose_cursor(), self.cursor_before_restart)
            return seen["cursor"] >= head

        poll(
            caught_up,
            timeout=timeout,
            max_interval=0.05,
            on_timeout=lambda: AssertionError(failure(seen["cursor"], timeout)),
        )

    def _wait_delivered(self, did: str, recorder: TapRecorder) -> None:
        """Wait until Tap delivered the latest relay commit of ``did`` it keeps (if any): the rest came before."""
        filters = self.service.spec.collection_filters
        kept = [
            event
            for event in self._world.relay.firehose.events
            if event.did == did and event.type == "commit" and any(keeps(filters, op.collection) for op in event.ops)
        ]
        if not kept:
            return
        rev = kept[-1].body.get("rev")
        timeout = self._world.settings.relay_timeout
        if recorder.wait_for(lambda e: e.did == did and e.body.get("rev") == rev, timeout) is None:
            names = self._world.name_of
            raise AssertionError(
                f"Tap could not be proved complete: within {timeout:g}s it did not deliver {names(did)}'s commit "
                f"{rev} (relay #{kept[-1].seq}); it delivered:\n{describe_events(recorder.events, names)}"
            )

    # -- restarts -----------------------------------------------------------------------

    def wait_caught_up(self) -> None:
        """Wait (``relay_timeout``) until Tap has handled the relay's latest event and delivered what it keeps.

        Its firehose cursor reaches the relay's head (unless nothing came
        after Tap subscribed), and the recorder (if connected) holds the
        latest kept commit of every account it delivered events of.
        """
        head = self._world.relay_head()
        self._wait_cursor(
            head,
            lambda cursor, timeout: (
                f"Tap did not catch up with the relay within {timeout:g}s: its firehose cursor "
                f"is {cursor}, the relay's head #{head}"
            ),
        )
        if self._recorder is not None and not self._recorder.closed:
            for did in dict.fromkeys(e.did for e in self._recorder.events if e.did):
                self._wait_delivered(did, self._recorder)

    @contextmanager
    def restarting(self) -> Iterator[None]:
        """Around a stop and start of Tap (the block): the channel's recorder pauses, then connects again.

        Tap first catches up with the relay (so the restart is no race with
        events in flight); its cursor is kept (it reports 0 after a restart
        until it handles an event). The recorder is closed before Tap goes
        away and, once the block has returned and Tap is subscribed to the
        relay again, connects again: Tap delivers what it had not deleted -
        redeliveries are acknowledged and not recorded twice
        (:class:`~atproto_bdd.protocol.tap.TapRecorder`).
        """
        self.wait_caught_up()
        self.cursor_before_restart = max(self.firehose_cursor(), self.cursor_before_restart)
        recorder = self._recorder if self._recorder is not None and not self._recorder.closed else None
        before = {consumer.get("id") for consumer in self._world.relay.consumers()}
        if recorder is not None:
            recorder.close()
        yield
        self.service = self._world.network.services[self.NAME]
        self.wait_subscribed(before, keep_head=True)
        if recorder is not None:
            recorder.resubscribe()

    def restart(self) -> Tap:
        """Restart Tap on its database and port (local runtime): tracked repositories, outbox and relay cursor kept.

        Its channel's consumer sees a disconnect; events it had not
        acknowledged (and, for a while, ones it had) come again when it
        connects again.
        """
        with self.restarting():
            self._world.network.restart(self.NAME)
        return self

    def expect_each_once(self) -> None:
        """Fail if Tap delivered one record operation twice, once it caught up with the relay.

        Record events are the same when they carry the same account,
        revision, path and action (and liveness); Tap's ids are no key (a
        restart numbers from 1 again). Identity events are not compared.
        """
        self.wait_caught_up()
        twice = repeated(self.recorder.events, event_key)
        if twice:
            names = self._world.name_of
            raise AssertionError(f"Tap delivered {len(twice)} event(s) twice:\n{describe_events(twice, names)}")

    def wait_backfilled(self, did: str, collection: str) -> list[FirehoseEvent]:
        """The backfill's (``live: false``) record events of ``did`` in ``collection``, all of them delivered.

        Waits until the backfill finished (``/info`` state) and the delivered
        events account for every record of ``did`` Tap stored (``/info``
        records; live events count too), at most ``firehose_timeout``; else the
        error lists what came.
        """
        info = self.wait_settled(did)
        stored = info.get("records")
        recorder = self.recorder

        def backfill() -> list[FirehoseEvent]:
            return [e for e in recorder.events if e.did == did and e.type == "commit" and not e.body.get("live")]

        def held() -> int:
            """How many records of ``did`` the delivered events leave in place (live ones too)."""
            paths: dict[str, str] = {}
            for event in recorder.events:
                if event.did == did and event.type == "commit":
                    paths[event.ops[0].path] = event.ops[0].action
            return sum(action != "delete" for action in paths.values())

        timeout = self._world.settings.firehose_timeout
        if not isinstance(stored, int):
            raise AssertionError(f"Tap's /info for {self._world.name_of(did)} has no record count: {info}")
        poll(
            lambda: recorder.raise_failure() or held() >= stored,
            timeout=timeout,
            max_interval=0.05,
            on_timeout=lambda: AssertionError(
                f"Tap stored {stored} records of {self._world.name_of(did)} but delivered "
                f"{len(backfill())} from its backfill within {timeout:g}s:\n"
                f"{describe_events(recorder.events, self._world.name_of)}"
            ),
        )
        return [e for e in backfill() if e.ops[0].collection == collection]

    def close(self) -> None:
        """Close the recorded channel and the HTTP client."""
        if self._recorder is not None:
            self._recorder.close()
        self._http.close()

    def recorded(self) -> tuple[str, list[FirehoseEvent]] | None:
        """What diagnostics show of it: the events delivered to the recorder (None if it never connected)."""
        return ("Tap", self.recorder.events) if self.recorder_started else None
