"""Jetstream in the local runtime: built on first use, started on the network's relay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..jetstream import JETSTREAM, JetstreamService, JetstreamSpec, launch_jetstream
from ..ports import free_port

if TYPE_CHECKING:
    from .runtime import LocalRuntime


def launch(runtime: LocalRuntime, spec: JetstreamSpec, network: Any) -> JetstreamService:
    """Build Jetstream (once, with a progress line) and start it on the network's relay."""
    return runtime.start_program(
        JETSTREAM,
        spec.name,
        "Jetstream",
        lambda binary, service_id, data_dir, log_path, port: launch_jetstream(
            binary,
            spec,
            network.relay,
            service_id=service_id,
            data_dir=data_dir,
            log_path=log_path,
            ports=(port, free_port()),
            timeout=runtime.settings.service_timeout,
        ),
    )
