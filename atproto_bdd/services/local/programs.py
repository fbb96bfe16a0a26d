"""Programs of the local runtime's own (the relay, Jetstream, Tap): started, kept, stopped with the run.

The launchers of the services that are programs (``local/jetstream.py``,
``local/tap.py``) start them through :meth:`ProgramsMixin.start_program`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ...errors import ServiceError
from ..go_install import GoTool, ensure_tool
from ..handle_dns import HandleDnsOnDemand
from ..ports import on_free_port
from ..processes import ManagedProcess
from ..relay import RELAY_STOP_GRACE

T = TypeVar("T")


class ProgramsMixin:
    """The programs that run beside the host: our children, tied to this process by a parent-death signal."""

    def start_program(
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

    def restart_program(
        self,
        tool: GoTool,
        service: Any,
        what: str,
        launch: Callable[[Path, str, Path, Path, int], tuple[ManagedProcess, T]],
    ) -> T:
        """Stop the program ``service`` runs (SIGTERM: it saves its state) and launch it again on its data and port.

        ``launch`` gets the same service id, data directory, log (appended
        to) and port (``service.url``'s) as the first start, so its clients
        find it where they did. A program that already exited is just started
        again. Fails (a :class:`ServiceError`) if the port was taken meanwhile.
        """
        with self._lock:
            running = service.id in self._processes
        if running:
            self.stop(service.id, wait=True)
        port = urlsplit(service.url).port
        if port is None:
            raise ServiceError(f"{what} has no port in its URL {service.url}: it cannot restart on it")
        binary = ensure_tool(self.settings.cache_dir, tool, go=self.settings.go)
        log_path = service.log_path or self.host.run_dir / "logs" / f"{service.id}.log"
        try:
            process, restarted = launch(binary, service.id, service.data_dir, log_path, port)
        except OSError as exc:  # the binary could not be run at all
            raise ServiceError(f"could not start {what} again ({binary}): {exc}") from None
        self._adopt(service.id, process, log_path, what)
        return restarted

    def handle_resolv_conf(self, tool: str) -> Path | None:
        """A resolv.conf naming the run's handle DNS (started on first use) for ``tool``; None where it cannot run."""
        with self._lock:
            if self._handle_dns is None:
                self._handle_dns = HandleDnsOnDemand(self._live_pds_urls, self.host.run_dir / "dns")
        return self._handle_dns.resolv_conf_for(tool)

    def _adopt(self, service_id: str, process: ManagedProcess, log_path: Path, what: str) -> None:
        """Keep a started program with the runtime's others; stop it if the host died meanwhile."""
        with self._lock:
            self._processes[service_id] = process
            host_gone = self._host is None or self._host_dead
        self._log_paths[service_id] = log_path
        if host_gone:  # it must not outlive the host
            self._stop_processes()
            raise ServiceError(f"the network host exited while {what} started")

    def _stop_processes(self) -> None:
        """Stop every program the runtime runs outside the host (relays), in parallel."""
        with self._lock:
            processes = list(self._processes.values()) + self._stopping
            self._processes, self._stopping = {}, []
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.stop(RELAY_STOP_GRACE)
