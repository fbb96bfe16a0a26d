"""The PLC directory of a test network (in memory, or on a Postgres container), and the network itself."""

from __future__ import annotations

import shlex
import uuid
from typing import Any

from ...errors import ServiceError
from ...waiting import poll
from ..ports import on_free_port
from ..specs import PlcService
from .cleanup import CleanupMixin
from .images import ImagesMixin

#: How the PLC image starts with an in-memory database (its package's start script).
OFFICIAL_PLC_COMMAND = "yarn run start"
PLC_WORKDIR = "/app/packages/server"
PLC_PORT = 2582
#: The PLC directory's URL inside a test network.
PLC_INTERNAL_URL = f"http://plc:{PLC_PORT}"


class PlcMixin(CleanupMixin, ImagesMixin):
    """A new engine network per test network, and its PLC directory."""

    def start_plc(self) -> PlcService:
        """A new network, and its PLC directory (in memory, or Postgres-backed with ``plc_mode=postgres``)."""
        network = self._api(
            "create a network",
            self.client.networks.create,
            f"atproto-bdd-{self.run_id}-{next(self._network_count)}",
            driver="bridge",
            labels=self.labels(),
        )
        self._networks[network.name] = network
        try:
            if self._mailpit is not None:
                self._api(f"connect Mailpit to {network.name}", network.connect, self._mailpit, aliases=["mailpit"])
                self._note_address(self._mailpit, network.name, "mailpit")
            plc = self._start_plc_containers(network.name)
        except BaseException:
            self._remove_network(network.name)  # what the failed start created, network included
            raise
        return plc

    def _start_plc_containers(self, network: str) -> PlcService:
        """Postgres (if asked for) and the PLC directory on ``network``, healthy."""
        containers = []
        env = {"PORT": str(PLC_PORT), "DEBUG_MODE": "1", "LOG_ENABLED": "true"}
        if self.settings.plc_mode == "postgres":
            postgres = self._run(
                "postgres",
                name=f"{network[-2:]}-plcdb-{uuid.uuid4().hex[:6]}",
                network=network,
                aliases=["plcdb"],
                environment={"POSTGRES_USER": "plc", "POSTGRES_PASSWORD": "plc", "POSTGRES_DB": "plc"},
                tmpfs={"/var/lib/postgresql/data": ""},
            )
            containers.append(postgres)
            self._note_address(postgres, network, "plcdb")
            self._wait_postgres(postgres)
            env["DATABASE_URL"] = "postgres://plc:plc@plcdb:5432/plc"
        command = shlex.split(self.settings.plc_command or OFFICIAL_PLC_COMMAND)

        def start(port: int) -> tuple[Any, int]:
            container = self._run(
                "plc",
                name=f"plc-{uuid.uuid4().hex[:6]}",
                network=network,
                aliases=["plc"],
                command=command,
                working_dir=PLC_WORKDIR,
                environment=env,
                ports={f"{PLC_PORT}/tcp": ("127.0.0.1", port)},
            )
            return container, port

        plc, port = on_free_port(start)
        self._containers[plc.id] = [plc, *containers]
        self._plc_networks[plc.id] = network
        self._note_address(plc, network, "plc")
        url = f"http://127.0.0.1:{port}"
        self._health("the PLC directory", f"{url}/_health", plc)
        return PlcService(id=plc.id, url=url, internal_url=PLC_INTERNAL_URL, network=network)

    def _wait_postgres(self, container: Any) -> None:
        """Wait until Postgres accepts connections."""
        poll(
            lambda: container.exec_run(["pg_isready", "-U", "plc", "-h", "127.0.0.1"]).exit_code == 0,
            timeout=self.settings.service_timeout,
            on_timeout=lambda: ServiceError(
                f"Postgres for the PLC directory did not become ready within {self.settings.service_timeout:g}s; "
                f"its log:\n{self._logs(container)}"
            ),
            interval=0.1,
            max_interval=0.5,
        )
