"""Toxiproxy in the local runtime: built on first use, started in the network."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..toxiproxy import TOXIPROXY, ToxiproxyService, ToxiproxySpec, launch_toxiproxy

if TYPE_CHECKING:
    from .runtime import LocalRuntime


def launch(runtime: LocalRuntime, spec: ToxiproxySpec, network: Any) -> ToxiproxyService:
    """Build Toxiproxy (once, with a progress line) and start it on a free loopback port."""
    return runtime.start_program(
        TOXIPROXY,
        spec.name,
        "Toxiproxy",
        lambda binary, service_id, data_dir, log_path, port: launch_toxiproxy(
            binary,
            spec,
            service_id=service_id,
            data_dir=data_dir,
            log_path=log_path,
            port=port,
            timeout=runtime.settings.service_timeout,
        ),
    )
