"""A single visible progress line for slow set-up work (installs, builds)."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """Shows ``atproto-bdd: <what> ... 12s`` while a slow step runs.

    On a terminal the line is redrawn every second; elsewhere (CI logs) a line
    is printed at the start, every ``ci_interval`` seconds and at the end.
    """

    def __init__(self, what: str, *, stream: TextIO | None = None, ci_interval: float = 15.0) -> None:
        self.what = what
        self.stream = stream or sys.stderr
        self.ci_interval = ci_interval
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        self._write(f"atproto-bdd: {self.what} ...", final=not self._tty)
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
        self._write(f"atproto-bdd: {self.what} ... {outcome} in {self.elapsed:.0f}s", final=True)

    @property
    def elapsed(self) -> float:
        """Seconds since the step started."""
        return time.monotonic() - self._started

    def _tick(self) -> None:
        interval = 1.0 if self._tty else self.ci_interval
        while not self._stop.wait(interval):
            self._write(f"atproto-bdd: {self.what} ... {self.elapsed:.0f}s", final=not self._tty)

    def _write(self, line: str, *, final: bool) -> None:
        if self._tty:
            self.stream.write("\r\x1b[2K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
