"""Tap in the local runtime: built on first use, started on the relay, seeing the network's handles."""

from __future__ import annotations

from pathlib import Path

from ..go_install import TAP
from ..handle_dns import HandleDnsOnDemand
from ..specs import (
    RelayService,
    TapService,
    TapSpec,
)
from ..tap import launch_tap


class TapMixin:
    """Starting Tap (a program of our own), with the run's handle DNS where it may run."""

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
