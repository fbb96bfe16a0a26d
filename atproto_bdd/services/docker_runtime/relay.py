"""The relay container, beside a forwarder that reaches PDSes at their ``localhost:PORT`` URLs.

The relay dials PDSes at the URLs of their DID documents
(``http://localhost:PORT``); it shares a network namespace with a small
forwarder (``forwarder.js``, run from the PDS image) that connects each
``localhost:PORT`` to its PDS's container. Its database is prepared with one
host row per PDS before it starts, from a template the relay image created
itself (once per image), as in the local runtime.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import ServiceError
from ...waiting import poll
from ..ports import on_free_port
from ..relay_config import relay_environment, store_template
from ..relay_db import add_hosts
from ..specs import PdsService, PlcService, RelayService, RelaySpec, hostname_of
from .cleanup import CleanupMixin
from .engine import _force_remove
from .images import ImagesMixin
from .pds import pds_alias
from .plc import PLC_INTERNAL_URL

RELAY_PORT = 2470
RELAY_METRICS_PORT = 2471
#: Where the relay keeps its data inside its container.
RELAY_DATA = PurePosixPath("/data")
FORWARDER = (Path(__file__).parent / "forwarder.js").read_text()


class RelayMixin(CleanupMixin, ImagesMixin):
    """Starting the relay of a test network, and making it crawl more PDSes."""

    def start_relay(self, spec: RelaySpec, plc: PlcService, pdses: Sequence[PdsService]) -> RelayService:
        """The relay, with host rows for ``pdses``, beside a forwarder that reaches them."""
        template = self._relay_template(plc)
        with tempfile.TemporaryDirectory(prefix="atproto-bdd-relay-") as data:
            database = Path(data) / "relay.sqlite"
            database.write_bytes(template)
            hosts = tuple(hostname_of(pds.url) for pds in pdses)
            add_hosts(database, hosts)
            return on_free_port(
                lambda port: self._launch_relay(spec, plc.network, plc.url, Path(data), hosts, pdses, port)
            )

    def relay_crawl(self, relay: RelayService, pdses: Sequence[PdsService], *, restart: bool = False) -> RelayService:
        """Stop the relay, add host rows to its database, start it again with its data (same port)."""
        new = [pds for pds in pdses if hostname_of(pds.url) not in relay.hosts]
        if not new and not restart:
            return relay
        relay_container = self._containers[relay.id][0]
        network = self._service_networks[relay.id]
        self._api("stop the relay", relay_container.stop, timeout=10)
        with tempfile.TemporaryDirectory(prefix="atproto-bdd-relay-") as tmp:
            data = Path(tmp)
            _extract(self._api("copy the relay's data", relay_container.get_archive, str(RELAY_DATA))[0], data)
            self._remove(relay.id)
            hosts = relay.hosts + tuple(hostname_of(pds.url) for pds in new)
            add_hosts(data / "data" / "relay.sqlite", hosts)
            return self._launch_relay(relay.spec, network, relay.plc_url, data / "data", hosts, pdses, relay.ports[0])

    def _launch_relay(
        self,
        spec: RelaySpec,
        network: str,
        plc_url: str,
        data: Path,
        hosts: tuple[str, ...],
        pdses: Sequence[PdsService],
        port: int,
    ) -> RelayService:
        """The forwarder (publishing ``port``) and the relay in its namespace, subscribed to every PDS."""
        forward = ",".join(f"{pds.port}={pds_alias(pds.name)}:{pds.port}" for pds in pdses)
        forwarder = self._run(
            "pds",
            name=f"relay-net-{uuid.uuid4().hex[:6]}",
            network=network,
            aliases=["relay"],
            entrypoint=["node", "-e", FORWARDER],
            command=[],
            environment={"FORWARD": forward},
            ports={f"{RELAY_PORT}/tcp": ("127.0.0.1", port)},
        )
        with self._removed_on_error(forwarder) as created:
            relay = self._api(
                "create the relay container",
                self.client.containers.create,
                self._ensure_image("relay"),
                name=f"atproto-bdd-{self.run_id}-relay-{uuid.uuid4().hex[:6]}",
                labels=self.labels(network),
                environment=self._relay_env(spec.admin_password),
                network_mode=f"container:{forwarder.id}",
            )
            created.append(relay)
            self._api("copy the relay's data in", relay.put_archive, "/", _tar_dir(data, "data"))
            self._api("start the relay container", relay.start)
            url = f"http://127.0.0.1:{port}"
            self._health("the relay", f"{url}/xrpc/_health", relay)
            self._wait_upgraded(relay, forwarder, pdses)
        self._containers[relay.id] = [relay, forwarder]
        self._service_networks[relay.id] = network
        return RelayService(relay.id, spec, url, plc_url, hosts, Path("/data"), (port, 0), None, None)

    def _relay_env(self, admin_password: str) -> dict[str, str]:
        """The relay's configuration inside its container (shared with the local runtime)."""
        return relay_environment(
            RELAY_DATA,
            api_bind=f":{RELAY_PORT}",
            metrics_listen=f"127.0.0.1:{RELAY_METRICS_PORT}",
            admin_password=admin_password,
            plc_url=PLC_INTERNAL_URL,
            log_level=self.settings.log_level,
        )

    def _wait_upgraded(self, relay: Any, forwarder: Any, pdses: Sequence[PdsService]) -> None:
        """Wait until the relay's subscription to every PDS went through the forwarder."""

        def missing() -> list[PdsService]:
            log = forwarder.logs().decode("utf-8", "replace")
            return [pds for pds in pdses if f"upgraded {pds.port}" not in log]

        def timed_out() -> ServiceError:
            late = missing()
            return ServiceError(
                f"the relay did not subscribe to PDS {late[0].name if late else '?'} within "
                f"{self.settings.service_timeout:g}s; its log ends with:\n{self._logs(relay)}"
            )

        poll(lambda: not missing(), timeout=self.settings.service_timeout, on_timeout=timed_out, interval=0.02)

    def _relay_template(self, plc: PlcService) -> bytes:
        """The relay database its own image creates, once per image."""
        image = self.client.images.get(self._ensure_image("relay"))
        template = self.settings.cache_dir / "docker" / f"relay-{image.id.split(':')[-1][:16]}.template.sqlite"
        if not template.exists():

            def start(port: int) -> tuple[Any, int]:
                container = self._run(
                    "relay",
                    name=f"relay-template-{uuid.uuid4().hex[:6]}",
                    network=plc.network,
                    environment=self._relay_env("template"),
                    ports={f"{RELAY_PORT}/tcp": ("127.0.0.1", port)},
                )
                return container, port

            container, port = on_free_port(start)
            try:
                self._health(
                    "the relay (creating its database template)", f"http://127.0.0.1:{port}/xrpc/_health", container
                )
                container.stop(timeout=10)
                with tempfile.TemporaryDirectory() as tmp:
                    _extract(container.get_archive(str(RELAY_DATA))[0], Path(tmp))
                    store_template(Path(tmp) / "data" / "relay.sqlite", template)
            finally:
                _force_remove(container)
        return template.read_bytes()


def _tar_dir(directory: Path, arcname: str) -> bytes:
    """A tar of ``directory`` under ``arcname``, for put_archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(directory, arcname=arcname)
    return buffer.getvalue()


def _extract(chunks: Any, target: Path) -> None:
    """Unpack a get_archive stream into ``target``."""
    buffer = io.BytesIO(b"".join(chunks))
    with tarfile.open(fileobj=buffer) as archive:
        try:
            archive.extractall(target, filter="data")
        except TypeError:  # Python without extraction filters (before 3.10.12)
            archive.extractall(target)  # noqa: S202 - an archive of our own relay's data
