"""Jetstream in the local runtime: built on first use, started on the network's relay."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..jetstream import JETSTREAM, JetstreamService, JetstreamSpec, launch_jetstream
from ..ports import free_port

if TYPE_CHECKING:
    from .runtime import LocalRuntime


def launch(runtime: LocalRuntime, spec: JetstreamSpec, network: Any) -> JetstreamService:
    """Build Jetstream (once, with a progress line) and start it on the network's relay."""
    return runtime.start_program(JETSTREAM, spec.name, "Jetstream", _starter(runtime, spec, network, free_port()))


def relaunch(runtime: LocalRuntime, service: JetstreamService, network: Any) -> JetstreamService:
    """Stop Jetstream and start it again on its data and ports, from the relay cursor it stored (not from 0).

    It keeps the events it sequenced (its event store is in its data
    directory), so subscribers can resume with their ``time_us`` cursor.
    """
    metrics_port = urlsplit(service.metrics_url).port or free_port()
    starter = _starter(runtime, service.spec, network, metrics_port, resume=True)
    return runtime.restart_program(JETSTREAM, service, "Jetstream", starter)


def _starter(
    runtime: LocalRuntime, spec: JetstreamSpec, network: Any, metrics_port: int, *, resume: bool = False
) -> Callable[..., tuple[Any, JetstreamService]]:
    """How Jetstream is started on the relay: a first time, or again from its stored cursor (``resume``)."""
    return lambda binary, service_id, data_dir, log_path, port: launch_jetstream(
        binary,
        spec,
        network.relay,
        service_id=service_id,
        data_dir=data_dir,
        log_path=log_path,
        ports=(port, metrics_port),
        timeout=runtime.settings.service_timeout,
        resume=resume,
    )
