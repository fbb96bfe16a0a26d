"""Waiting with a deadline: the one mechanism every wait in atproto-bdd uses.

No step may hang, so nothing waits without a deadline. :func:`poll` repeats a
check until it succeeds or time is up; :func:`wait_for_condition` does the
same for state other threads change (it sleeps until they notify);
:class:`Deadline` is the remaining time for waits that block on something
else (a socket: see :mod:`atproto_bdd.protocol.websocket`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar, overload

T = TypeVar("T")


class Deadline:
    """A moment, ``seconds`` from now, by which a wait must end."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    @property
    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.end


@overload
def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    on_timeout: Callable[[], BaseException],
    interval: float = ...,
    max_interval: float = ...,
) -> T: ...


@overload
def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    on_timeout: None,
    interval: float = ...,
    max_interval: float = ...,
) -> T | None: ...


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    on_timeout: Callable[[], BaseException] | None,
    interval: float = 0.005,
    max_interval: float = 0.1,
) -> T | None:
    """Call ``check`` until it returns something other than ``None``/``False``; return that.

    The pause between calls starts at ``interval`` and doubles up to
    ``max_interval``, so a change is noticed within a few milliseconds at first
    without spinning for long waits. At the deadline, the error
    ``on_timeout()`` builds is raised (it can describe what was last seen);
    with ``on_timeout=None`` the deadline returns ``None`` instead.
    Exceptions from ``check`` propagate: a check that can fail for good
    should raise.
    """
    deadline = Deadline(timeout)
    pause = interval
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if deadline.expired:
            if on_timeout is None:
                return None
            raise on_timeout()
        time.sleep(min(pause, deadline.remaining))
        pause = min(pause * 2, max_interval)


def wait_for_condition(condition: threading.Condition, check: Callable[[], T | None], *, timeout: float) -> T | None:
    """With ``condition`` held: ``check()`` until it returns something other than ``None``/``False``; that.

    Between calls it waits on ``condition`` (the threads that change what
    ``check`` reads notify it), never past the deadline; at the deadline it
    returns ``None``. Exceptions from ``check`` propagate.
    """
    deadline = Deadline(timeout)
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if deadline.expired:
            return None
        condition.wait(deadline.remaining)
