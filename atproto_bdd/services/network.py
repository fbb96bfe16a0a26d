"""A network: one PLC directory and any number of named PDSes on one runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

from ..errors import UsageError
from .ozone import OzoneIdentity, OzoneSpec
from .ozone import plan as plan_ozone
from .registry import SERVICES, kind
from .runtime import Runtime
from .snapshots import NetworkSnapshot
from .specs import (
    AppViewService,
    AppViewSpec,
    PdsService,
    PdsSpec,
    PlcService,
    RelayService,
    RelaySpec,
    hostname_of,
)


def ws_url(url: str) -> str:
    """``url`` with its http(s) scheme turned into ws(s)."""
    return "ws" + url[len("http") :] if url.startswith("http") else url


def _mode(spec: Any) -> str:
    """How a service with ``spec`` runs, in words (its spec's ``mode()``; the same for every spec without one)."""
    mode = getattr(spec, "mode", None)
    return mode() if callable(mode) else "as it does"


class Network:
    """An isolated AT Protocol network: its own PLC directory and PDSes.

    The PLC directory starts with the network; PDSes are added by name. Closing
    the network stops everything in it; the runtime keeps running.
    """

    def __init__(self, runtime: Runtime, plc: PlcService | None = None) -> None:
        self.runtime = runtime
        self.plc: PlcService = plc or runtime.start_plc()
        self.pdses: dict[str, PdsService] = {}
        #: The services beside the PLC and the PDSes, by registry name (``relay``, ``appview``...).
        self.services: dict[str, Any] = {}
        self.closed = False
        #: Whether the PLC directory was taken down (:meth:`plc_down`) since it was last brought up.
        self.plc_outage = False
        #: Ozone's did:plc and URL, made before the PDSes and the AppView that are configured with it.
        self.ozone_identity: OzoneIdentity | None = None

    def __getattr__(self, name: str) -> Any:
        """``network.relay``, ``.appview``, ``.jetstream``, ``.tap``: the service of that name, or None.

        Every name of the registry (services/registry.py) reads this way.
        """
        if name in SERVICES:
            return self.__dict__.get("services", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def add_pds(self, spec: PdsSpec) -> PdsService:
        """Start a PDS named ``spec.name`` in this network (pointed at the AppView, which then indexes it)."""
        if spec.name in self.pdses:
            raise UsageError(f"this network already has a PDS named {spec.name!r}")
        if self.appview is not None:
            spec = replace(spec, extra_env={**self.appview.pds_environment(), **spec.extra_env})
        if self.ozone_identity is not None:
            spec = replace(spec, extra_env={**self.ozone_identity.pds_environment(), **spec.extra_env})
        service = self.runtime.start_pds(spec, self.plc)
        self.pdses[spec.name] = service
        if self.appview is not None:
            self.runtime.appview_subscribe(self.appview, ws_url(service.url))
        return service

    def restart_pds(self, name: str) -> PdsService:
        """Restart PDS ``name`` keeping its data, URL and secrets; returns once it serves again.

        Its connections were dropped: the network's AppView and relay subscribe again on their own
        (their subscriptions reconnect); the caller's own clients and recorders must do so (the world's do).
        """
        if name not in self.pdses:
            raise UsageError.unknown("PDS", name, self.pdses)
        service = self.runtime.restart_pds(self.pdses[name])
        self.pdses[name] = service
        return service

    def plc_down(self, seconds: float | None = None) -> None:
        """Take the PLC directory down (its operations kept): for ``seconds``, or until :meth:`plc_up`.

        Everyone who resolves or registers a DID sees it: the PDSes (a new
        account fails), the AppView, the apps and the framework's own checks.
        """
        self.runtime.plc_down(self.plc, seconds)
        self.plc_outage = True

    def plc_up(self) -> None:
        """Bring the PLC directory back now, on its URL; returns once it answers."""
        self.runtime.plc_up(self.plc)
        self.plc_outage = False

    @classmethod
    def restored(cls, runtime: Runtime, snapshot: NetworkSnapshot) -> Network:
        """A new network in the state of ``snapshot``: its PLC's operations, its PDSes on copies of their data."""
        network = cls(runtime, runtime.restore_plc(snapshot))
        try:
            for pds in snapshot.pdses:
                network.pdses[pds.service.name] = runtime.restore_pds(pds, network.plc)
        except BaseException:
            network.close(wait=True)
            raise
        return network

    def snapshot(self) -> NetworkSnapshot:
        """Copy the state of the PLC and the PDSes (a network with nothing else in it)."""
        for name in self.services:
            raise UsageError(
                f"a snapshot holds a PLC directory and PDSes only; this network also has {SERVICES[name].title}"
            )
        return self.runtime.snapshot(self.plc, list(self.pdses.values()))

    def add_appview(self, spec: AppViewSpec | None = None) -> AppViewService:
        """Start the network's AppView; it must come before the PDSes, which are configured with it."""
        if self.appview is not None:
            return self.appview
        if self.pdses:
            names = ", ".join(sorted(self.pdses))
            raise UsageError(
                f"the AppView must start before the network's PDSes, which are configured with it, and this network "
                f"already has PDS {names}: the hooks start it first for a scenario with `Given an AppView` anywhere "
                "(or tagged @appview); code that adds one itself must do so before the first PDS (a custom step "
                'that does: mark it @uses("appview"), from atproto_bdd.steps.support)'
            )
        spec = spec or AppViewSpec()
        if self.ozone_identity is not None:  # it accepts Ozone's takedowns and applies its labels
            spec = replace(spec, mod_service_did=self.ozone_identity.did, labelers=(self.ozone_identity.did,))
        self.services["appview"] = self.runtime.start_appview(spec, self.plc, [])
        return self.appview

    def plan_ozone(self, spec: OzoneSpec | None = None) -> OzoneIdentity:
        """Make Ozone's identity and start the AppView configured with it, before the PDSes; idempotent.

        Ozone itself starts later (:meth:`add`, ``"ozone"``), after the first
        PDS, which it pushes takedowns to.
        """
        if self.ozone_identity is not None:
            return self.ozone_identity
        kind("ozone").launcher(self.runtime.name)  # a runtime that cannot run it says why, before anything starts
        if self.pdses or self.appview is not None:
            started = ", ".join(
                [*(f"PDS {name}" for name in sorted(self.pdses)), *(["the AppView"] if self.appview else [])]
            )
            raise UsageError(
                f"Ozone must be planned before the network's PDSes and AppView, which are configured with it, and "
                f"this network already has {started}: the hooks do it first for a scenario with `Given Ozone "
                'moderated by ...` anywhere (or tagged @ozone); a custom step that starts it: mark it @uses("ozone")'
            )
        self.ozone_identity = plan_ozone(spec or OzoneSpec(), self.plc, timeout=self.runtime.settings.request_timeout)
        self.add_appview()
        return self.ozone_identity

    def add_relay(self, pds_names: list[str], spec: RelaySpec | None = None) -> RelayService:
        """Start the network's relay crawling the named PDSes, or make it crawl them too."""
        unknown = [name for name in pds_names if name not in self.pdses]
        if unknown:
            raise UsageError.unknown("PDS", unknown[0], self.pdses, "declare it before the relay")
        wanted = [self.pdses[name] for name in pds_names]
        if self.relay is None:
            self.services["relay"] = self.runtime.start_relay(spec or RelaySpec(), self.plc, wanted)
        else:
            crawled = [pds for pds in self.pdses.values() if hostname_of(pds.url) in self.relay.hosts]
            new = [p for p in wanted if p not in crawled]
            if new:  # the relay restarts to crawl more PDSes
                self._restarting_relay(lambda relay: self.runtime.relay_crawl(relay, crawled + new))
        return self.relay

    def restart_relay(self) -> RelayService:
        """Stop the relay and start it again on its data, cursors and port; the relay as it now runs.

        A service that cannot follow a relay restart (Jetstream exits when its
        relay connection ends) is stopped first and started again after it,
        from the relay cursor it stored (:meth:`restart`).
        """
        if self.relay is None:
            raise UsageError("this network has no relay to restart (declare one: Given a relay crawling PDS A)")
        crawled = [pds for pds in self.pdses.values() if hostname_of(pds.url) in self.relay.hosts]
        self._restarting_relay(lambda relay: self.runtime.relay_crawl(relay, crawled, restart=True))
        return self.relay

    def _restarting_relay(self, restart: Callable[[RelayService], RelayService]) -> None:
        """``restart`` the relay, with the services that pin it stopped before and restarted after.

        Each pinning service (Jetstream) stops first, so it stores the cursor
        of what it handled and does not exit on its own; it starts again on
        the restarted relay from that cursor. A runtime that cannot restart it
        refuses before the relay stops.
        """
        pinned = [name for name in self.services if SERVICES[name].pins_relay]
        for name in pinned:
            SERVICES[name].restarter(self.runtime.name)  # refuses now if this runtime cannot
            self.runtime.stop(self.services[name].id, wait=True)
        self.services["relay"] = restart(self.services["relay"])
        for name in pinned:
            self.services[name] = self.runtime.restart(name, self.services[name], self)

    def restart(self, name: str) -> Any:
        """Stop the service ``name`` (Jetstream, Tap) and start it again on its data and ports; it as it now runs.

        Its clients see a disconnect and find it at the same URL. ``relay``
        restarts the relay (:meth:`restart_relay`); PDSes restart with
        :meth:`restart_pds`.
        """
        entry = kind(name)
        if name == "relay":
            return self.restart_relay()
        running = self.services.get(name)
        if running is None:
            raise UsageError(f"this network has no {entry.title} to restart (declare one: {entry.declare})")
        self.services[name] = self.runtime.restart(name, running, self)
        return self.services[name]

    def add(self, name: str, spec: Any = None) -> Any:
        """Start the service ``name`` of the registry (its default spec if none is given); idempotent.

        The runtime's launcher starts it (:meth:`Runtime.launch`); one that
        reads the relay needs the network's relay first. A network has one of
        each: asking again with a spec that runs it otherwise is refused.
        """
        entry = kind(name)
        running = self.services.get(name)
        if running is not None:
            if spec is not None and _mode(spec) != _mode(running.spec):
                raise UsageError(
                    f"{entry.title} already runs {_mode(running.spec)}; a network has one {entry.title}, so it "
                    f"cannot also run {_mode(spec)}"
                )
            return running
        if entry.per_run:
            raise UsageError(f"{entry.title} belongs to the run, not to a network: world.add_service({name!r})")
        if not entry.launchers:
            raise UsageError(f"{entry.title} starts with its own method (network.add_{name})")
        if entry.on_relay:
            self._require_relay(entry.title)
        self.services[name] = self.runtime.launch(name, spec if spec is not None else entry.new_spec(), self)
        return self.services[name]

    def _require_relay(self, tool: str) -> RelayService:
        if self.relay is None:
            raise UsageError(f"{tool} reads the relay: declare one first (Given a relay crawling PDS A)")
        return self.relay

    def service_ids(self) -> list[str]:
        """Ids of every service in the network, PLC first, then the PDSes, then the others in registry order."""
        # Closing goes backwards: Jetstream and Tap (which read the relay), then the AppView and the relay
        # (which read the PDSes' streams) stop first.
        others = [self.services[name].id for name in SERVICES if name in self.services]
        return [self.plc.id, *(pds.id for pds in self.pdses.values()), *others]

    def close(self, *, wait: bool = False) -> None:
        """Stop every service of the network (in the background unless ``wait``)."""
        if self.closed:
            return
        self.closed = True
        for service_id in reversed(self.service_ids()):
            self.runtime.stop(service_id, wait=wait)

    def __enter__(self) -> Network:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
