"""Checks on apps that become true eventually: a feed that will show a post, a label that will come.

An app under test processes the network's events in its own time, so a
check asks again until its expectation holds or the deadline passes
(:func:`until`), and the failure shows what the app answered last. Polling
starts at 5 ms and backs off to :data:`MAX_INTERVAL`, so a change is noticed
within a few tens of milliseconds of being visible.

A negative check (:func:`never`) must not pass just because the app is
slow. If the app declares ``cursor_http`` (the firehose sequence number it
has processed), the check first waits until that cursor reaches the head of
the stream the app reads, taken after the action - then one answer decides.
Without it, nothing can prove the app has seen the action: the check asks
for ``app_settle`` seconds and fails as soon as the thing shows up, and says
so once in the run's output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..errors import TransportError, XrpcError
from ..notices import say_once
from ..waiting import poll

T = TypeVar("T")

#: The longest pause between two looks (the latency budget of an eventual step).
MAX_INTERVAL = 0.025


def until(
    look: Callable[[], T],
    holds: Callable[[T], bool],
    *,
    timeout: float,
    failure: Callable[[T | None, Exception | None], str],
) -> T:
    """Call ``look`` until ``holds(answer)``; the answer, or AssertionError(``failure(last answer, last error)``).

    An app that answers with an error or not at all (restarting) is asked
    again; the failure reports that error if it was the last thing seen.
    """
    last: list[T | None] = [None]
    error: list[Exception | None] = [None]

    def check() -> tuple[T] | None:
        try:
            answer = look()
        except (TransportError, XrpcError) as exc:
            error[0] = exc
            return None
        last[0], error[0] = answer, None
        return (answer,) if holds(answer) else None

    found = poll(
        check,
        timeout=timeout,
        on_timeout=lambda: AssertionError(failure(last[0], error[0])),
        max_interval=MAX_INTERVAL,
    )
    return found[0]


def never(
    look: Callable[[], T],
    present: Callable[[T], bool],
    *,
    caught_up: Callable[[], None] | None,
    settle: float,
    failure: Callable[[T], str],
    unproved_note: str = "",
) -> T:
    """Check that ``present(look())`` stays false; the last answer, or AssertionError(``failure(answer)``).

    ``caught_up`` proves the app has processed everything up to a point after
    the action (it raises if the app does not get there in time); then one
    answer decides. Without it the check watches for ``settle`` seconds.
    """
    if caught_up is not None:
        caught_up()
        answer = look()
        if present(answer):
            raise AssertionError(failure(answer))
        return answer
    if unproved_note:
        say_once(unproved_note)
    last: list[T] = []

    def check() -> None:
        answer = look()
        last[:] = [answer]
        if present(answer):
            raise AssertionError(failure(answer))

    poll(check, timeout=settle, on_timeout=None, max_interval=MAX_INTERVAL)
    return last[0] if last else look()
