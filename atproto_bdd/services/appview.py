"""AppViews on the local runtime: a second Node host running ``@atproto/bsky``, and PostgreSQL.

The AppView needs Node.js 22 and packages of its own (``node/appview``:
``@atproto/bsky`` pinned by its lockfile), so it runs in a host of its own
(``host.js`` in its ``appview`` role), started the first time a network asks
for an AppView. Each AppView gets:

* a did:plc in its network's PLC directory, made here (one secp256k1 key for
  ``#atproto``, services ``#bsky_appview`` and ``#bsky_notif`` at its URL);
* a database of its own, cloned (``CREATE DATABASE ... TEMPLATE``) from one
  that bsky's migrations ran on once per run; the clone takes about 150 ms of
  PostgreSQL's time, so the next network's database is cloned in the
  background as soon as one is taken (never used before: a fresh copy);
* a repo subscription per PDS of the network, whose cursor and
  ``processAll()`` tell when what a PDS sequenced is indexed.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..errors import ServiceError
from ..protocol.identity import PlcClient
from ..protocol.plc_ops import SigningKey, genesis_operation
from ..settings import Settings
from ..waiting import Deadline
from .health import wait_until_healthy
from .node_host import NodeHost
from .node_install import NODE_PACKAGE_DIR, NodeInstall, ensure_npm_project
from .node_runtime import resolve_node
from .ozone import OzoneIdentity, OzoneService
from .ports import on_free_port
from .postgres import VERSION as POSTGRES_VERSION
from .postgres import Postgres, ensure_postgres
from .run_root import run_root
from .specs import AppViewService, AppViewSpec, PdsService, PlcService

APPVIEW_PROJECT = NODE_PACKAGE_DIR / "appview"
APPVIEW_MIN_NODE = 22


def ensure_appview(settings: Settings) -> tuple[NodeInstall, Path]:
    """The AppView's npm project (with the Node.js 22 it needs) and PostgreSQL, installed if needed."""
    node = resolve_node(
        settings.cache_dir,
        min_major=APPVIEW_MIN_NODE,
        node=settings.node,
        npm=settings.npm,
        needed_for="the AppView (@atproto/bsky)",
    )
    install = ensure_npm_project(APPVIEW_PROJECT, settings.cache_dir / "node", node=node, npm=settings.npm)
    return install, ensure_postgres(settings.cache_dir)


