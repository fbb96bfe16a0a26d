"""The engine connection: connecting, labels, starting containers, engine errors, logs, health.

Every other part of the Docker runtime talks to the engine through these
helpers, so that an engine error always becomes a :class:`ServiceError` saying
what failed, and a container that fails to start never outlives the error.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import itertools
import os
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ...errors import InstallError, ServiceError, UsageError
from ...masking import masker
from ...settings import Settings
from ..health import wait_until_healthy

#: Label prefix of every object the runtime creates.
LABEL = "dev.atproto-bdd"
#: The label naming the engine network (one per test network) a container belongs to.
NETWORK_LABEL = f"{LABEL}.network"
#: Engine URL schemes that always name this machine.
LOCAL_SCHEMES = ("unix", "npipe")


def engine_url(settings: Settings) -> str:
    """The engine the settings name (``docker_host``, else ``DOCKER_HOST``), or ``""`` for the default socket."""
    return settings.docker_host or os.environ.get("DOCKER_HOST", "")


def is_remote(url: str) -> bool:
    """Whether the engine at ``url`` runs on another host (a tcp/ssh/http URL not on loopback)."""
    if not url:
        return False
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return False
    host = parsed.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name other than localhost: another machine, as far as we can tell


def check_name_resolution(container: Any, name: str, network: str) -> None:
    """Fail unless ``container`` (one with Node.js) resolves ``name`` on ``network``.

    Without a DNS-capable network backend (podman's CNI without the dnsname
    plugin) containers start fine but cannot reach each other by alias, and
    every scenario would fail later with an obscure upstream error.
    """
    script = f"require('dns').lookup({name!r}, (e) => process.exit(e ? 1 : 0))"
    result = container.exec_run(["node", "-e", script])
    if result.exit_code != 0:
        raise ServiceError(
            f"containers on network {network} cannot resolve each other by name (the PDS container cannot resolve "
            f"{name!r}): on podman install netavark and aardvark-dns (or the CNI dnsname plugin); on Docker use a "
            "user-defined bridge network"
        )


class EngineMixin:
    """The engine client and the low-level operations every service uses."""

    name = "docker"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self.run_id = uuid.uuid4().hex[:12]
        self.client: Any = None
        self._networks: dict[str, Any] = {}
        self._containers: dict[str, list[Any]] = {}  # service id -> its containers, main one first
        self._service_networks: dict[str, str] = {}  # service id -> the engine network it runs on
        self._plc_networks: dict[str, str] = {}  # PLC id -> its network (stopping the PLC drops it)
        self._network_count = itertools.count(1)
        self._names_resolve = False  # containers were seen to resolve each other by name (once per run)
        # Network -> {alias: address} of its containers, written into the /etc/hosts of each
        # container started later on it (see _run).
        self._hosts: dict[str, dict[str, str]] = {}
        self._mailpit: Any = None
        self._mailbox: Any = None
        self._stopper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="atproto-bdd-docker-stop")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def labels(self, network: str | None = None) -> dict[str, str]:
        """Labels every object of this run carries (and, for a test network's container, that network)."""
        labels = {
            LABEL: "1",
            f"{LABEL}.run": self.run_id,
            f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.pid": str(os.getpid()),
        }
        if network is not None:
            labels[NETWORK_LABEL] = network
        return labels

    def _connect(self) -> None:
        """Connect to the engine; fail at once, saying where it looked, if it is remote or unreachable."""
        try:
            import docker
        except ImportError:
            raise InstallError(
                "the Docker runtime needs the docker package, which atproto-bdd installs with itself but is missing "
                "here: reinstall atproto-bdd (pip install --force-reinstall atproto-bdd)"
            ) from None
        url = engine_url(self.settings)
        if is_remote(url):
            # Ports are published on the engine host's 127.0.0.1 and PDSes call themselves
            # http://localhost:PORT: nothing of that is reachable from another machine.
            raise UsageError(
                f"the Docker runtime supports only an engine on this machine, not {url}: it publishes every "
                "service's port on the engine host's 127.0.0.1. Use a local engine (unix socket or a loopback "
                "tcp:// address), or the local runtime: -D runtime=local"
            )
        try:
            client = docker.DockerClient(base_url=url, timeout=60) if url else docker.from_env(timeout=60)
            client.ping()
        except Exception as exc:  # the SDK raises several unrelated types here
            raise ServiceError(
                f"Docker is not reachable at {url or 'the default socket'} ({type(exc).__name__}: {exc}). Start a "
                "Docker engine, set DOCKER_HOST (or -D docker_host=...) to a reachable one, or use the local "
                "runtime: -D runtime=local"
            ) from None
        self.client = client
        atexit.register(self.close)

    def close(self) -> None:  # pragma: no cover - CleanupMixin's
        """Remove everything of this run (see CleanupMixin)."""
        raise NotImplementedError

    def _ensure_image(self, service: str) -> str:  # pragma: no cover - ImagesMixin's
        """The image of ``service`` (see ImagesMixin)."""
        raise NotImplementedError

    def _ensure_named_image(self, name: str, service: str) -> str:  # pragma: no cover - ImagesMixin's
        """The image ``name`` for ``service`` (see ImagesMixin)."""
        raise NotImplementedError

    def _api(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the engine; its errors become a ServiceError saying what failed (no traceback)."""
        from docker.errors import DockerException

        try:
            return call(*args, **kwargs)
        except DockerException as exc:
            explanation = getattr(exc, "explanation", None) or str(exc)
            raise ServiceError(f"could not {what}: {explanation}") from None

    def _run(
        self,
        service: str,
        *,
        name: str,
        network: str | None,
        aliases: Sequence[str] = (),
        labels: dict[str, str] | None = None,
        image: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Create and start a labelled container of ``service``'s image, on ``network`` as ``aliases``.

        The container's /etc/hosts names every container already on ``network``
        (``plc``, ``pds-a``, ``mailpit``): name resolution then does not depend
        on the engine's DNS, which on podman 4.3 (aardvark-dns 1.4) drops
        queries while it reloads - and it reloads whenever any container or
        network comes or goes, as they do all the time in a test run.

        A container whose start fails (a taken port, say) is removed before the
        error propagates, so a retry on another port leaves nothing behind.
        """
        image = self._ensure_image(service) if image is None else self._ensure_named_image(image, service)
        if network is not None and "network_mode" not in kwargs:
            endpoint = self.client.api.create_endpoint_config(aliases=list(aliases))
            kwargs.update(network=network, networking_config={network: endpoint})
            kwargs.setdefault("extra_hosts", dict(self._hosts.get(network, {})))
        container = self._api(
            f"create the {service} container",
            self.client.containers.create,
            image,
            name=f"atproto-bdd-{self.run_id}-{name}",
            labels=labels if labels is not None else self.labels(network),
            **kwargs,
        )
        with self._removed_on_error(container):
            self._api(f"start the {service} container", container.start)
        return container

    @contextlib.contextmanager
    def _removed_on_error(self, *containers: Any) -> Iterator[list[Any]]:
        """Remove ``containers`` (and those appended to the yielded list) if the block raises."""
        created = list(containers)
        try:
            yield created
        except BaseException:
            for container in reversed(created):  # dependents (the relay) were appended after what they need
                _force_remove(container)
            raise

    def _note_address(self, container: Any, network: str, alias: str) -> None:
        """Remember ``container``'s address on ``network`` as ``alias``, for the hosts of later containers."""
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        if not address:
            raise ServiceError(f"the engine gave container {container_name(container)} no address on {network}")
        self._hosts.setdefault(network, {})[alias] = address

    def _list(self, label: str) -> list[Any]:
        """Every container (any state) with ``label`` (``key`` or ``key=value``), as sparse objects.

        Sparse: the full listing inspects each container after listing it, and
        fails when a concurrent clean-up removed one in between.
        """
        return self.client.containers.list(all=True, sparse=True, filters={"label": label})

    def _health(self, what: str, url: str, container: Any) -> None:
        """Wait until ``url`` answers 200; fail at once if the container exits."""

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
        """The last ``lines`` of a container's log, secrets masked ("" for a removed container)."""
        try:
            return masker.mask(container.logs(tail=lines).decode("utf-8", "replace"))
        except Exception:  # a removed container has no logs
            return ""


def container_name(container: Any) -> str:
    """A container's name, from a full or a sparse object."""
    names = container.attrs.get("Names") or [container.attrs.get("Name") or ""]
    return names[0].lstrip("/")


def _force_remove(container: Any) -> None:
    """Remove a container, running or not; one that is already gone is fine."""
    try:
        container.remove(force=True)
    except Exception:  # already removed (by a concurrent clean-up, or the engine)
        pass
