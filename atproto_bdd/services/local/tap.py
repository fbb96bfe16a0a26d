"""Tap in the local runtime: built on first use, started on the relay, seeing the network's handles."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..tap import TAP, TapService, TapSpec, launch_tap

if TYPE_CHECKING:
    from .runtime import LocalRuntime


def launch(runtime: LocalRuntime, spec: TapSpec, network: Any) -> TapService:
    """Build Tap (once, with a progress line) and start it on the network's relay, seeing the network's handles."""
    return runtime.start_program(TAP, spec.name, "Tap", _starter(runtime, spec, network))


def relaunch(runtime: LocalRuntime, service: TapService, network: Any) -> TapService:
    """Stop Tap and start it again on its database and port: its tracked repositories, outbox and relay cursor.

    Tap resumes the relay from the cursor it saved (every second) and skips
    commits it already applied (by revision); events not yet acknowledged
    stay in its outbox and are delivered again.
    """
    return runtime.restart_program(TAP, service, "Tap", _starter(runtime, service.spec, network))


def _starter(runtime: LocalRuntime, spec: TapSpec, network: Any) -> Callable[..., tuple[Any, TapService]]:
    """How Tap is started (a first time, or again): on the relay, seeing the network's handles."""
    resolv_conf = runtime.handle_resolv_conf("Tap")
    return lambda binary, service_id, data_dir, log_path, port: launch_tap(
        binary,
        spec,
        network.relay,
        service_id=service_id,
        data_dir=data_dir,
        log_path=log_path,
        port=port,
        timeout=runtime.settings.service_timeout,
        resolv_conf=resolv_conf,
    )
