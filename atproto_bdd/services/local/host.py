"""The local runtime's Node host: the long-lived process the PLC directories and PDSes run in."""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path
from typing import Any

from ...errors import ServiceError
from ...protocol.warm_up import warm_up as warm_up_clients
from ..host_prestart import claim as claim_prestarted
from ..node_host import NodeHost
from ..node_install import ensure_node_services
from ..run_root import run_root


class HostMixin:
    """Launching the host (or claiming the one launched while behave loaded), calls into it, its log."""

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

    def _call(self, cmd: str, args: dict[str, Any], what: str = "") -> dict[str, Any]:
        try:
            return self.host.call(cmd, args, timeout=self.settings.service_timeout)
        except ServiceError as exc:
            raise ServiceError(f"could not start {what or cmd}: {exc}") from None

    def host_log_tail(self, lines: int = 20) -> str:
        """The last lines of the host's own log and the services' shared log."""
        return self._host.log_tail(lines) if self._host else ""

    def settle_stops(self) -> None:
        """Wait for the services stopping in the background (a stop that failed has nothing left to wait for)."""
        with self._lock:
            pending, self._pending_stops = self._pending_stops, []
        for future in pending:
            try:
                future.result(timeout=self.settings.service_timeout)
            except Exception:  # the service is gone either way; a restore that needs its port says so
                pass

    def _host_exited(self, reason: str) -> None:
        """The host's reader saw it exit (closed, or died): the relays must not outlive it."""
        with self._lock:
            self._host_dead = True
        self._stop_processes()
