"""The Docker runtime: the official images, one user-defined network per test network.

Every test network gets its own Docker network; services reach each other by
alias (``plc``, ``pds-a``, ``mailpit``) and the test process reaches them
through ports published on 127.0.0.1 only. A PDS listens inside its container
on the same port it is published on, with ``PDS_HOSTNAME=localhost``, so its
public URL (``http://localhost:PORT``, which its DID documents and OAuth
issuer carry) is the same inside and outside Docker.

The relay dials PDSes at those URLs too: it shares a network namespace with a
small forwarder (run from the PDS image) that connects ``localhost:PORT`` to
the PDS's container, and its database is prepared with one host row per PDS
before it starts, as in the local runtime.

Containers, networks and the relay's data carry labels with the run's id;
everything is removed on close, at exit, and - for runs that crashed - by the
next run that starts on the same machine.
"""

from __future__ import annotations

import atexit
import io
import itertools
import os
import shlex
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InstallError, ServiceError
from ..masking import masker
from ..settings import Settings
from .go_install import INDIGO_COMMIT
from .health import wait_until_healthy
from .mail import Mailbox
from .mailpit import MailpitMailbox
from .ports import free_port
from .relay_config import relay_environment, store_template
from .relay_db import add_hosts
from .runtime import Runtime
from .specs import PdsService, PdsSpec, PlcService, RelayService, RelaySpec, hostname_of

#: The images the Docker runtime runs unless overridden (setting or ATPROTO_BDD_<SERVICE>_IMAGE).
OFFICIAL_IMAGES = {
    "pds": "ghcr.io/bluesky-social/pds:0.4",
    "plc": "ghcr.io/bluesky-social/did-method-plc:plc-c54aea0373e65df0b87f5bc81710007092f539b1",
    "relay": f"ghcr.io/bluesky-social/indigo:relay-{INDIGO_COMMIT}",
    "mailpit": "axllent/mailpit:v1.21",
    "postgres": "postgres:16-alpine",
}
#: How the PLC image starts with an in-memory database (its package's start script).
OFFICIAL_PLC_COMMAND = "yarn run start"
PLC_WORKDIR = "/app/packages/server"
PLC_PORT = 2582
RELAY_PORT = 2470
RELAY_METRICS_PORT = 2471
#: Where the relay keeps its data inside its container.
RELAY_DATA = PurePosixPath("/data")
MAILPIT_SMTP = "smtp://mailpit:1025"
LABEL = "dev.atproto-bdd"
FORWARDER = (Path(__file__).parent / "docker" / "forwarder.js").read_text()


