"""PDS containers: each listens inside its container on the port it is published on, as ``localhost``."""

from __future__ import annotations

import uuid
from typing import Any

from ...errors import UsageError
from ..ports import on_free_port
from ..specs import PdsService, PdsSpec, PlcService
from .cleanup import CleanupMixin
from .engine import check_name_resolution
from .images import ImagesMixin


def pds_alias(name: str) -> str:
    """The network alias of PDS ``name`` (``pds-a``)."""
    return f"pds-{name.lower()}"


class PdsMixin(CleanupMixin, ImagesMixin):
    """Starting PDS containers on a test network."""

    def start_pds(self, spec: PdsSpec, plc: PlcService) -> PdsService:
        """A PDS container listening on the port it is published on (127.0.0.1), as ``localhost``."""

        def start(port: int) -> tuple[Any, int]:
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
            return container, port

        container, port = on_free_port(start)
        url = f"http://localhost:{port}"
        with self._removed_on_error(container):
            self._health(f"PDS {spec.name}", f"{url}/xrpc/_health", container)
            if not self._names_resolve:
                check_name_resolution(container, "plc", plc.network)
                self._names_resolve = True
        self._containers[container.id] = [container]
        self._note_address(container, plc.network, pds_alias(spec.name))
        return PdsService(container.id, spec, url, port, f"did:web:localhost%3A{port}", plc.url)

    def restart_pds(self, pds: PdsService) -> PdsService:
        """Refused: a PDS container keeps its data on a tmpfs, which a container restart empties."""
        raise UsageError(
            f"the docker runtime cannot restart PDS {pds.name} keeping its data (the container keeps it on a tmpfs, "
            "which a restart empties): restarting a PDS is for the embedded runtime only (-D runtime=local)"
        )
