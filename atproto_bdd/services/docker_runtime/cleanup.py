"""Removing containers and networks: a stopped service's, a test network's, a run's, a crashed run's.

Every container of a test network carries that network's label, and stopping
the network's PLC directory (the last service a network stops) removes every
container so labelled before the network itself: whatever a scenario started,
and whether or not the world knew about it, nothing of it stays up.
"""

from __future__ import annotations

import atexit
import os
import socket
from typing import Any

from .engine import LABEL, NETWORK_LABEL, EngineMixin, _force_remove


class CleanupMixin(EngineMixin):
    """Stopping services, dropping networks, closing the run, and clearing crashed runs' leftovers."""

    def _remove_leftovers(self) -> None:
        """Remove what runs on this machine left behind when they crashed (their process is gone)."""
        here = socket.gethostname()

        def orphaned(labels: dict[str, str]) -> bool:
            if labels.get(f"{LABEL}.host") != here or labels.get(f"{LABEL}.run") == self.run_id:
                return False
            try:
                os.kill(int(labels.get(f"{LABEL}.pid", "0")), 0)
            except (ProcessLookupError, ValueError):
                return True
            except PermissionError:
                return False
            return False

        _remove_all(c for c in self._list(LABEL) if orphaned(c.attrs.get("Labels") or {}))
        for network in self.client.networks.list(filters={"label": LABEL}):
            if orphaned(network.attrs.get("Labels") or {}):
                _quietly(network.remove)

    def stop(self, service_id: str, *, wait: bool = True) -> None:
        """Remove a service's containers (and, for a PLC directory, every container of its network and the network)."""
        future = self._stopper.submit(self._remove, service_id)
        if wait:
            future.result(timeout=self.settings.service_timeout)
        else:
            with self._lock:
                self._pending = [f for f in self._pending if not f.done()] + [future]

    def _remove(self, service_id: str) -> None:
        """Remove ``service_id``'s containers; a PLC directory takes its whole network with it."""
        _remove_all(self._containers.pop(service_id, []))
        self._service_networks.pop(service_id, None)
        network = self._plc_networks.pop(service_id, None)
        if network is not None:
            self._remove_network(network)

    def _remove_network(self, name: str) -> None:
        """Remove every container labelled with network ``name`` (Mailpit leaves it), then the network."""
        self._api(
            f"list the containers of network {name}",
            lambda: _remove_all(self._list(f"{NETWORK_LABEL}={name}")),
        )
        self._hosts.pop(name, None)
        network = self._networks.pop(name, None)
        if network is None:
            return
        if self._mailpit is not None:
            _quietly(network.disconnect, self._mailpit, force=True)
        _quietly(network.remove)

    def close(self) -> None:
        """Remove every container and network of this run."""
        if self.client is None:
            return
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            _quietly(future.result, timeout=self.settings.service_timeout)
        self._close_mail()
        _quietly(lambda: _remove_all(self._list(f"{LABEL}.run={self.run_id}")))
        for network in self.client.networks.list(filters={"label": f"{LABEL}.run={self.run_id}"}):
            _quietly(network.remove)
        self._containers.clear()
        self._networks.clear()
        self._plc_networks.clear()
        self._service_networks.clear()
        self._hosts.clear()
        self.client.close()
        self.client = None
        atexit.unregister(self.close)

    def _close_mail(self) -> None:  # pragma: no cover - MailMixin's
        """Close the mail capture's client (see MailMixin)."""


def _remove_all(containers: Any) -> None:
    """Force-remove ``containers``, those sharing another's network namespace (the relay) first."""

    def dependent(container: Any) -> bool:
        mode = ((container.attrs or {}).get("HostConfig") or {}).get("NetworkMode") or ""
        return mode.startswith("container:")

    for container in sorted(containers, key=lambda c: not dependent(c)):
        _force_remove(container)


def _quietly(call: Any, *args: Any, **kwargs: Any) -> None:
    """Call a clean-up step whose failure (the object is already gone) must not stop the others."""
    try:
        call(*args, **kwargs)
    except Exception:
        pass
