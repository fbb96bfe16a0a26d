"""The services a world's network adds beside its PDSes (services/registry.py lists them).

Each is reached the same way: ``world.has_service("tap")`` / ``world.service("tap")``
- and, for each, ``world.has_tap`` / ``world.tap`` - with an error naming the
step that starts it when the network has none. A service the runtime starts
through a launcher (Jetstream, Tap, and every service added later) starts
with ``world.add_service(name)``: its world class's ``start(world, spec)``
(``world/service_base.py``: :class:`WorldService` gives the usual one). The relay and the AppView start
with their own ``add_...`` methods, whose arguments differ.

The typed properties below are for the services of this release; a service
added later is read as ``world.<name>`` and ``world.has_<name>`` all the
same (``__getattr__``, from the registry).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any

from ..errors import UsageError
from ..services.registry import SERVICES, kind
from ..services.specs import hostname_of
from ..services.tap import TapSpec
from .appview import AppView
from .jetstream import Jetstream
from .ozone import Ozone
from .relay import Relay
from .tap import Tap


class ServicesMixin:
    """The relay, the AppView, Jetstream and Tap of the world's network."""

    _services: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        """``world.<service>`` and ``world.has_<service>`` for every service of the registry."""
        if name in SERVICES:
            return self.service(name)
        if name.startswith("has_") and name[4:] in SERVICES:
            return self.has_service(name[4:])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def add_service(self, name: str, spec: Any = None) -> Any:
        """Start the service ``name`` (``spec``, or its defaults) and return its world class; idempotent.

        Asking again with a spec that runs it otherwise is refused (a network
        has one of each).
        """
        entry = kind(name)
        if name in self._services:
            if spec is not None:
                self.network.add(name, spec)  # refuses a spec that runs it otherwise
            return self._services[name]
        world_class = entry.world_class()
        if not hasattr(world_class, "start"):
            raise UsageError(f"{entry.title} starts with world.add_{name}(...)")
        self._services[name] = world_class.start(self, spec)
        return self._services[name]

    def end_scenario_services(self) -> None:
        """Close what the scenario had of the run's services (the browser's people), also in a shared network.

        A network's service with an ``end_scenario()`` undoes there what the
        scenario did to it that would outlive it (the faults it made).
        """
        for name in list(self._services):
            try:
                if kind(name).per_run:
                    self._services.pop(name).close()
                elif hasattr(self._services[name], "end_scenario"):
                    self._services[name].end_scenario()
            except Exception:  # the next one must still close
                pass

    def has_service(self, name: str) -> bool:
        """Whether the network runs the service ``name`` (a registry name: ``relay``, ``appview``...)."""
        kind(name)
        return name in self._services

    def service(self, name: str) -> Any:
        """The world's wrapper of the service ``name``; a UsageError saying which step starts it if there is none."""
        entry = kind(name)
        if name not in self._services:
            owner = "scenario" if entry.per_run else "network"  # the browser is the run's, its pages the scenario's
            raise UsageError(
                f"this {owner} has no {entry.title.removeprefix('the ')} yet (declare one: {entry.declare})"
            )
        return self._services[name]

    # -- each service, by name -------------------------------------------------------

    @property
    def has_relay(self) -> bool:
        """True once the network has a relay."""
        return self.has_service("relay")

    @property
    def relay(self) -> Relay:
        """The network's relay."""
        return self.service("relay")

    @property
    def has_appview(self) -> bool:
        """True once the network has an AppView."""
        return self.has_service("appview")

    @property
    def appview(self) -> AppView:
        """The network's AppView."""
        return self.service("appview")

    @property
    def has_jetstream(self) -> bool:
        """True once the network has Jetstream."""
        return self.has_service("jetstream")

    @property
    def jetstream(self) -> Jetstream:
        """The network's Jetstream."""
        return self.service("jetstream")

    @property
    def has_tap(self) -> bool:
        """True once the network has Tap."""
        return self.has_service("tap")

    @property
    def tap(self) -> Tap:
        """The network's Tap."""
        return self.service("tap")

    # -- starting them -----------------------------------------------------------------

    def add_relay(self, *pds_names: str) -> Relay:
        """Start the network's relay crawling the named PDSes, or make the running relay crawl them too.

        Declare the relay before the accounts whose creation it should see: it
        subscribes to each PDS's live stream.
        """
        if not self.has_relay:
            service = self.network.add_relay(list(pds_names))
            self._services["relay"] = Relay(service, timeout=self.settings.request_timeout, recorder=self._record)
        else:
            pdses, crawled = self.network.pdses, self.network.relay.hosts
            new = [n for n in pds_names if n in pdses and hostname_of(pdses[n].url) not in crawled]
            with self._relay_pinned() if new else nullcontext():  # the relay restarts to crawl a new PDS
                self.relay.service = self.network.add_relay(list(pds_names))
        self.note_relay_start()
        return self.relay

    def restart_relay(self) -> Relay:
        """Restart the network's relay (its data, cursors and port kept); its subscribers see a disconnect.

        The relay subscribes to its PDSes again before this returns; the
        world's recorder of its firehose, closed by the restart, is opened
        again when next read (the relay replays what it has kept). Jetstream,
        which exits when its relay connection ends, is stopped before and
        started again after, from its relay cursor; its recorder resumes.
        """
        with self._relay_pinned():
            self.relay.service = self.network.restart_relay()
        return self.relay

    def restart_service(self, name: str) -> Any:
        """Restart the service ``name`` (``jetstream``, ``tap``, ``relay``) on its data and ports; its world class.

        Its consumers see a disconnect; the world's own recorders of it
        resume (``restart()`` of its world class). A service the network does
        not run is a UsageError saying how to declare it.
        """
        if name == "relay":
            return self.restart_relay()
        service = self.service(name)
        if not hasattr(service, "restart"):
            raise UsageError(f"{kind(name).title} cannot be restarted from a scenario")
        return service.restart()

    @contextmanager
    def _relay_pinned(self) -> Iterator[None]:
        """Around a relay restart: the world's side of each service that pins the relay (Jetstream) pauses and resumes.

        The network stops such a service before the relay and starts it again
        after (:meth:`Network.restart_relay`); its world class's
        ``restarting()`` waits until it caught up, closes its recorder, and
        resumes it from its cursor after the block.
        """
        with ExitStack() as stack:
            for name, service in list(self._services.items()):
                if kind(name).pins_relay and hasattr(service, "restarting"):
                    stack.enter_context(service.restarting())
            yield

    def add_appview(self) -> AppView:
        """Start the network's AppView (before its PDSes, which are configured with it); idempotent."""
        if not self.has_appview:
            self._services["appview"] = AppView(self, self.network.add_appview())
        return self.appview

    def plan_ozone(self) -> AppView:
        """Make Ozone's identity and start the AppView configured with it, before the PDSes; idempotent.

        Ozone itself starts with :meth:`add_ozone` (``Given Ozone moderated by ...``).
        """
        self.network.plan_ozone()
        return self.add_appview()

    @property
    def has_ozone(self) -> bool:
        """True once the network's Ozone runs."""
        return self.has_service("ozone")

    @property
    def ozone(self) -> Ozone:
        """The network's Ozone."""
        return self.service("ozone")

    def add_ozone(self) -> Ozone:
        """Start the network's Ozone (after its first PDS, which it pushes takedowns to); idempotent."""
        return self.add_service("ozone")

    def add_jetstream(self) -> Jetstream:
        """Start Jetstream on the network's relay; idempotent."""
        return self.add_service("jetstream")

    def add_tap(self, collection_filters: tuple[str, ...] = (), *, spec: TapSpec | None = None) -> Tap:
        """Start Tap on the network's relay (keeping only ``collection_filters`` if given); idempotent.

        ``spec`` says more (webhook mode: :meth:`add_tap_webhook`); a running
        Tap configured otherwise is refused.
        """
        if spec is None and (collection_filters or not self.has_tap):
            spec = TapSpec(collection_filters=collection_filters)
        return self.add_service("tap", spec)

    def add_tap_webhook(self, collection: str, app: str, path: str) -> Tap:
        """Start Tap sending ``collection``'s records to the app ``app`` at ``path``, as apps built on Tap run it.

        Tap tracks every account that writes ``collection`` (signal
        collection), keeps only that collection, and POSTs each event to the
        app's URL + ``path`` with basic auth ``admin:${tap.admin_password}``.
        The app's port is chosen now if it has not started yet, so the app
        can start after Tap with ``${tap.url}`` in its env.
        """
        if not path.startswith("/"):
            raise UsageError(f"the webhook path {path!r} must start with / (the app's route, like /api/webhook)")
        url = self.app(app).reserve_url() + path
        spec = TapSpec(collection_filters=(collection,), signal_collection=collection, webhook_url=url)
        return self.add_tap(spec=spec)
