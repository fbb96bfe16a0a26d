"""The embedded local runtime: services run in one Node host process, no Docker."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ServiceError
from ..masking import masker
from ..protocol.warm_up import warm_up as warm_up_clients
from ..settings import Settings
from ..waiting import poll
from .appview_local import LocalAppViews
from .go_install import JETSTREAM, TAP, GoTool, ensure_relay, ensure_tool
from .handle_dns import HandleDnsOnDemand
from .host_prestart import claim as claim_prestarted
from .jetstream import launch_jetstream
from .mail import Mailbox, MailCapture
from .node_host import NodeHost
from .node_install import ensure_node_services
from .ports import free_port, on_free_port
from .processes import ManagedProcess
from .relay_config import relay_environment
from .relay_db import add_hosts, copy_database
from .relay_local import RELAY_STOP_GRACE, ensure_relay_template, launch_relay
from .run_root import run_root
from .runtime import Runtime
from .snapshots import NetworkSnapshot, PdsSnapshot
from .specs import (
    AppViewService,
    AppViewSpec,
    JetstreamService,
    JetstreamSpec,
    PdsService,
    PdsSpec,
    PlcService,
    RelayService,
    RelaySpec,
    TapService,
    TapSpec,
    hostname_of,
)
from .tap import launch_tap
from .toolchain import tail

T = TypeVar("T")


class LocalRuntime(Runtime):
    """Runs PLC directories and PDSes inside a long-lived Node host on 127.0.0.1.

    Installs the pinned Node services into the cache on first use, and builds
    the relay the first time a relay starts. Everything it starts stops on
    :meth:`close`, at interpreter exit, and when this process dies: the host
    watches its stdin, and the relays (our children) have a parent-death
    signal. Relays also stop when the host dies on its own.
    """

    name = "local"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self.run_dir: Path | None = None
        self.versions: dict[str, str] = {}
        self._host: NodeHost | None = None
        self._log_paths: dict[str, Path] = {}
        self._pending_stops: list[Future[dict[str, Any]]] = []
        self._mail: MailCapture | None = None
        self._lock = threading.Lock()
        # Programs of their own (relays) are our children, not the host's: a
        # parent-death signal ties them to this process; see processes.py.
        self._processes: dict[str, ManagedProcess] = {}
        self._stopping: list[ManagedProcess] = []
        self._program_ids = itertools.count(1)
        self._host_dead = False
        self._appviews: LocalAppViews | None = None
        self._appview_wanted = False
        #: The running PDSes' URLs by service id: where the handle DNS asks who hosts a handle.
        self._pds_urls: dict[str, str] = {}
        self._handle_dns: HandleDnsOnDemand | None = None
        #: Whether the host was launched while behave loaded (``prestart``), not by :meth:`start`.
        self.prestarted = False

    def expect_appview(self) -> None:
        """Say an AppView will be needed: the next :meth:`start` prepares it in parallel with the network host."""
        self._appview_wanted = True
        if self._host is not None and self.run_dir is not None:
            self.appviews.prepare_in_background()

    def start(self) -> None:
        """Install the services if needed and launch the Node host."""
        if self._host is not None:
            return
        install = ensure_node_services(
            self.settings.cache_dir, line=self.settings.pds_version, node=self.settings.node, npm=self.settings.npm
        )
        prestarted = claim_prestarted(self.settings, install)  # launched while behave loaded (host_prestart.py)
        self.prestarted = prestarted is not None
        if prestarted is not None:
            self.run_dir, host = prestarted.run_dir, prestarted.host
            host.on_exit = self._host_exited
        else:
            self.run_dir = Path(tempfile.mkdtemp(prefix="atproto-bdd-run-", dir=run_root(self.settings.run_root)))
            host = NodeHost(
                install,
                self.run_dir,
                log_level=self.settings.log_level,
                remove_run_dir=not self.settings.keep_run_dir,
                on_exit=self._host_exited,
            )
        self._host_dead = False
        self._host = host
        atexit.register(self.close)
        if self._appview_wanted:  # its host, PostgreSQL and migrations start beside the network host
            self.appviews.prepare_in_background()
        try:
            if prestarted is None:
                host.spawn()  # first: the host's start is the long one
            warm_up_clients()  # meanwhile, what the first requests would pay (protocol/warm_up.py)
            self.versions = host.start(timeout=self.settings.service_timeout)
        except BaseException:
            self.close()
            raise

    @property
    def host(self) -> NodeHost:
        """The running Node host (starts the runtime if needed)."""
        if self._host is None:
            self.start()
        assert self._host is not None
        return self._host

    def start_plc(self) -> PlcService:
        """Start an empty in-memory PLC directory inside the host."""
        return self._start_plc({})

    def _start_plc(self, args: dict[str, Any]) -> PlcService:
        result = self._call("plc.start", args, what="the PLC directory")
        self._log_paths[result["id"]] = Path(result["log"])
        # The host answers once the PLC listens; a health poll from here cost a new client and a round trip.
        return PlcService(id=result["id"], url=result["url"])

    def start_pds(self, spec: PdsSpec, plc: PlcService) -> PdsService:
        """Start a PDS inside the host with its data in the run directory."""
        return self._start_pds(spec, plc, {})

    def _start_pds(self, spec: PdsSpec, plc: PlcService, more: dict[str, Any]) -> PdsService:
        host = self.host
        data_dir = host.run_dir / "data" / f"{spec.name}-{os.urandom(4).hex()}"
        result = self._call(
            "pds.start",
            {"name": spec.name, "dataDir": str(data_dir), "env": spec.environment(plc.service_url), **more},
            what=f"PDS {spec.name}",
        )
        log_path = Path(result["log"])
        self._log_paths[result["id"]] = log_path  # the host answered once PDS.create() was done and it listens
        with self._lock:
            self._pds_urls[result["id"]] = result["url"]
        return PdsService(
            id=result["id"],
            spec=spec,
            url=result["url"],
            port=int(result["port"]),
            service_did=result["did"],
            plc_url=plc.url,
            log_path=log_path,
        )

    def start_relay(self, spec: RelaySpec, plc: PlcService, pdses: Sequence[PdsService]) -> RelayService:
        """Build (once, with a progress line) and start the indigo relay with a ``host`` row for every PDS."""
        binary = ensure_relay(self.settings.cache_dir, go=self.settings.go)
        template = ensure_relay_template(binary, self.settings.cache_dir, timeout=self.settings.service_timeout)
        data_dir = self.host.run_dir / "data" / f"{spec.name}-{os.urandom(4).hex()}"
        copy_database(template, data_dir / "relay.sqlite")
        hosts = tuple(hostname_of(pds.url) for pds in pdses)
        add_hosts(data_dir / "relay.sqlite", hosts)
        service_id = f"{spec.name}-{next(self._program_ids)}"
        return on_free_port(
            lambda api: self._launch_relay(
                service_id, binary, spec, plc.url, data_dir, hosts, (api, free_port()), pdses
            )
        )

    def relay_crawl(self, relay: RelayService, pdses: Sequence[PdsService]) -> RelayService:
        """Restart the relay with rows for the new PDSes (its data, cursors and ports are kept)."""
        new = [pds for pds in pdses if hostname_of(pds.url) not in relay.hosts]
        if not new:
            return relay
        self.stop(relay.id, wait=True)
        hosts = relay.hosts + tuple(hostname_of(pds.url) for pds in new)
        add_hosts(relay.data_dir / "relay.sqlite", hosts)
        binary = ensure_relay(self.settings.cache_dir, go=self.settings.go)
        # Same ports: clients hold the relay's URL. Go listens with SO_REUSEADDR,
        # so only another program taking the port in this instant fails it.
        return self._launch_relay(
            relay.id, binary, relay.spec, relay.plc_url, relay.data_dir, hosts, relay.ports, pdses
        )

    def _launch_relay(
        self,
        service_id: str,
        binary: Path,
        spec: RelaySpec,
        plc_url: str,
        data_dir: Path,
        hosts: tuple[str, ...],
        ports: tuple[int, int],
        pdses: Sequence[PdsService],
    ) -> RelayService:
        env = relay_environment(
            data_dir,
            api_bind=f"127.0.0.1:{ports[0]}",
            metrics_listen=f"127.0.0.1:{ports[1]}",
            admin_password=spec.admin_password,
            plc_url=plc_url,
            log_level=self.settings.log_level,
        )
        url = f"http://127.0.0.1:{ports[0]}"
        log_path = self.host.run_dir / "logs" / f"{service_id}.log"
        try:
            process = launch_relay(
                binary,
                env,
                data_dir=data_dir,
                log_path=log_path,
                api_url=url,
                what="the relay",
                timeout=self.settings.service_timeout,
                ready=lambda process: self._wait_subscribed(process, pdses),
            )
        except OSError as exc:  # the binary could not be run at all
            raise ServiceError(f"could not start the relay ({binary}): {exc}") from None
        self._adopt(service_id, process, log_path, "the relay")
        return RelayService(service_id, spec, url, plc_url, hosts, data_dir, ports, log_path, process.pid)

    def _wait_subscribed(self, relay: ManagedProcess, pdses: Sequence[PdsService]) -> None:
        """Wait until the relay holds a subscription on every PDS (seen from the PDS's side)."""
        waiting = list(pdses)

        def subscribed_to_all() -> bool:
            if not relay.alive():
                raise ServiceError(
                    f"the relay exited while subscribing; its log ends with:\n{masker.mask(relay.log_tail(20))}"
                )
            while waiting:
                agents = self._call("service.subscribers", {"id": waiting[0].id})["subscribers"]
                if not any(agent.startswith("indigo-relay") for agent in agents):
                    return False
                waiting.pop(0)
            return True

        poll(
            subscribed_to_all,
            timeout=self.settings.service_timeout,
            on_timeout=lambda: ServiceError(
                f"the relay did not subscribe to PDS {waiting[0].name} within {self.settings.service_timeout:g}s; "
                f"its log ends with:\n{masker.mask(relay.log_tail(20)) or '(empty)'}"
            ),
            interval=0.02,
            max_interval=0.1,
        )

    # -- Jetstream and Tap (programs of their own, like the relay) -------------------------

    def start_jetstream(self, spec: JetstreamSpec, relay: RelayService) -> JetstreamService:
        """Build Jetstream (once, with a progress line) and start it on ``relay``."""
        return self._start_program(
            JETSTREAM,
            spec.name,
            "Jetstream",
            lambda binary, service_id, data_dir, log_path, port: launch_jetstream(
                binary,
                spec,
                relay,
                service_id=service_id,
                data_dir=data_dir,
                log_path=log_path,
                ports=(port, free_port()),
                timeout=self.settings.service_timeout,
            ),
        )

    def start_tap(self, spec: TapSpec, relay: RelayService) -> TapService:
        """Build Tap (once, with a progress line) and start it on ``relay``, seeing the network's handles."""
        resolv_conf = self.handle_resolv_conf("Tap")
        return self._start_program(
            TAP,
            spec.name,
            "Tap",
            lambda binary, service_id, data_dir, log_path, port: launch_tap(
                binary,
                spec,
                relay,
                service_id=service_id,
                data_dir=data_dir,
                log_path=log_path,
                port=port,
                timeout=self.settings.service_timeout,
                resolv_conf=resolv_conf,
            ),
        )

    def handle_resolv_conf(self, tool: str) -> Path | None:
        """A resolv.conf naming the run's handle DNS (started on first use) for ``tool``; None where it cannot run."""
        with self._lock:
            if self._handle_dns is None:
                self._handle_dns = HandleDnsOnDemand(self._live_pds_urls, self.host.run_dir / "dns")
        return self._handle_dns.resolv_conf_for(tool)

    def _live_pds_urls(self) -> list[str]:
        with self._lock:
            return list(self._pds_urls.values())

    def _start_program(
        self,
        tool: GoTool,
        name: str,
        what: str,
        launch: Callable[[Path, str, Path, Path, int], tuple[ManagedProcess, T]],
    ) -> T:
        """Build ``tool`` if needed, then ``launch(binary, service_id, data_dir, log_path, port)`` on a free port.

        Its data and log go into the run directory; the started program is kept
        with the runtime's others (stopped with them, and if the host dies).
        """
        binary = ensure_tool(self.settings.cache_dir, tool, go=self.settings.go)
        service_id = f"{name}-{next(self._program_ids)}"
        data_dir = self.host.run_dir / "data" / service_id
        log_path = self.host.run_dir / "logs" / f"{service_id}.log"

        def start(port: int) -> T:
            try:
                process, service = launch(binary, service_id, data_dir, log_path, port)
            except OSError as exc:  # the binary could not be run at all
                raise ServiceError(f"could not start {what} ({binary}): {exc}") from None
            self._adopt(service_id, process, log_path, what)
            return service

        return on_free_port(start)

    def _adopt(self, service_id: str, process: ManagedProcess, log_path: Path, what: str) -> None:
        """Keep a started program with the runtime's others; stop it if the host died meanwhile."""
        with self._lock:
            self._processes[service_id] = process
            host_gone = self._host is None or self._host_dead
        self._log_paths[service_id] = log_path
        if host_gone:  # it must not outlive the host
            self._stop_processes()
            raise ServiceError(f"the network host exited while {what} started")

    def mail_capture(self) -> Mailbox:
        """An in-process SMTP server on 127.0.0.1, shared by every PDS of the run that captures email."""
        if self._mail is None:
            self._mail = MailCapture().start()
        return self._mail

    # -- AppViews (their own host and PostgreSQL, on first use: appview_local.py) ---------

    @property
    def appviews(self) -> LocalAppViews:
        """The run's AppView host and PostgreSQL, started when the first AppView is."""
        if self._appviews is None:
            run_dir = self.run_dir if self.run_dir is not None else self.host.run_dir
            self._appviews = LocalAppViews(self.settings, run_dir)
        return self._appviews

    def start_appview(self, spec: AppViewSpec, plc: PlcService, sources: Sequence[str]) -> AppViewService:
        """Start an AppView (installing it, Node.js 22 and PostgreSQL first if needed)."""
        return self.appviews.start(spec, plc, sources)

    def appview_subscribe(self, appview: AppViewService, source: str) -> None:
        """Make the AppView index ``source`` too."""
        self.appviews.subscribe(appview, source)

    def appview_cursors(self, appview: AppViewService) -> dict[str, int]:
        """Each source's sequence number the AppView has read."""
        return self.appviews.cursors(appview)

    def appview_wait_indexed(
        self, appview: AppViewService, heads: Mapping[str, int], timeout: float
    ) -> tuple[bool, dict[str, int]]:
        """Wait until the AppView's cursors reach ``heads`` and what it read is indexed (in its host)."""
        return self.appviews.wait_indexed(appview, heads, timeout)

    def postgres_log_tail(self, lines: int = 15) -> str:
        """The last lines of the AppViews' embedded PostgreSQL log ("" if none runs)."""
        postgres = self._appviews.postgres if self._appviews is not None else None
        return masker.mask(postgres.log_tail(lines)) if postgres is not None else ""

    def stop(self, service_id: str, *, wait: bool = True) -> None:
        """Stop a service (in the host, or a program of its own such as the relay)."""
        if self._appviews is not None and self._appviews.owns(service_id):
            self._appviews.stop(service_id, wait=wait)
            return
        with self._lock:
            self._pds_urls.pop(service_id, None)
            process = self._processes.pop(service_id, None)
        if process is not None:
            if wait:
                process.stop(RELAY_STOP_GRACE)
            else:  # SIGTERM now; close() reaps it (and kills it if it lingers)
                process.send_signal(signal.SIGTERM)
                with self._lock:
                    self._stopping = [p for p in self._stopping if p.alive()] + [process]
            return
        if self._host is None:
            return
        future = self._host.submit("service.stop", {"id": service_id})
        if wait:
            future.result(timeout=self.settings.service_timeout)
        else:
            with self._lock:
                self._pending_stops = [f for f in self._pending_stops if not f.done()] + [future]

    # -- snapshots (services/snapshots.py) --------------------------------------------

    supports_snapshots = True

    def snapshot(self, plc: PlcService, pdses: Sequence[PdsService]) -> NetworkSnapshot:
        """Copy the PLC's operations (kept in the host) and each PDS's data directory (into the run directory)."""
        root = self.host.run_dir / "snapshots" / os.urandom(4).hex()
        copies = [PdsSnapshot(pds, root / pds.name) for pds in pdses]
        result = self.host.call(
            "snapshot.take",
            {"plc": plc.id, "pdses": [{"id": c.service.id, "dir": str(c.data_dir)} for c in copies]},
            timeout=self.settings.service_timeout,
        )
        return NetworkSnapshot(id=str(result["id"]), pdses=tuple(copies))

    def restore_plc(self, snapshot: NetworkSnapshot) -> PlcService:
        """A new in-memory PLC directory holding a copy of the snapshot's operations."""
        return self._start_plc({"snapshot": snapshot.id})

    def restore_pds(self, snapshot: PdsSnapshot, plc: PlcService) -> PdsService:
        """A new PDS on a copy of the snapshot's data directory, on its port, with its spec (and secrets).

        The PDSes of the scenario before stop in the background; they are
        waited for here, since one of them may still hold the port.
        """
        self.settle_stops()
        return self._start_pds(
            snapshot.service.spec, plc, {"port": snapshot.service.port, "copyFrom": str(snapshot.data_dir)}
        )

    def drop_snapshot(self, snapshot: NetworkSnapshot) -> None:
        """Forget the snapshot's PLC operations and remove its copied data directories."""
        if self._host is not None:
            self._host.call("snapshot.drop", {"id": snapshot.id}, timeout=self.settings.service_timeout)

    def settle_stops(self) -> None:
        """Wait for the services stopping in the background (a stop that failed has nothing left to wait for)."""
        with self._lock:
            pending, self._pending_stops = self._pending_stops, []
        for future in pending:
            try:
                future.result(timeout=self.settings.service_timeout)
            except Exception:  # the service is gone either way; a restore that needs its port says so
                pass

    def pds_head(self, pds: PdsService) -> int | None:
        """The PDS's latest sequence number, from its sequencer in the host (one round trip, no subscription)."""
        return int(self.host.call("pds.head", {"id": pds.id}, timeout=self.settings.request_timeout)["seq"])

    def log_tail(self, service_id: str, lines: int = 20) -> str:
        """The last lines of a service's access log."""
        if self._appviews is not None and self._appviews.owns(service_id):
            return masker.mask(self._appviews.log_tail(service_id, lines))
        path = self._log_paths.get(service_id)
        return masker.mask(tail(path, lines)) if path else ""

    def close(self) -> None:
        """Stop all services and the host, and remove the run directory."""
        mail, self._mail = self._mail, None
        if mail is not None:
            mail.close()
        appviews, self._appviews = self._appviews, None
        if appviews is not None:
            appviews.close()
        self._stop_processes()
        dns, self._handle_dns = self._handle_dns, None
        if dns is not None:
            dns.close()
        host, self._host = self._host, None
        if host is None:
            return
        self.settle_stops()  # the host is going down anyway; its shutdown stops what is left
        host.close(timeout=self.settings.service_timeout)
        if self.run_dir is not None and not self.settings.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        atexit.unregister(self.close)

    def _stop_processes(self) -> None:
        """Stop every program the runtime runs outside the host (relays), in parallel."""
        with self._lock:
            processes = list(self._processes.values()) + self._stopping
            self._processes, self._stopping = {}, []
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.stop(RELAY_STOP_GRACE)

    def _host_exited(self, reason: str) -> None:
        """The host's reader saw it exit (closed, or died): the relays must not outlive it."""
        with self._lock:
            self._host_dead = True
        self._stop_processes()

    def _call(self, cmd: str, args: dict[str, Any], what: str = "") -> dict[str, Any]:
        try:
            return self.host.call(cmd, args, timeout=self.settings.service_timeout)
        except ServiceError as exc:
            raise ServiceError(f"could not start {what or cmd}: {exc}") from None

    def host_log_tail(self, lines: int = 20) -> str:
        """The last lines of the host's own log and the services' shared log."""
        return self._host.log_tail(lines) if self._host else ""
