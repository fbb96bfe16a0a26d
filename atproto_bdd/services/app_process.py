"""Running an app under test: its process, its readiness check, its log.

An app is the user's own program (a feed generator, a labeler, any HTTP or
XRPC service), started by default as a
:class:`~atproto_bdd.services.processes.ManagedProcess` - its own process
group, a parent-death signal, output in a log file - on a loopback port the
framework chose (the Docker runtime can run it as a container instead: see
``docker_runtime/app.py``). It is ready when its check passes:
``ready_http`` (GET answers below 500), ``ready_log`` (a log line matches),
``ready_tcp`` (the port accepts connections; the default).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import httpx

from ..errors import ServiceError, UsageError
from ..hints import with_hints
from ..masking import masker
from ..protocol.http import new_client
from ..waiting import poll
from .app_config import AppSpec
from .child_env import Child, child_environment
from .listening import listening_ports
from .processes import ManagedProcess

#: Log lines a failed start shows.
LOG_LINES = 20
#: How long an app may listen on other ports, and not on its own, before its start fails saying so (some
#: open an admin or metrics port a moment before their main one).
OTHER_PORT_GRACE = 1.0
#: How often a starting app's listening ports are looked at (reading /proc costs about a millisecond).
PORT_LOOK_INTERVAL = 0.1


#: The variable every process of one start of a local app inherits: what finds those that left its process
#: group (``setsid``, a daemon's double fork) when it stops.
MARKER = "ATPROTO_BDD_APP_PROCESS"


def local_environment(env: Mapping[str, str], marker: str = "") -> dict[str, str]:
    """What a local app runs with: the APP rule of :mod:`.child_env`, then ``env`` (and its ``marker``)."""
    return child_environment(Child.APP, {**env, **({MARKER: marker} if marker else {})})


def marked_processes(marker: str) -> list[int]:
    """The processes (of ours to read) whose environment holds ``MARKER=marker``: an app start's descendants."""
    needle = f"{MARKER}={marker}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's
            continue
        if needle in environ + b"\0":
            found.append(int(entry.name))
    return found


