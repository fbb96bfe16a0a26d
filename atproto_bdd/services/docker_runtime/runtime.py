"""The Docker runtime: the engine, clean-up, images and each service's mixin, composed."""

from __future__ import annotations

from ..runtime import Runtime
from .app import AppMixin
from .email import MailMixin
from .pds import PdsMixin
from .plc import PlcMixin
from .relay import RelayMixin


class DockerRuntime(PlcMixin, PdsMixin, RelayMixin, MailMixin, AppMixin, Runtime):
    """Runs the network's services as containers of a Docker-compatible engine on this machine.

    Which part does what: ``engine`` (connecting, labels, starting containers,
    errors, logs, health), ``cleanup`` (stopping services, networks, the run,
    crashed runs' leftovers), ``images``, ``plc`` (with Postgres), ``pds``,
    ``relay`` (with its forwarder), ``email`` (Mailpit) and ``app`` (apps
    under test that name an image).
    """

    name = "docker"

    def start(self) -> None:
        """Connect to the engine (``docker_host`` setting, else ``DOCKER_HOST``) and clear crashed runs' leftovers."""
        if self.client is not None:
            return
        self._connect()
        self._remove_leftovers()

    def log_tail(self, service_id: str, lines: int = 20) -> str:
        """The last lines of a service's container log."""
        containers = self._containers.get(service_id)
        return self._logs(containers[0], lines) if containers else ""