class DockerRuntime(Runtime):
    """Runs the network's services as containers of a Docker-compatible engine."""

    name = "docker"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self.run_id = uuid.uuid4().hex[:12]
        self.client: Any = None
        self._networks: dict[str, Any] = {}
        self._network_count = itertools.count(1)
        self._containers: dict[str, list[Any]] = {}  # service id -> its containers, main one first
        self._mailpit: Any = None
        self._mailbox: MailpitMailbox | None = None
        self._stopper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="atproto-bdd-docker-stop")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    # -- set-up ------------------------------------------------------------------

    def image(self, service: str) -> str:
        """The image for ``service`` (pds, plc, relay, mailpit, postgres): the setting, else the official one."""
        return getattr(self.settings, f"{service}_image") or OFFICIAL_IMAGES[service]

    @property
    def labels(self) -> dict[str, str]:
        """Labels every object of this run carries."""
        return {
            LABEL: "1",
            f"{LABEL}.run": self.run_id,
            f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.pid": str(os.getpid()),
        }

    def start(self) -> None:
        """Connect to the engine (``docker_host`` setting, else ``DOCKER_HOST``) and clear crashed runs' leftovers."""
        if self.client is not None:
            return
        try:
            import docker
        except ImportError:
            raise InstallError(
                "the Docker runtime needs the docker package: pip install 'atproto-bdd[docker]'"
            ) from None
        where = self.settings.docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
        try:
            client = (
                docker.DockerClient(base_url=self.settings.docker_host, timeout=60)
                if self.settings.docker_host
                else docker.from_env(timeout=60)
            )
            client.ping()
        except Exception as exc:  # the SDK raises several unrelated types here
            raise ServiceError(
                f"Docker is not reachable at {where} ({type(exc).__name__}: {exc}). Start a Docker engine, set "
                "DOCKER_HOST (or -D docker_host=...) to a reachable one, or use the local runtime: -D runtime=local"
            ) from None
        self.client = client
        atexit.register(self.close)
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Remove what runs on this machine left behind when they crashed (their process is gone)."""
        here = socket.gethostname()

        def orphaned(labels: dict[str, str]) -> bool:
            if labels.get(f"{LABEL}.host") != here or labels.get(f"{LABEL}.run") == self.run_id:
                return False
            try:
                os.kill(int(labels.get(f"{LABEL}.pid", "0")), 0)
            except (ProcessLookupError, ValueError):
                return True
            except PermissionError:
                return False
            return False

        for container in self.client.containers.list(all=True, filters={"label": LABEL}):
            if orphaned(container.labels):
                container.remove(force=True)
        for network in self.client.networks.list(filters={"label": LABEL}):
            if orphaned(network.attrs.get("Labels") or {}):
                network.remove()

    def _ensure_image(self, service: str) -> str:
        from docker.errors import DockerException, ImageNotFound

        name = self.image(service)
        try:
            self.client.images.get(name)
        except ImageNotFound:
            try:
                self.client.images.pull(name)
            except DockerException as exc:
                raise ServiceError(
                    f"the {service} image {name} is not available and could not be pulled ({exc}); "
                    f"build or pull it, or point ATPROTO_BDD_{service.upper()}_IMAGE (-D {service}_image=...) "
                    "at one you have"
                ) from None
        return name

    def _run(self, service: str, *, name: str, network: str | None, aliases: Sequence[str] = (), **kwargs: Any) -> Any:
        """Create and start a labelled container of ``service``'s image."""
        image = self._ensure_image(service)
        if network is not None:
            endpoint = self.client.api.create_endpoint_config(aliases=list(aliases))
            kwargs.update(network=network, networking_config={network: endpoint})
        return self._api(
            f"start the {service} container",
            self.client.containers.run,
            image,
            name=f"atproto-bdd-{self.run_id}-{name}",
            detach=True,
            labels=self.labels,
            **kwargs,
        )

    def _api(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the engine; its errors become a ServiceError saying what failed (no traceback)."""
        from docker.errors import DockerException

        try:
            return call(*args, **kwargs)
        except DockerException as exc:
            explanation = getattr(exc, "explanation", None) or str(exc)
            raise ServiceError(f"could not {what}: {explanation}") from None

    def _health(self, what: str, url: str, container: Any) -> None:
        def alive() -> bool:
            container.reload()
            return container.status in ("created", "running")

        wait_until_healthy(
            what,
            url,
            timeout=self.settings.service_timeout,
            log_tail=lambda: self._logs(container),
            alive=alive,
        )

    def _logs(self, container: Any, lines: int = 30) -> str:
        try:
            return masker.mask(container.logs(tail=lines).decode("utf-8", "replace"))
        except Exception:  # a removed container has no logs
            return ""

    # -- services ------------------------------------------------------------------

    def start_plc(self) -> PlcService:
        """A new network, and its PLC directory (in memory, or Postgres-backed with ``plc_mode=postgres``)."""
        network = self._api(
            "create a network",
            self.client.networks.create,
            f"atproto-bdd-{self.run_id}-{next(self._network_count)}",
            driver="bridge",
            labels=self.labels,
        )
        self._networks[network.name] = network
        if self._mailpit is not None:
            network.connect(self._mailpit, aliases=["mailpit"])
        containers = []
        env = {"PORT": str(PLC_PORT), "DEBUG_MODE": "1", "LOG_ENABLED": "true"}
        if self.settings.plc_mode == "postgres":
            postgres = self._run(
                "postgres",
                name=f"{network.name[-2:]}-plcdb-{uuid.uuid4().hex[:6]}",
                network=network.name,
                aliases=["plcdb"],
                environment={"POSTGRES_USER": "plc", "POSTGRES_PASSWORD": "plc", "POSTGRES_DB": "plc"},
                tmpfs={"/var/lib/postgresql/data": ""},
            )
            containers.append(postgres)
            self._wait_postgres(postgres)
            env["DATABASE_URL"] = "postgres://plc:plc@plcdb:5432/plc"
        port = free_port()
        command = self.settings.plc_command or OFFICIAL_PLC_COMMAND
        plc = self._run(
            "plc",
            name=f"plc-{uuid.uuid4().hex[:6]}",
            network=network.name,
            aliases=["plc"],
            command=shlex.split(command),
            working_dir=PLC_WORKDIR,
            environment=env,
            ports={f"{PLC_PORT}/tcp": ("127.0.0.1", port)},
        )
        self._containers[plc.id] = [plc, *containers]
        url = f"http://127.0.0.1:{port}"
        self._health("the PLC directory", f"{url}/_health", plc)
        return PlcService(id=plc.id, url=url, internal_url=f"http://plc:{PLC_PORT}", network=network.name)

    def _wait_postgres(self, container: Any) -> None:
        deadline = time.monotonic() + self.settings.service_timeout
        while time.monotonic() < deadline:
            result = container.exec_run(["pg_isready", "-U", "plc", "-h", "127.0.0.1"])
            if result.exit_code == 0:
                return
            time.sleep(0.2)
        raise ServiceError(f"Postgres for the PLC directory did not become ready; its log:\n{self._logs(container)}")

    def start_pds(self, spec: PdsSpec, plc: PlcService) -> PdsService:
        """A PDS container listening on the port it is published on (127.0.0.1), as ``localhost``."""
        port = free_port()
        env = spec.environment(plc.service_url)
        env.update(
            {
                "PDS_HOSTNAME": "localhost",
                "PDS_PORT": str(port),
                "PDS_SERVICE_DID": f"did:web:localhost%3A{port}",
                "PDS_DATA_DIRECTORY": "/pds",
                "PDS_BLOBSTORE_DISK_LOCATION": "/pds/blocks",
                "LOG_ENABLED": "true",
                "LOG_LEVEL": self.settings.log_level,
            }
        )
        container = self._run(
            "pds",
            name=f"pds-{spec.name.lower()}-{uuid.uuid4().hex[:6]}",
            network=plc.network,
            aliases=[pds_alias(spec.name)],
            environment=env,
            tmpfs={"/pds": ""},
            ports={f"{port}/tcp": ("127.0.0.1", port)},
        )
        self._containers[container.id] = [container]
        url = f"http://localhost:{port}"
        self._health(f"PDS {spec.name}", f"{url}/xrpc/_health", container)
        return PdsService(container.id, spec, url, port, f"did:web:localhost%3A{port}", plc.url)

    def start_relay(self, spec: RelaySpec, plc: PlcService, pdses: Sequence[PdsService]) -> RelayService:
        """The relay, with host rows for ``pdses``, beside a forwarder that reaches them."""
        template = self._relay_template(plc)
        with tempfile.TemporaryDirectory(prefix="atproto-bdd-relay-") as data:
            database = Path(data) / "relay.sqlite"
            database.write_bytes(template)
            hosts = tuple(hostname_of(pds.url) for pds in pdses)
            add_hosts(database, hosts)
            return self._launch_relay(spec, plc, Path(data), hosts, pdses, free_port())

    def relay_crawl(self, relay: RelayService, pdses: Sequence[PdsService]) -> RelayService:
        """Stop the relay, add host rows to its database, start it again with its data."""
        new = [pds for pds in pdses if hostname_of(pds.url) not in relay.hosts]
        if not new:
            return relay
        relay_container = self._containers[relay.id][0]
        relay_container.stop(timeout=10)
        with tempfile.TemporaryDirectory(prefix="atproto-bdd-relay-") as tmp:
            data = Path(tmp)
            _extract(relay_container.get_archive(str(RELAY_DATA))[0], data)
            self._remove(relay.id)
            hosts = relay.hosts + tuple(hostname_of(pds.url) for pds in new)
            add_hosts(data / "data" / "relay.sqlite", hosts)
            plc = PlcService("", relay.plc_url, internal_url=f"http://plc:{PLC_PORT}", network=self._network_of(pdses))
            return self._launch_relay(relay.spec, plc, data / "data", hosts, pdses, relay.ports[0])

    def _launch_relay(
        self,
        spec: RelaySpec,
        plc: PlcService,
        data: Path,
        hosts: tuple[str, ...],
        pdses: Sequence[PdsService],
        port: int,
    ) -> RelayService:
        forward = ",".join(f"{pds.port}={pds_alias(pds.name)}:{pds.port}" for pds in pdses)
        forwarder = self._run(
            "pds",
            name=f"relay-net-{uuid.uuid4().hex[:6]}",
            network=plc.network,
            aliases=["relay"],
            entrypoint=["node", "-e", FORWARDER],
            command=[],
            environment={"FORWARD": forward},
            ports={f"{RELAY_PORT}/tcp": ("127.0.0.1", port)},
        )
        env = relay_environment(
            RELAY_DATA,
            api_bind=f":{RELAY_PORT}",
            metrics_listen=f"127.0.0.1:{RELAY_METRICS_PORT}",
            admin_password=spec.admin_password,
            plc_url=plc.service_url,
            log_level=self.settings.log_level,
        )
        image = self._ensure_image("relay")
        relay = self.client.containers.create(
            image,
            name=f"atproto-bdd-{self.run_id}-relay-{uuid.uuid4().hex[:6]}",
            labels=self.labels,
            environment=env,
            network_mode=f"container:{forwarder.id}",
        )
        relay.put_archive("/", _tar_dir(data, "data"))
        relay.start()
        self._containers[relay.id] = [relay, forwarder]
        url = f"http://127.0.0.1:{port}"
        self._health("the relay", f"{url}/xrpc/_health", relay)
        self._wait_upgraded(relay, forwarder, pdses)
        return RelayService(relay.id, spec, url, plc.url, hosts, Path("/data"), (port, 0), None, None)

    def _wait_upgraded(self, relay: Any, forwarder: Any, pdses: Sequence[PdsService]) -> None:
        """Wait until the relay's subscription to every PDS went through the forwarder."""
        deadline = time.monotonic() + self.settings.service_timeout
        while True:
            log = forwarder.logs().decode("utf-8", "replace")
            missing = [pds for pds in pdses if f"upgraded {pds.port}" not in log]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"the relay did not subscribe to PDS {missing[0].name} within {self.settings.service_timeout:g}s; "
                    f"its log ends with:\n{self._logs(relay)}"
                )
            time.sleep(0.05)

    def _relay_template(self, plc: PlcService) -> bytes:
        """The relay database its own image creates, once per image."""
        image = self.client.images.get(self._ensure_image("relay"))
        template = self.settings.cache_dir / "docker" / f"relay-{image.id.split(':')[-1][:16]}.template.sqlite"
        if not template.exists():
            port = free_port()
            container = self._run(
                "relay",
                name=f"relay-template-{uuid.uuid4().hex[:6]}",
                network=plc.network,
                environment=relay_environment(
                    RELAY_DATA,
                    api_bind=f":{RELAY_PORT}",
                    metrics_listen=f"127.0.0.1:{RELAY_METRICS_PORT}",
                    admin_password="template",
                    plc_url=plc.service_url,
                ),
                ports={f"{RELAY_PORT}/tcp": ("127.0.0.1", port)},
            )
            try:
                self._health(
                    "the relay (creating its database template)", f"http://127.0.0.1:{port}/xrpc/_health", container
                )
                container.stop(timeout=10)
                with tempfile.TemporaryDirectory() as tmp:
                    _extract(container.get_archive(str(RELAY_DATA))[0], Path(tmp))
                    store_template(Path(tmp) / "data" / "relay.sqlite", template)
            finally:
                container.remove(force=True)
        return template.read_bytes()

    def _network_of(self, pdses: Sequence[PdsService]) -> str:
        container = self._containers[pdses[0].id][0]
        container.reload()
        return next(iter(container.attrs["NetworkSettings"]["Networks"]))

    # -- mail ---------------------------------------------------------------------------

    def mail_capture(self) -> Mailbox:
        """A Mailpit container for the run, on every test network as ``mailpit``."""
        if self._mailbox is None:
            networks = list(self._networks.values())
            if not networks:
                raise ServiceError("email capture needs a network: declare a PDS first")
            port = free_port()
            self._mailpit = self._run(
                "mailpit",
                name="mailpit",
                network=networks[0].name,
                aliases=["mailpit"],
                ports={"8025/tcp": ("127.0.0.1", port)},
            )
            for network in networks[1:]:
                network.connect(self._mailpit, aliases=["mailpit"])
            api = f"http://127.0.0.1:{port}"
            self._health("Mailpit", f"{api}/livez", self._mailpit)
            self._mailbox = MailpitMailbox(api, MAILPIT_SMTP, timeout=self.settings.request_timeout)
        return self._mailbox

    # -- stopping -----------------------------------------------------------------------

    def stop(self, service_id: str, *, wait: bool = True) -> None:
        """Remove a service's containers (and, for a PLC directory, its network)."""
        future = self._stopper.submit(self._remove, service_id)
        if wait:
            future.result(timeout=self.settings.service_timeout)
        else:
            with self._lock:
                self._pending = [f for f in self._pending if not f.done()] + [future]

    def _remove(self, service_id: str) -> None:
        networks: set[str] = set()
        for container in self._containers.pop(service_id, []):
            try:
                container.reload()
                networks.update(container.attrs["NetworkSettings"]["Networks"])
                container.remove(force=True)
            except Exception:  # already gone
                pass
        for name in networks:
            if name in self._networks and self._only_mailpit_left(name):
                self._drop_network(name)

    def _only_mailpit_left(self, name: str) -> bool:
        network = self._networks[name]
        network.reload()
        members = set((network.attrs.get("Containers") or {}).keys())
        return members <= ({self._mailpit.id} if self._mailpit is not None else set())

    def _drop_network(self, name: str) -> None:
        network = self._networks.pop(name)
        if self._mailpit is not None:
            try:
                network.disconnect(self._mailpit, force=True)
            except Exception:
                pass
        try:
            network.remove()
        except Exception:
            pass

    def log_tail(self, service_id: str, lines: int = 20) -> str:
        """The last lines of a service's container log."""
        containers = self._containers.get(service_id)
        return self._logs(containers[0], lines) if containers else ""

    def close(self) -> None:
        """Remove every container and network of this run."""
        if self.client is None:
            return
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            try:
                future.result(timeout=self.settings.service_timeout)
            except Exception:
                pass
        if self._mailbox is not None:
            self._mailbox.close()
        run = {"label": f"{LABEL}.run={self.run_id}"}
        for container in self.client.containers.list(all=True, filters=run):
            try:
                container.remove(force=True)
            except Exception:
                pass
        for network in self.client.networks.list(filters=run):
            try:
                network.remove()
            except Exception:
                pass
        self._containers.clear()
        self._networks.clear()
        self._mailpit = self._mailbox = None
        self.client.close()
        self.client = None
        atexit.unregister(self.close)


def pds_alias(name: str) -> str:
    """The network alias of PDS ``name`` (``pds-a``)."""
    return f"pds-{name.lower()}"


def _tar_dir(directory: Path, arcname: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(directory, arcname=arcname)
    return buffer.getvalue()


def _extract(chunks: Any, target: Path) -> None:
    buffer = io.BytesIO(b"".join(chunks))
    with tarfile.open(fileobj=buffer) as archive:
        try:
            archive.extractall(target, filter="data")
        except TypeError:  # Python without extraction filters (before 3.10.12)
            archive.extractall(target)  # noqa: S202 - an archive of our own relay's data