def kill_marked(marker: str, timeout: float = 2.0) -> list[int]:
    """SIGKILL what is left of an app start's processes (they escaped its process group); the pids killed."""
    pids = [pid for pid in marked_processes(marker) if pid != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline and any(pid in marked_processes(marker) for pid in pids):
        time.sleep(0.01)
    return pids


class RunningApp(Protocol):
    """What runs an app: a local process, or a container (the same questions, the same answers)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def returncode(self) -> int | None: ...

    def alive(self) -> bool: ...

    def stop(self, grace: float = 5.0) -> int | None: ...

    def kill(self) -> int | None: ...

    def log_tail(self, lines: int = 30) -> str: ...


class AppStartError(ServiceError):
    """An app that could not be started, or did not become ready in time."""


class _PortWatch:
    """Looks at the ports a starting app listens on: other ones, and not its own, for ``OTHER_PORT_GRACE``."""

    def __init__(self, pid: int, port: int) -> None:
        self.pid = pid
        self.port = port
        self._next_look = 0.0
        self._since: float | None = None

    def elsewhere(self) -> set[int] | None:
        """The ports it listens on instead of its own, once that lasted the grace period; else None."""
        now = time.monotonic()
        if now < self._next_look:
            return None
        self._next_look = now + PORT_LOOK_INTERVAL
        ports = listening_ports(self.pid)
        if not ports or self.port in ports:
            self._since = None
            return None
        if self._since is None:
            self._since = now
        return ports if now - self._since >= OTHER_PORT_GRACE else None


class AppProcess:
    """One start of an app: the running program and where it listens."""

    def __init__(self, spec: AppSpec, process: RunningApp, port: int, launched: str = "", marker: str = "") -> None:
        self.spec = spec
        self.process = process
        self.port = port
        #: What every process of this start inherits (a local one): its leftovers are found by it when it stops.
        self.marker = marker
        #: How it was started, for messages: ``command: ... (in <cwd>)`` or ``image ...``.
        self.launched = launched or f"command: {shlex.join(spec.command)} (in {spec.cwd})"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, spec: AppSpec, *, port: int, env: Mapping[str, str], log_path: Path) -> AppProcess:
        """Start ``spec``'s command as a local process with ``env`` and wait (``ready_timeout``) until it is ready."""
        if not spec.command:
            raise UsageError(
                f"the app {spec.name} has only an image ({spec.image}), which runs on the Docker runtime "
                f"(-D runtime=docker); give it a command in {spec.source} to run it on the local runtime"
            )
        marker = secrets.token_hex(8)
        try:
            process = ManagedProcess.start(
                spec.command, log_path=log_path, env=local_environment(env, marker), cwd=spec.cwd, name=spec.name
            )
        except OSError as exc:
            raise AppStartError(
                f"the app {spec.name} could not be started: {exc.strerror or exc} "
                f"(command: {shlex.join(spec.command)}, in {spec.cwd}; declared in {spec.source})"
            ) from None
        return cls.ready(spec, process, port, marker=marker)

    @classmethod
    def ready(
        cls, spec: AppSpec, process: RunningApp, port: int, launched: str = "", *, marker: str = ""
    ) -> AppProcess:
        """Wait (``ready_timeout``) until the started ``process`` passes its readiness check; stop it if not."""
        app = cls(spec, process, port, launched, marker)
        try:
            app._wait_ready()
        except BaseException:
            app.stop(grace=2.0)
            raise
        return app

    def _wait_ready(self) -> None:
        spec = self.spec
        if spec.ready_http:
            what = f"GET {self.url}{spec.ready_http} answering below 500"
            check = self._http_ready
        elif spec.ready_log:
            pattern = re.compile(spec.ready_log)
            what = f"a log line matching {spec.ready_log!r}"
            check = lambda: any(pattern.search(line) for line in self.process.log_tail(10_000).splitlines())  # noqa: E731
        else:
            what = f"port {self.port} accepting connections"
            check = self._tcp_ready
        # An app whose readiness is its port, and that listens on others instead, will never be ready there.
        pid = self.process.pid if isinstance(self.process, ManagedProcess) else None
        watch = _PortWatch(pid, self.port) if pid is not None and not spec.ready_log else None

        def ready() -> bool:
            if check():
                return True
            if not self.process.alive():
                raise self._failed(f"exited with code {self.process.returncode} before it was ready ({what})")
            others = watch.elsewhere() if watch is not None else None
            if others:
                raise self._failed(self._elsewhere(others))
            return False

        poll(
            ready,
            timeout=spec.ready_timeout,
            on_timeout=lambda: self._failed(f"was not ready within {spec.ready_timeout:g}s: no {what}"),
            interval=0.002,
            max_interval=0.01,  # a check is cheap; every millisecond here is the framework's overhead
        )

    def _http_ready(self) -> bool:
        try:
            with new_client(timeout=2.0) as client:
                return client.get(f"{self.url}{self.spec.ready_http}").status_code < 500
        except httpx.HTTPError:
            return False

    def _tcp_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def _elsewhere(self, ports: set[int]) -> str:
        listed = ", ".join(str(port) for port in sorted(ports))
        first = min(ports)
        return (
            f"listens on {listed}, not on its port {self.port}: pass ${{app.{self.spec.name}.port}} to it (in the "
            f"env of {self.spec.source}), or pin port = {first} there"
        )

    def _failed(self, reason: str) -> AppStartError:
        log = self.process.log_tail(LOG_LINES) or "(empty)"
        message = f"the app {self.spec.name} {reason}; {self.launched}; its log ends with:\n{log}"
        return AppStartError(masker.mask(with_hints(message, seen=self.process.log_tail(1_000_000))))

    @property
    def running(self) -> bool:
        """Whether the program still runs."""
        return self.process.alive()

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code.

        Then whatever the app started that left its process group (a
        ``setsid`` child, a daemon) is killed too: found by its :attr:`marker`.
        """
        try:
            return self.process.stop(grace)
        finally:
            if self.marker:
                kill_marked(self.marker)

    def kill(self) -> int | None:
        """SIGKILL at once: no clean shutdown (a crash); the exit code."""
        return self.process.kill()

    def log(self) -> str:
        """Everything the app printed (stdout and stderr), secrets masked."""
        return masker.mask(self.process.log_tail(1_000_000))
