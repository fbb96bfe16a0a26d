"""Running an app under test: its process, its readiness check, its log.

An app is the user's own program (a feed generator, a labeler, any HTTP or
XRPC service), started by default as a
:class:`~atproto_bdd.services.processes.ManagedProcess` - its own process
group, a parent-death signal, output in a log file - on a loopback port the
framework chose (the Docker runtime can run it as a container instead: see
``docker_runtime/app.py``). It is ready when its check passes:
``ready_http`` (GET answers below 500), ``ready_log`` (a log line matches),
``ready_tcp`` (the port accepts connections; the default).

A local app's output reaches its log through a pipe and :class:`CappedLog`,
which keeps the file under the ``app_log_max_bytes`` setting: an app that
prints 300 MB leaves its newest output and a line saying what was cut.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
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


#: What every app marker of this process starts with: the janitor finds this process's apps' leftovers by it.
_RUN_PREFIX = f"{os.getpid()}-{secrets.token_hex(4)}-"
#: Kills what this process's apps left when the process dies without stopping them (SIGKILL): see :func:`_janitor`.
JANITOR = r"""
import os, signal, sys
sys.stdin.buffer.read()  # returns when the process that started us is gone, however it ended
needle = ("%s=%s" % (sys.argv[1], sys.argv[2])).encode()
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            with open("/proc/%s/environ" % entry, "rb") as environ:
                if any(item.startswith(needle) for item in environ.read().split(b"\0")):
                    os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
"""
_janitor_lock = threading.Lock()
_janitor_pipe: int | None = None
_janitor_process: list[subprocess.Popen[bytes]] = []


def new_marker() -> str:
    """A marker for one start of a local app; starts this process's janitor on first use."""
    _janitor()
    return _RUN_PREFIX + secrets.token_hex(8)


def _janitor() -> None:
    """Start, once per process, a watcher that kills this process's apps' leftovers when the process dies.

    Stopping an app kills what it started that left its process group (:func:`kill_marked`);
    a process killed with SIGKILL stops nothing. Its apps' own processes die with it (a
    parent-death signal), but a child in a session of its own (``setsid``, a daemon's double
    fork) has none. The janitor waits on a pipe only this process holds open; when the pipe
    closes - this process is gone, however it ended - it kills every process whose
    environment has a marker of this process, and exits. It has no parent-death signal of
    its own, for that very reason.
    """
    global _janitor_pipe
    with _janitor_lock:
        if _janitor_pipe is not None or not Path("/proc").is_dir():
            return
        read_end, write_end = os.pipe()
        try:
            janitor = subprocess.Popen(
                [sys.executable, "-c", JANITOR, MARKER, _RUN_PREFIX],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # not in our group: a Ctrl-C meant for us does not end it early
                env=child_environment(Child.SERVICE, {}),
            )
        except OSError:  # no janitor: only a SIGKILL of this process could leave something
            os.close(write_end)
            return
        finally:
            os.close(read_end)
        _janitor_pipe = write_end  # held open until this process ends (close-on-exec: no child holds it)
        _janitor_process.append(janitor)  # kept: it outlives this process, and is never waited for


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


#: The most an app's log copier reads at once.
COPY_CHUNK = 64 * 1024


