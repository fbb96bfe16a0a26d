"""Child programs that cannot outlive us: own process group, parent-death signal, bounded stops.

Every program atproto-bdd starts (the relay, the relay that makes its
database template, the behave workers of a parallel run) runs as a
:class:`ManagedProcess`:

* in its own session and process group, so a Ctrl-C in the terminal reaches
  only us and we decide what each child gets, and a stop reaches anything the
  program started in its group;
* with a parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG)``), so even a
  SIGKILL of this process takes the child down;
* with its output in a log file, and a :meth:`ManagedProcess.stop` that sends
  SIGTERM, waits a bounded grace period, then SIGKILLs the group.

Linux sends the parent-death signal when the *thread* that forked the child
ends, not the process. Children are therefore forked from the main thread, or,
when started from another thread, from one long-lived spawner thread that
lasts as long as the process: a short-lived thread would take its children
with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from .toolchain import tail

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


_CLONE_NEWNS = 0x00020000
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18


def _load_libc(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None


# Resolved once here: looking a symbol up after fork() (in preexec_fn) could
# need locks another thread held at the moment of the fork.
_PRCTL = _load_libc("prctl")
_UNSHARE = _load_libc("unshare")
_MOUNT = _load_libc("mount")


def own_resolv_conf(source: bytes) -> None:
    """In a child before exec: a mount namespace of its own where ``/etc/resolv.conf`` is the file ``source``.

    Mounts become private first, so the bind mount never reaches the
    machine's namespace. ``source`` is encoded before the fork (nothing is
    converted in the child). Raises OSError where the kernel refuses (not
    root, or a container that forbids unshare).
    """
    if _UNSHARE is None or _MOUNT is None:
        raise OSError("unshare and mount are Linux calls")
    for result in (
        _UNSHARE(_CLONE_NEWNS),
        _MOUNT(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None),
        _MOUNT(source, b"/etc/resolv.conf", None, _MS_BIND, None),
    ):
        if result != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))


_isolation: bool | None = None


def can_isolate_resolv_conf() -> bool:
    """Whether a child can get a resolv.conf of its own here (tried once, with ``true``; cached)."""
    global _isolation
    if _isolation is None:
        true = shutil.which("true")
        try:
            subprocess.run(
                [true or "/bin/true"],
                preexec_fn=lambda: own_resolv_conf(b"/etc/resolv.conf"),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=True,
            )
            _isolation = True
        except (OSError, subprocess.SubprocessError):
            _isolation = False
    return _isolation


def parent_death_preexec(death_signal: int = signal.SIGKILL, *, resolv_conf: Path | None = None) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child receive ``death_signal`` when its parent (thread) dies.

    If the parent died between ``fork`` and ``prctl``, the signal would never
    come, so the child checks its parent is still the one that forked it and
    exits otherwise. Without ``prctl`` (not Linux) it does nothing. With
    ``resolv_conf``, the child also gets that file as its ``/etc/resolv.conf``
    (:func:`own_resolv_conf`).
    """
    parent = os.getpid()
    source = os.fsencode(resolv_conf) if resolv_conf is not None else None

    def preexec() -> None:
        if source is not None:
            own_resolv_conf(source)
        if _PRCTL is None:
            return
        _PRCTL(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class _Spawner:
    """One long-lived thread that forks children for callers on short-lived threads."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="atproto-bdd-spawner", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[], T]) -> T:
        future: Future[object] = Future()
        self._requests.put((fn, future))
        return future.result()  # type: ignore[return-value]

    def _serve(self) -> None:
        while True:
            fn, future = self._requests.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller, who raises it
                future.set_exception(exc)


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def spawn(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which forks) on a thread that lives as long as the process: see the module docstring."""
    global _spawner
    if threading.current_thread() is threading.main_thread():
        return fn()
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.run(fn)


def _as_user(uid: int | None) -> dict[str, object]:
    """Popen's arguments that run a child as ``uid`` with its primary group and no others."""
    if uid is None:
        return {}
    import pwd

    return {"user": uid, "group": pwd.getpwuid(uid).pw_gid, "extra_groups": []}


class ManagedProcess:
    """A program in its own process group that dies with us; see the module docstring."""

    def __init__(self, popen: subprocess.Popen[bytes], log_path: Path, name: str) -> None:
        self._popen = popen
        self.log_path = log_path
        self.name = name

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        name: str = "",
        death_signal: int = signal.SIGKILL,
        user: int | None = None,
        resolv_conf: Path | None = None,
        output: int | None = None,
    ) -> ManagedProcess:
        """Start ``argv`` with stdout and stderr appended to ``log_path`` and stdin closed.

        ``output`` (a file descriptor, such as a pipe's end) takes stdout and
        stderr instead, for a caller that writes ``log_path`` itself (an app's
        capped log: :mod:`.app_process`).

        ``env`` replaces the environment when given; ``user`` runs it as that
        uid (and its primary group; for programs that refuse root, such as
        PostgreSQL). The parent-death signal is set after the switch, which
        would otherwise clear it. ``resolv_conf`` becomes the program's
        ``/etc/resolv.conf``, in a mount namespace of its own (root only: see
        :func:`can_isolate_resolv_conf`). Raises OSError if the program cannot
        be started.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)

        def fork() -> subprocess.Popen[bytes]:
            with open(log_path, "ab") if output is None else contextlib.nullcontext(output) as log:
                return subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    start_new_session=True,
                    # Safe despite threads: the function only calls prctl, getppid (and unshare and
                    # mount), resolved before the fork. It runs after the uid switch (CPython switches
                    # first), which clears a parent-death signal.
                    preexec_fn=parent_death_preexec(death_signal, resolv_conf=resolv_conf),
                    **_as_user(user),
                )

        return cls(spawn(fork), log_path, name or Path(argv[0]).name)

    @property
    def pid(self) -> int:
        """The program's process id (also its process group id)."""
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit code (negative: killed by that signal), or ``None`` while it runs."""
        return self._popen.poll()

    def alive(self) -> bool:
        """Whether the program still runs."""
        return self._popen.poll() is None

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the program's process group (nothing once it has exited)."""
        # Only while the leader is unreaped: its pid, and so the group id,
        # cannot have been reused by an unrelated process yet.
        if self._popen.poll() is None:
            try:
                os.killpg(self._popen.pid, signum)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> int | None:
        """Wait at most ``timeout`` seconds for the program to exit; its exit code, or ``None``."""
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL it; returns the exit code."""
        self.send_signal(signal.SIGTERM)
        code = self.wait(grace)
        if code is None:
            self.send_signal(signal.SIGKILL)
            # SIGKILL cannot be ignored; a process in uninterruptible sleep
            # still ends, but never let that hang the caller.
            code = self.wait(grace)
        return code if code is not None else -signal.SIGKILL

    def kill(self) -> int:
        """SIGKILL the group at once (a crash, no clean shutdown); the exit code."""
        self.send_signal(signal.SIGKILL)
        code = self.wait(5.0)
        return code if code is not None else -signal.SIGKILL

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the program's output."""
        return tail(self.log_path, lines)

    def exited_with(self, text: str) -> bool:
        """Whether the program has exited and its output mentions ``text`` (case-insensitive)."""
        return not self.alive() and text.lower() in self.log_tail(200).lower()