class LocalAppViews:
    """The run's AppView host and PostgreSQL server, started on first use."""

    def __init__(self, settings: Settings, run_dir: Path) -> None:
        self.settings = settings
        self.run_dir = run_dir / "appview"
        self.host: NodeHost | None = None
        self.postgres: Postgres | None = None
        self._template = ""
        self._databases: dict[str, str] = {}  # AppView id -> its database
        self._ozones: set[str] = set()  # the running Ozones' ids (each on its AppView's database)
        self._log_paths: dict[str, Path] = {}
        self._numbers = itertools.count(1)
        # Re-entrant: when a start fails, _ready() calls close() while it holds the lock (with a plain lock
        # that hung for good).
        self._lock = threading.RLock()
        self._preparing: threading.Thread | None = None
        self._key = ""
        self._prefix = ""  # this run's network databases: atproto_bdd_<host pid>_<n>
        self._made_template = False
        self._spares: list[str] = []  # cloned databases no AppView has used yet
        self._cloning: threading.Thread | None = None
        self._closing = False
        self._prepare_error: BaseException | None = None
        self.versions: dict[str, Any] = {}

    # -- start-up ----------------------------------------------------------------------

    def prepare_in_background(self) -> None:
        """Start the AppView host and PostgreSQL on a thread of their own (a later start waits for it).

        A failure is kept and raised by the first AppView that needs them.
        """
        if self._preparing is not None:
            return

        def prepare() -> None:
            try:
                self._ready()
            except BaseException as exc:  # raised again where an AppView is asked for
                self._prepare_error = exc
                return
            self._clone_next()  # the first network's database is ready before it asks

        # Forks (the host, PostgreSQL) go through processes.spawn, whose long-lived thread keeps
        # their parent-death signal tied to this process, not to this short-lived thread.
        self._preparing = threading.Thread(target=prepare, name="atproto-bdd-appview-prepare", daemon=True)
        self._preparing.start()

    def _ready(self) -> tuple[NodeHost, Postgres]:
        if self._prepare_error is not None:
            error, self._prepare_error = self._prepare_error, None
            raise error
        with self._lock:
            if self.host is None:
                settings = self.settings
                install, _ = ensure_appview(settings)
                self._key = install.root.name.split("-")[0][:12]  # the lockfile's hash: the template's name
                # PostgreSQL starts on its own thread while the AppView host loads its modules.
                root = None if settings.postgres_url else Postgres.new_data_root(run_root(settings.run_root))
                server: Future[Postgres] = Future()

                def start_postgres() -> None:
                    try:
                        server.set_result(
                            Postgres.external(settings.postgres_url, settings.cache_dir)
                            if settings.postgres_url
                            else Postgres.embedded(
                                settings.cache_dir, timeout=settings.service_timeout, root=root, cluster=self._cluster
                            )
                        )
                    except BaseException as exc:  # raised below, on this thread
                        server.set_exception(exc)

                threading.Thread(target=start_postgres, name="atproto-bdd-postgres", daemon=True).start()
                try:
                    # The host's own run directory lives in the main one, which the main host removes.
                    # If we are SIGKILLed, this host (SIGTERMed by its parent-death signal) removes
                    # PostgreSQL's data; PostgreSQL itself gets SIGKILL from its own.
                    host = NodeHost(
                        install,
                        self.run_dir,
                        log_level=settings.log_level,
                        remove_run_dir=False,
                        role="appview",
                        remove_also=(root,) if root is not None else (),
                    )
                    self.host = host
                    self.versions = host.start(timeout=settings.service_timeout)
                    self._prefix = f"atproto_bdd_{host.pid}_"
                    self.postgres = server.result(timeout=settings.service_timeout)
                    self._template = self._migrated_template()
                except BaseException:
                    self.close()
                    if server.done() and server.exception() is None:
                        server.result().close()
                    elif root is not None:
                        shutil.rmtree(root, ignore_errors=True)
                    raise
            assert self.postgres is not None
            return self.host, self.postgres

    @property
    def _cluster(self) -> Path:
        """Where the embedded server's data, with the migrated template, is kept between runs."""
        return self.settings.cache_dir / "postgres" / f"cluster-{POSTGRES_VERSION}-{self._key}"

    def _migrated_template(self) -> str:
        """A database bsky's and bsync's migrations ran on, for every network's AppView to clone.

        Named after the AppView's lockfile and kept between runs: on a named
        server it stays there; the embedded server's data is saved to the cache
        when the first run closes. Made under a temporary name and renamed
        when complete, so a run that dies half-way leaves no broken template.
        """
        assert self.host is not None and self.postgres is not None
        name = f"atproto_bdd_template_{self._key}"
        if name in self.postgres.database_names(name):
            return name
        scratch = f"{name}_{self.host.pid}"
        self.postgres.drop_database(scratch)
        url = self.postgres.create_database(scratch)
        self.host.call("appview.migrate", {"dbUrl": url}, timeout=self.settings.service_timeout)
        try:
            self.postgres.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{name}"')
        except ServiceError:  # another run made it meanwhile: use that one
            self.postgres.drop_database(scratch)
        self._made_template = True
        return name

    # -- AppViews -----------------------------------------------------------------------

    def start(self, spec: AppViewSpec, plc: PlcService, sources: Sequence[str]) -> AppViewService:
        """Start an AppView indexing ``sources`` (PDS websocket URLs), with its DID in ``plc``."""
        host, postgres = self._ready()
        database = self._take_database(postgres)
        db_url = postgres.database_url(database)
        key = SigningKey.from_hex(spec.signing_key_hex)

        def launch(port: int) -> AppViewService:
            url = f"http://localhost:{port}"
            did, operation = genesis_operation(
                rotation_keys=[key.did_key],
                verification_methods={"atproto": key.did_key},
                services={
                    "bsky_appview": {"type": "BskyAppView", "endpoint": url},
                    "bsky_notif": {"type": "BskyNotificationService", "endpoint": url},
                },
                also_known_as=["at://bsky.test"],
                signer=key,
            )
            with PlcClient(plc.url, timeout=self.settings.request_timeout) as client:
                client.create(did, operation)
            result = host.call(
                "appview.start",
                {
                    "name": spec.name,
                    "port": port,
                    "plcUrl": plc.service_url,
                    "dbUrl": db_url,
                    "keyHex": spec.signing_key_hex,
                    "did": did,
                    "adminPassword": spec.admin_password,
                    "subscribe": list(sources),
                    "modServiceDid": spec.mod_service_did,
                    "labelers": list(spec.labelers),
                },
                timeout=self.settings.service_timeout,
            )
            return AppViewService(result["id"], spec, result["url"], port, did, database, Path(result["log"]))

        try:
            service = on_free_port(launch)
        except BaseException:
            postgres.drop_database(database)
            raise
        self._databases[service.id] = database
        self._log_paths[service.id] = service.log_path or Path()
        return service

    def _take_database(self, postgres: Postgres) -> str:
        """A fresh clone of the template: the one cloned in the background (waiting for it), else one cloned now."""
        with self._lock:
            cloning = self._cloning
        if cloning is not None:
            # Waiting for it beats cloning another now: that one would queue behind it (a clone needs the
            # template to itself), so a scenario that came too early paid for two clones.
            cloning.join(timeout=self.settings.service_timeout)
        with self._lock:
            database = self._spares.pop() if self._spares else None
        if database is None:
            database = f"{self._prefix}{next(self._numbers)}"
            postgres.create_database(database, template=self._template)
        self._clone_next()
        return database

    def _clone_next(self) -> None:
        """Clone the next network's database on a thread, unless one is ready or on its way."""
        with self._lock:
            busy = self._cloning is not None and self._cloning.is_alive()
            if self._closing or busy or self._spares or self.postgres is None:
                return
            postgres, name = self.postgres, f"{self._prefix}{next(self._numbers)}"

            def clone() -> None:
                try:
                    postgres.create_database(name, template=self._template)
                except ServiceError:  # the next AppView clones its own, and reports a real problem
                    return
                with self._lock:
                    if not self._closing:
                        self._spares.append(name)
                # Closing: close() waits for this thread, then drops every database of the run.

            self._cloning = threading.Thread(target=clone, name="atproto-bdd-appview-database", daemon=True)
            self._cloning.start()

    def start_ozone(
        self, identity: OzoneIdentity, plc: PlcService, appview: AppViewService, pds: PdsService
    ) -> OzoneService:
        """Start Ozone beside ``appview`` (on its database, schema ``ozone``), pushing takedowns to ``pds``."""
        host, postgres = self._ready()
        database = self._databases.get(appview.id)
        if database is None:
            raise ServiceError(f"Ozone needs the AppView {appview.name} of this run, which is not running")
        spec = identity.spec
        result = host.call(
            "ozone.start",
            {
                "name": spec.name,
                "port": identity.port,
                "plcUrl": plc.service_url,
                "dbUrl": postgres.database_url(database),
                "did": identity.did,
                "keyHex": spec.signing_key_hex,
                "adminPassword": spec.admin_password,
                "appviewId": appview.id,
                "appviewUrl": appview.url,
                "appviewDid": appview.did,
                "pdsUrl": pds.url,
                "pdsDid": pds.service_did,
            },
            timeout=self.settings.service_timeout,
        )
        service = OzoneService(result["id"], identity, pds.url, Path(result["log"]))
        self._ozones.add(service.id)
        self._log_paths[service.id] = service.log_path or Path()
        return service

    def ozone_settle(self, ozone: OzoneService, timeout: float) -> dict[str, Any]:
        """Wait (``timeout``) until Ozone's pushes are sent and its labels are in the AppView (the host's answer)."""
        return dict(
            self._host().call(
                "ozone.settle",
                {"id": ozone.id, "timeoutMs": round(timeout * 1000)},
                timeout=timeout + self.settings.request_timeout,
            )
        )

    def restart(self, appview: AppViewService) -> AppViewService:
        """Stop the AppView and start it again on its port and database; returns once it serves again.

        Its clients' connections were dropped. Its subscriptions read each
        source again from the start (bsky keeps their cursors in memory), so
        an indexing wait after it waits for the re-read too.
        """
        deadline = Deadline(self.settings.service_timeout)
        result = self._host().call("appview.restart", {"id": appview.id}, timeout=deadline.remaining)
        if (result["id"], result["url"]) != (appview.id, appview.url):  # the host keeps both: a bug if not
            raise ServiceError(f"the AppView came back as {result['id']} on {result['url']}, not {appview.url}")
        wait_until_healthy("the AppView", f"{appview.url}/xrpc/_health", timeout=max(deadline.remaining, 1.0))
        return appview

    def subscribe(self, appview: AppViewService, source: str) -> None:
        """Make the AppView index ``source`` (a PDS's websocket URL) too."""
        self._host().call(
            "appview.subscribe", {"id": appview.id, "service": source}, timeout=self.settings.service_timeout
        )

    def cursors(self, appview: AppViewService) -> dict[str, int]:
        """Each source's sequence number the AppView has read."""
        result = self._host().call("appview.cursors", {"id": appview.id}, timeout=self.settings.request_timeout)
        return {source: int(seq) for source, seq in result["cursors"].items()}

    def wait_indexed(
        self, appview: AppViewService, heads: Mapping[str, int], timeout: float
    ) -> tuple[bool, dict[str, int]]:
        """Wait (``timeout``) until each source's cursor reaches ``heads``, then until what was read is indexed.

        The host looks at the cursors every few milliseconds: a poll from here
        would notice the AppView's progress up to a poll interval late. The
        call's own deadline leaves the host time to answer after its own.
        """
        result = self._host().call(
            "appview.waitIndexed",
            {"id": appview.id, "heads": dict(heads), "timeoutMs": round(timeout * 1000)},
            timeout=timeout + self.settings.request_timeout,
        )
        return bool(result["caughtUp"]), {source: int(seq) for source, seq in result["cursors"].items()}

    def owns(self, service_id: str) -> bool:
        """Whether ``service_id`` is one of these AppViews or Ozones."""
        return service_id in self._databases or service_id in self._ozones

    def stop(self, service_id: str, *, wait: bool = True) -> None:
        """Stop an AppView and drop its database (in the background unless ``wait``), or an Ozone."""
        if service_id in self._ozones:
            self._ozones.discard(service_id)
            if self.host is not None:  # at once: its connections to the AppView's database go before the drop
                self.host.call("service.stop", {"id": service_id}, timeout=self.settings.service_timeout)
            return
        database = self._databases.pop(service_id, None)
        if self.host is None or database is None:
            return
        future = self.host.submit("service.stop", {"id": service_id})
        postgres = self.postgres

        def drop(_: Any) -> None:
            if postgres is not None:
                try:
                    postgres.drop_database(database)
                except ServiceError:  # the server may be going down with the run
                    pass

        if wait:
            future.result(timeout=self.settings.service_timeout)
            drop(None)
        else:
            future.add_done_callback(drop)

    def log_tail(self, service_id: str, lines: int = 20) -> str:
        """The AppView's access log and, for context, PostgreSQL's last lines."""
        from .toolchain import tail

        path = self._log_paths.get(service_id)
        return tail(path, lines) if path else ""

    def _host(self) -> NodeHost:
        if self.host is None:
            raise ServiceError("no AppView runs in this run")
        return self.host

    def close(self) -> None:
        """Stop the AppView host and PostgreSQL (their data goes with them)."""
        with self._lock:
            self._closing = True
            cloning = self._cloning
        if cloning is not None:  # its database is one of the run's, dropped below
            cloning.join(timeout=self.settings.service_timeout)
        host, self.host = self.host, None
        if host is not None:
            host.close(timeout=self.settings.service_timeout)
        postgres, self.postgres = self.postgres, None
        if postgres is None:
            return
        try:  # this run's networks' databases go (not other runs' on a shared server); the template stays
            for name in postgres.database_names(self._prefix) if self._prefix else []:
                postgres.drop_database(name)
        except ServiceError:
            pass
        save = self._made_template and postgres.process is not None and not self._cluster.exists()
        postgres.close(save_to=self._cluster if save else None)


def prepare(settings: Settings) -> str:
    """Install the AppView's packages, the Node.js 22 they need and PostgreSQL (once per version); where."""
    install, postgres_bin = ensure_appview(settings)
    return f"AppView ready in {install.root} (Node.js {install.node}); PostgreSQL in {postgres_bin}"