def show_size(size: int) -> str:
    """``52428800`` -> ``50 MB``, ``65536`` -> ``64 KB`` (1024-based, as the setting counts)."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} bytes"


class CappedLog:
    """An app's output, copied from a pipe into its log file, which keeps at most ``max_bytes``.

    When the file would grow past the cap, its older part is cut: the file
    then starts with a line saying how many bytes were cut and why (the
    ``app_log_max_bytes`` setting), followed by the newest half of the cap,
    from the start of a line. When the output ends (the app and whatever it
    started are gone) a last line says it again, if anything was cut. Only
    this thread writes the file, so nothing is lost between a cut and a write.
    """

    def __init__(self, path: Path, max_bytes: int, name: str) -> None:
        self.path = path
        self.max_bytes = max_bytes
        #: Bytes of output cut so far, and written in all.
        self.cut = 0
        self.written = 0
        self._header = b""
        self._read_fd, self.write_fd = os.pipe()
        self._thread = threading.Thread(target=self._copy, name=f"atproto-bdd-log-{name}", daemon=True)

    def start(self) -> None:
        """Start copying; the caller has given :attr:`write_fd` to the app and closes its own copy."""
        self._thread.start()

    def close_write_end(self) -> None:
        """Close our copy of the pipe's writing end: the output ends when the app's processes close theirs."""
        try:
            os.close(self.write_fd)
        except OSError:
            pass

    def finish(self, timeout: float = 2.0) -> None:
        """Wait (at most ``timeout`` seconds) until everything the app wrote is in the file."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _copy(self) -> None:
        try:
            out = open(self.path, "ab")
        except OSError:  # the run directory is gone: read the pipe to its end, or the app would block
            while os.read(self._read_fd, COPY_CHUNK):
                pass
            os.close(self._read_fd)
            return
        size = out.tell()
        chunk_size = max(1024, min(COPY_CHUNK, self.max_bytes // 4))  # past the cap by a quarter at most
        try:
            while chunk := os.read(self._read_fd, chunk_size):
                out.write(chunk)
                out.flush()  # a readiness check (ready_log) and the diagnostics read the file
                self.written += len(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    out.close()
                    size = self._cut(size)
                    out = open(self.path, "ab")
            if self.cut:
                out.write(self._notice("the app wrote {written:,} bytes; the oldest {cut:,} were cut").encode())
        except OSError:  # a full disk: the app keeps running, its log stops
            pass
        finally:
            out.close()
            os.close(self._read_fd)

    def _notice(self, what: str) -> str:
        said = what.format(written=self.written, cut=self.cut)
        return (
            f"[atproto-bdd] {said}: this log keeps the newest output, at most {show_size(self.max_bytes)} "
            f"(the app_log_max_bytes setting)\n"
        )

    def _cut(self, size: int) -> int:
        """Keep the newest half of the cap, under a line saying what was cut; the file's new size."""
        keep_bytes = self.max_bytes // 2
        with open(self.path, "rb") as log:
            log.seek(max(size - keep_bytes, 0))
            keep = log.read()
        newline = keep.find(b"\n")
        if 0 <= newline < len(keep) - 1:  # from a line's start
            keep = keep[newline + 1 :]
        self.cut += size - len(self._header) - len(keep)  # the previous notice is no output
        self._header = self._notice("{cut:,} bytes of the app's output, the oldest, were cut here").encode()
        cutting = self.path.with_name(self.path.name + ".cutting")
        cutting.write_bytes(self._header + keep)
        os.replace(cutting, self.path)
        return len(self._header) + len(keep)


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

    def __init__(
        self,
        spec: AppSpec,
        process: RunningApp,
        port: int,
        launched: str = "",
        marker: str = "",
        output: CappedLog | None = None,
    ) -> None:
        self.spec = spec
        self.process = process
        self.port = port
        #: What copies a local app's output into its log (None: the app writes the file itself).
        self.output = output
        #: What every process of this start inherits (a local one): its leftovers are found by it when it stops.
        self.marker = marker
        #: How it was started, for messages: ``command: ... (in <cwd>)`` or ``image ...``.
        self.launched = launched or f"command: {shlex.join(spec.command)} (in {spec.cwd})"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, spec: AppSpec, *, port: int, env: Mapping[str, str], log_path: Path, log_max_bytes: int = 0
    ) -> AppProcess:
        """Start ``spec``'s command as a local process with ``env`` and wait (``ready_timeout``) until it is ready.

        ``log_max_bytes`` caps its log (:class:`CappedLog`; 0: the app writes the file itself, uncapped).
        """
        if not spec.command:
            raise UsageError(
                f"the app {spec.name} has only an image ({spec.image}), which runs on the Docker runtime "
                f"(-D runtime=docker); give it a command in {spec.source} to run it on the local runtime"
            )
        if not spec.cwd.is_dir():
            raise AppStartError(
                f"the app {spec.name} could not be started: its cwd {spec.cwd} is not a directory "
                f"(declared in {spec.source}; a relative cwd is relative to that file)"
            )
        marker = new_marker()
        output = CappedLog(log_path, log_max_bytes, spec.name) if log_max_bytes else None
        try:
            process = ManagedProcess.start(
                spec.command,
                log_path=log_path,
                env=local_environment(env, marker),
                cwd=spec.cwd,
                name=spec.name,
                output=output.write_fd if output is not None else None,
            )
        except OSError as exc:
            program = spec.command[0]
            if isinstance(exc, FileNotFoundError):
                why = f"its program {program!r} was not found ({'no such file' if '/' in program else 'not on PATH'})"
            elif isinstance(exc, PermissionError):
                why = f"its program {program!r} cannot be run (not executable, or a directory)"
            else:
                why = exc.strerror or str(exc)
            raise AppStartError(
                f"the app {spec.name} could not be started: {why} "
                f"(command: {shlex.join(spec.command)}, in {spec.cwd}; declared in {spec.source})"
            ) from None
        finally:
            if output is not None:
                output.close_write_end()
                output.start()
        return cls.ready(spec, process, port, marker=marker, output=output)

    @classmethod
    def ready(
        cls,
        spec: AppSpec,
        process: RunningApp,
        port: int,
        launched: str = "",
        *,
        marker: str = "",
        output: CappedLog | None = None,
    ) -> AppProcess:
        """Wait (``ready_timeout``) until the started ``process`` passes its readiness check; stop it if not."""
        app = cls(spec, process, port, launched, marker, output)
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
            if self.output is not None:
                self.output.finish()

    def kill(self) -> int | None:
        """SIGKILL at once: no clean shutdown (a crash); the exit code."""
        try:
            return self.process.kill()
        finally:
            if self.output is not None:
                self.output.finish(timeout=1.0)

    def log(self) -> str:
        """Everything the app printed (stdout and stderr), secrets masked."""
        return masker.mask(self.process.log_tail(1_000_000))
