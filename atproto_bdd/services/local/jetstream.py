"""Jetstream in the local runtime: built on first use, started on the network's relay."""

from __future__ import annotations

from ..go_install import JETSTREAM
from ..jetstream import launch_jetstream
from ..ports import free_port
from ..specs import (
    JetstreamService,
    JetstreamSpec,
    RelayService,
)


class JetstreamMixin:
    """Starting Jetstream (a program of our own, like the relay)."""

    def start_jetstream(self, spec: JetstreamSpec, relay: RelayService) -> JetstreamService:
        """Build Jetstream (once, with a progress line) and start it on ``relay``."""
        return self._start_program(
            JETSTREAM,
            spec.name,
            "Jetstream",
            lambda binary, service_id, data_dir, log_path, port: launch_jetstream(
                binary,
                spec,
                relay,
                service_id=service_id,
                data_dir=data_dir,
                log_path=log_path,
                ports=(port, free_port()),
                timeout=self.settings.service_timeout,
            ),
        )
