"""The relay in the local runtime: the indigo relay, built on first use, started with a row for every PDS."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ...errors import ServiceError
from ...masking import masker
from ...waiting import poll
from ..go_install import ensure_relay
from ..ports import free_port, on_free_port
from ..processes import ManagedProcess
from ..relay import ensure_relay_template, launch_relay
from ..relay_config import relay_environment
from ..relay_db import add_hosts, copy_database
from ..specs import (
    PdsService,
    PlcService,
    RelayService,
    RelaySpec,
    hostname_of,
)


class RelayMixin:
    """Starting the relay, and restarting it to crawl more PDSes."""

    def start_relay(self, spec: RelaySpec, plc: PlcService, pdses: Sequence[PdsService]) -> RelayService:
        """Build (once, with a progress line) and start the indigo relay with a ``host`` row for every PDS."""
        binary = ensure_relay(self.settings.cache_dir, go=self.settings.go)
        template = ensure_relay_template(binary, self.settings.cache_dir, timeout=self.settings.service_timeout)
        data_dir = self.host.run_dir / "data" / f"{spec.name}-{os.urandom(4).hex()}"
        copy_database(template, data_dir / "relay.sqlite")
        hosts = tuple(hostname_of(pds.url) for pds in pdses)
        add_hosts(data_dir / "relay.sqlite", hosts)
        service_id = f"{spec.name}-{next(self._program_ids)}"
        return on_free_port(
            lambda api: self._launch_relay(
                service_id, binary, spec, plc.url, data_dir, hosts, (api, free_port()), pdses
            )
        )

    def relay_crawl(self, relay: RelayService, pdses: Sequence[PdsService], *, restart: bool = False) -> RelayService:
        """Restart the relay with rows for the new PDSes (its data, cursors and ports are kept)."""
        new = [pds for pds in pdses if hostname_of(pds.url) not in relay.hosts]
        if not new and not restart:
            return relay
        self.stop(relay.id, wait=True)
        hosts = relay.hosts + tuple(hostname_of(pds.url) for pds in new)
        add_hosts(relay.data_dir / "relay.sqlite", hosts)
        binary = ensure_relay(self.settings.cache_dir, go=self.settings.go)
        # Same ports: clients hold the relay's URL. Go listens with SO_REUSEADDR,
        # so only another program taking the port in this instant fails it.
        return self._launch_relay(
            relay.id, binary, relay.spec, relay.plc_url, relay.data_dir, hosts, relay.ports, pdses
        )

    def _launch_relay(
        self,
        service_id: str,
        binary: Path,
        spec: RelaySpec,
        plc_url: str,
        data_dir: Path,
        hosts: tuple[str, ...],
        ports: tuple[int, int],
        pdses: Sequence[PdsService],
    ) -> RelayService:
        env = relay_environment(
            data_dir,
            api_bind=f"127.0.0.1:{ports[0]}",
            metrics_listen=f"127.0.0.1:{ports[1]}",
            admin_password=spec.admin_password,
            plc_url=plc_url,
            log_level=self.settings.log_level,
        )
        url = f"http://127.0.0.1:{ports[0]}"
        log_path = self.host.run_dir / "logs" / f"{service_id}.log"
        try:
            process = launch_relay(
                binary,
                env,
                data_dir=data_dir,
                log_path=log_path,
                api_url=url,
                what="the relay",
                timeout=self.settings.service_timeout,
                ready=lambda process: self._wait_subscribed(process, pdses),
            )
        except OSError as exc:  # the binary could not be run at all
            raise ServiceError(f"could not start the relay ({binary}): {exc}") from None
        self._adopt(service_id, process, log_path, "the relay")
        return RelayService(service_id, spec, url, plc_url, hosts, data_dir, ports, log_path, process.pid)

    def _wait_subscribed(self, relay: ManagedProcess, pdses: Sequence[PdsService]) -> None:
        """Wait until the relay holds a subscription on every PDS (seen from the PDS's side)."""
        waiting = list(pdses)

        def subscribed_to_all() -> bool:
            if not relay.alive():
                raise ServiceError(
                    f"the relay exited while subscribing; its log ends with:\n{masker.mask(relay.log_tail(20))}"
                )
            while waiting:
                agents = self._call("service.subscribers", {"id": waiting[0].id})["subscribers"]
                if not any(agent.startswith("indigo-relay") for agent in agents):
                    return False
                waiting.pop(0)
            return True

        poll(
            subscribed_to_all,
            timeout=self.settings.service_timeout,
            on_timeout=lambda: ServiceError(
                f"the relay did not subscribe to PDS {waiting[0].name} within {self.settings.service_timeout:g}s; "
                f"its log ends with:\n{masker.mask(relay.log_tail(20)) or '(empty)'}"
            ),
            interval=0.02,
            max_interval=0.1,
        )
