"""Progress lines for slow set-up work (installs, builds), one or several at a time.

They go to the real stderr (``sys.__stderr__``), past behave's capture of
step and hook output, so a build is seen where the run is: on a terminal
(one line, redrawn) or in a CI log (a line every 15 s). Every finished one
is kept in :func:`history`, so a report can say which scenario paid for one.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

# Steps may run at the same time (``atproto-bdd install`` builds the Go tools while npm installs the PDS):
# on a terminal they share one line, redrawn under this lock; elsewhere each prints lines of its own.
_LOCK = threading.Lock()
_ACTIVE: list[Progress] = []
_HISTORY: list[Finished] = []


@dataclass(frozen=True)
class Finished:
    """A slow step that ran: what, when it started (``time.time()``), how many seconds it took, its outcome."""

    what: str
    started: float
    seconds: float
    outcome: str


def history() -> list[Finished]:
    """Every slow step finished in this process so far, oldest first."""
    with _LOCK:
        return list(_HISTORY)


class Progress:
    """Shows ``atproto-bdd: <what> ... 12s`` while a slow step runs.

    On a terminal the line is redrawn every second (with several steps at once,
    one line shows them all: ``atproto-bdd: npm ci ... 40s | go install ... 12s``);
    elsewhere (CI logs) a line is printed at the start, every ``ci_interval``
    seconds and at the end.
    """

    def __init__(self, what: str, *, stream: TextIO | None = None, ci_interval: float = 15.0) -> None:
        self.what = what
        self.stream = stream or sys.__stderr__ or sys.stderr
        self.ci_interval = ci_interval
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._wall_started = 0.0

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        self._wall_started = time.time()
        with _LOCK:
            _ACTIVE.append(self)
            self._show(f"atproto-bdd: {self.what} ...", final=False)
        self._thread = threading.Thread(target=self._tick, name="atproto-bdd-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        outcome = "done" if exc_type is None else "FAILED"
        with _LOCK:
            _ACTIVE.remove(self)
            _HISTORY.append(Finished(self.what, self._wall_started, self.elapsed, outcome))
            self._show(f"atproto-bdd: {self.what} ... {outcome} in {self.elapsed:.0f}s", final=True)

    @property
    def elapsed(self) -> float:
        """Seconds since the step started."""
        return time.monotonic() - self._started

    def _tick(self) -> None:
        interval = 1.0 if self._tty else self.ci_interval
        while not self._stop.wait(interval):
            with _LOCK:
                self._show(f"atproto-bdd: {self.what} ... {self.elapsed:.0f}s", final=False)

    def _show(self, line: str, *, final: bool) -> None:
        """Write ``line`` (with ``_LOCK`` held): a line of its own off a terminal, else the shared line."""
        if not self._tty:
            self.stream.write(line + "\n")
        else:
            self.stream.write("\r\x1b[2K" + (line + "\n" if final else ""))
            _redraw(self.stream)
        self.stream.flush()


def announce(text: str, *, stream: TextIO | None = None) -> None:
    """Print a line of its own (``text``) without tearing the progress line a terminal shows meanwhile."""
    stream = stream or sys.stdout
    with _LOCK:
        terminals = {id(p.stream): p.stream for p in _ACTIVE if p._tty}
        for terminal in terminals.values():
            terminal.write("\r\x1b[2K")
            terminal.flush()
        stream.write(text + "\n")
        stream.flush()
        for terminal in terminals.values():
            _redraw(terminal)
            terminal.flush()


def _redraw(stream: TextIO) -> None:
    """The terminal line of every running step on ``stream`` (``_LOCK`` held), cut to the terminal's width."""
    running = [p for p in _ACTIVE if p.stream is stream]
    if not running:
        return
    line = "atproto-bdd: " + " | ".join(f"{p.what} ... {p.elapsed:.0f}s" for p in running)
    width = shutil.get_terminal_size().columns - 1
    stream.write("\r\x1b[2K" + (line if len(line) <= width else line[: max(width - 3, 0)] + "..."))
