"""Python side of the Node network host (``node/host.js``).

One host process per run serves every PLC directory and PDS in-process. We
write JSON requests to its stdin and read replies from a dedicated pipe, so
the services' own logging on stdout cannot corrupt the protocol. The host
exits by itself when its stdin closes, which also happens when this process
is killed with SIGKILL; its parent-death signal (SIGTERM, so it still stops
its services and removes the run directory) covers the same case in the
kernel. When the host dies on its own, ``on_exit`` tells the runtime, which
stops what it runs outside the host.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from ..errors import ServiceError
from ..masking import masker
from .child_env import Child, child_environment
from .node_install import HOST_SCRIPT, NodeInstall
from .processes import parent_death_preexec, spawn
from .toolchain import tail

# How long a SIGKILLed host may take to be reaped, whatever the caller's timeout.
KILLED_EXIT_S = 10.0
# Variables of the caller's environment the host does not get (besides PDS_*; see NodeHost.spawn). The
# benchmarks leave them out of dev-env's processes too, so that both sides start the same way.


class NodeHost:
    """A running ``host.js`` process and the request/reply channel to it."""

    def __init__(
        self,
        install: NodeInstall,
        run_dir: Path,
        *,
        log_level: str = "info",
        remove_run_dir: bool = True,
        on_exit: Callable[[str], None] = lambda reason: None,
        role: str = "network",
        remove_also: tuple[Path, ...] = (),
    ):
        self.install = install
        self.role = role  # "network" (PLC, PDS) or "appview" (see host.js)
        self._remove_also = remove_also  # directories the host removes when it exits, even after our SIGKILL
        self.run_dir = run_dir
        self.log_path = run_dir / "logs" / "host.log"
        self.services_log_path = run_dir / "logs" / "services.log"
        self._log_level = log_level
        self._remove_run_dir = remove_run_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._dead_reason = ""
        self._started: tuple[Future[dict[str, Any]], Future[dict[str, Any]]] | None = None  # hello, warm
        #: Told why, when the host exits on its own (set by whoever runs services in it).
        self.on_exit = on_exit
        #: How the host's load cache served its start (hits and misses, ``load_cache.js``); None when it is off.
        self.load_cache_stats: dict[str, int] | None = None

    @property
    def pid(self) -> int | None:
        """The host's process id while it runs."""
        return self._process.pid if self._process else None

    def start(self, timeout: float) -> dict[str, Any]:
        """Start the host (unless :meth:`spawn` did) and wait until it has loaded the service modules.

        Returns the versions it reports.
        """
        if self._started is None:
            self.spawn()
        assert self._started is not None
        hello, warm = self._started
        hello_reply = self._result("hello", hello, timeout)
        self.load_cache_stats = self._result("warm", warm, timeout).get("loadCache")
        return hello_reply

    def spawn(self) -> None:
        """Launch the host and ask it to load the service modules, without waiting (:meth:`start` waits)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        env = child_environment(Child.NODE_HOST)  # all but PDS_* and NODE_EXTRA_CA_CERTS (child_env.py)
        env.update(
            {
                "ATPROTO_BDD_CONTROL_FD": str(write_fd),
                "ATPROTO_BDD_RUN_DIR": str(self.run_dir),
                "ATPROTO_BDD_NODE_MODULES": str(self.install.node_modules),
                "ATPROTO_BDD_REMOVE_RUN_DIR": "1" if self._remove_run_dir else "0",
                "ATPROTO_BDD_HOST_ROLE": self.role,
                "ATPROTO_BDD_REMOVE_ALSO": os.pathsep.join(str(path) for path in self._remove_also),
                # Node.js 22.1+ keeps the compiled code of the services' modules here, so later hosts skip
                # compiling them (0.5 line: first step 1.70 -> 1.50 s here, bench/README.md). Older Node.js
                # ignores it. Keyed by the install, so an upgrade starts afresh; Node checks each entry itself.
                "NODE_COMPILE_CACHE": str(self.install.compile_cache),
                # The host's own memo of module resolution and code cache, which Node.js 20 lacks and which
                # holds more than Node.js 22's (load_cache.js); ATPROTO_BDD_LOAD_CACHE=0 turns it off.
                "ATPROTO_BDD_LOAD_CACHE_DIR": ""
                if env.get("ATPROTO_BDD_LOAD_CACHE") == "0"
                else str(self.install.load_cache),
                # The services' pino loggers read these at require() time.
                "LOG_ENABLED": "true",
                "LOG_LEVEL": self._log_level,
                "LOG_DESTINATION": str(self.services_log_path),
            }
        )

        def fork() -> subprocess.Popen[bytes]:
            with open(self.log_path, "ab") as log:
                return subprocess.Popen(
                    [self.install.node, str(HOST_SCRIPT)],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    env=env,
                    cwd=self.run_dir,
                    start_new_session=True,  # Ctrl-C in the terminal is ours to handle, not the host's
                    preexec_fn=parent_death_preexec(signal.SIGTERM),
                )

        try:
            self._process = spawn(fork)
        finally:
            os.close(write_fd)
        self._reader = threading.Thread(
            target=self._read_replies, args=(os.fdopen(read_fd, "rb"),), name="atproto-bdd-host-reader", daemon=True
        )
        self._reader.start()
        self._started = (self.submit("hello"), self.submit("warm"))

    def call(self, cmd: str, args: dict[str, Any] | None = None, *, timeout: float) -> dict[str, Any]:
        """Send a command and wait for its result, at most ``timeout`` seconds."""
        return self._result(cmd, self.submit(cmd, args), timeout)

    def _result(self, cmd: str, future: Future[dict[str, Any]], timeout: float) -> dict[str, Any]:
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise ServiceError(
                f"the network host did not answer {cmd!r} within {timeout:g}s; its log ends with:\n{self.log_tail()}"
            ) from None

    def submit(self, cmd: str, args: dict[str, Any] | None = None) -> Future[dict[str, Any]]:
        """Send a command without waiting; the future holds its result or a ServiceError."""
        future: Future[dict[str, Any]] = Future()
        if self._dead_reason or not self._process or self._process.stdin is None:
            future.set_exception(ServiceError(f"the network host is not running: {self._dead_reason or 'not started'}"))
            return future
        request_id = next(self._ids)
        with self._lock:
            self._pending[request_id] = future
        line = json.dumps({"id": request_id, "cmd": cmd, "args": args or {}}) + "\n"
        try:
            with self._write_lock:
                self._process.stdin.write(line.encode())
                self._process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            with self._lock:
                self._pending.pop(request_id, None)
            future.set_exception(ServiceError(f"the network host is gone ({exc}); log:\n{self.log_tail()}"))
        return future

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the host's own log and of the services' shared log."""
        parts = [tail(self.log_path, lines), tail(self.services_log_path, lines)]
        return masker.mask("\n".join(p for p in parts if p)) or "(empty)"

    def close(self, timeout: float = 10.0) -> None:
        """Stop every service and the host; kill it if it does not exit in time."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self.call("shutdown", timeout=timeout)
            except ServiceError:
                pass
            try:
                if process.stdin:
                    process.stdin.close()
            except OSError:
                pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                # A killed process is gone within moments, but not always within a tiny service_timeout:
                # waiting too little here would replace the caller's error with a TimeoutExpired.
                process.wait(timeout=max(timeout, KILLED_EXIT_S))
        if self._reader:
            self._reader.join(timeout=timeout)
        self._process = None

    def kill(self, timeout: float = 10.0) -> None:
        """End a host that runs no services yet at once (SIGKILL), instead of waiting for it to shut down."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait(timeout=timeout)
        if process.stdin:
            process.stdin.close()
        if self._reader:
            self._reader.join(timeout=timeout)
        self._process = None

    def _read_replies(self, stream: Any) -> None:
        with stream:
            for raw in stream:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                with self._lock:
                    future = self._pending.pop(message.get("id"), None)
                if future is None:
                    continue
                if message.get("ok"):
                    future.set_result(message.get("result") or {})
                else:
                    error = message.get("error") or {}
                    future.set_exception(ServiceError(masker.mask(str(error.get("message", "unknown host error")))))
        exit_code = self._process.poll() if self._process else None
        self._dead_reason = f"the host process exited (code {exit_code})"
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(ServiceError(f"{self._dead_reason}; its log ends with:\n{self.log_tail()}"))
        self.on_exit(self._dead_reason)
