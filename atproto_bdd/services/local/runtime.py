"""The embedded local runtime: services run in one Node host process (and programs of our own), no Docker."""

from __future__ import annotations

import atexit
import itertools
import shutil
import signal
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ...masking import masker
from ...settings import Settings
from ..appview import LocalAppViews
from ..email import MailCapture
from ..handle_dns import HandleDnsOnDemand
from ..lexicons import LexiconValidator
from ..node_host import NodeHost
from ..processes import ManagedProcess
from ..relay import RELAY_STOP_GRACE
from ..runtime import Runtime
from ..toolchain import tail
from .appview import AppViewMixin
from .email import EmailMixin
from .host import HostMixin
from .pds import PdsMixin
from .programs import ProgramsMixin
from .relay import RelayMixin


class LocalRuntime(HostMixin, PdsMixin, ProgramsMixin, RelayMixin, AppViewMixin, EmailMixin, Runtime):
    """Runs PLC directories and PDSes inside a long-lived Node host on 127.0.0.1.

    Installs the pinned Node services into the cache on first use, and builds
    the relay the first time a relay starts. Everything it starts stops on
    :meth:`close`, at interpreter exit, and when this process dies: the host
    watches its stdin, and the relays (our children) have a parent-death
    signal. Relays also stop when the host dies on its own.

    Which part does what, one module each: ``host`` (the Node host), ``pds``
    (PLC directories, PDSes, snapshots), ``programs`` (the programs of our
    own: their registry and stops), ``relay``, ``appview`` and ``email``.
    The services the registry starts through launchers (Jetstream, Tap) have
    theirs in ``local/<name>.py`` (:meth:`Runtime.launch`).
    """

    name = "local"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self.run_dir: Path | None = None
        self.versions: dict[str, str] = {}
        self._host: NodeHost | None = None
        self._log_paths: dict[str, Path] = {}
        self._pending_stops: list[Future[dict[str, Any]]] = []
        self._mail: MailCapture | None = None
        self._lock = threading.Lock()
        # Programs of their own (relays) are our children, not the host's: a
        # parent-death signal ties them to this process; see processes.py.
        self._processes: dict[str, ManagedProcess] = {}
        self._stopping: list[ManagedProcess] = []
        self._program_ids = itertools.count(1)
        self._host_dead = False
        self._appviews: LocalAppViews | None = None
        self._appview_wanted = False
        #: The running PDSes' URLs by service id: where the handle DNS asks who hosts a handle.
        self._pds_urls: dict[str, str] = {}
        self._handle_dns: HandleDnsOnDemand | None = None
        #: The lexicons loaded into the host (their ids and files) and their validator (services/lexicons.py).
        self._lexicons: tuple[tuple[tuple[str, str], ...], LexiconValidator] | None = None
        #: Whether the host was launched while behave loaded (``prestart``), not by :meth:`start`.
        self.prestarted = False

    def stop(self, service_id: str, *, wait: bool = True) -> None:
        """Stop a service (in the host, or a program of its own such as the relay)."""
        if self._appviews is not None and self._appviews.owns(service_id):
            self._appviews.stop(service_id, wait=wait)
            return
        with self._lock:
            self._pds_urls.pop(service_id, None)
            process = self._processes.pop(service_id, None)
        if process is not None:
            if wait:
                process.stop(RELAY_STOP_GRACE)
            else:  # SIGTERM now; close() reaps it (and kills it if it lingers)
                process.send_signal(signal.SIGTERM)
                with self._lock:
                    self._stopping = [p for p in self._stopping if p.alive()] + [process]
            return
        if self._host is None:
            return
        future = self._host.submit("service.stop", {"id": service_id})
        if wait:
            future.result(timeout=self.settings.service_timeout)
        else:
            with self._lock:
                self._pending_stops = [f for f in self._pending_stops if not f.done()] + [future]

    def log_tail(self, service_id: str, lines: int = 20) -> str:
        """The last lines of a service's access log."""
        if self._appviews is not None and self._appviews.owns(service_id):
            return masker.mask(self._appviews.log_tail(service_id, lines))
        path = self._log_paths.get(service_id)
        return masker.mask(tail(path, lines)) if path else ""

    def close(self) -> None:
        """Stop all services and the host, and remove the run directory."""
        mail, self._mail = self._mail, None
        if mail is not None:
            mail.close()
        appviews, self._appviews = self._appviews, None
        if appviews is not None:
            appviews.close()
        self._stop_processes()
        dns, self._handle_dns = self._handle_dns, None
        if dns is not None:
            dns.close()
        host, self._host = self._host, None
        if host is None:
            return
        self.settle_stops()  # the host is going down anyway; its shutdown stops what is left
        host.close(timeout=self.settings.service_timeout)
        if self.run_dir is not None and not self.settings.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        atexit.unregister(self.close)
