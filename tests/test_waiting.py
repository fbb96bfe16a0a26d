"""The one wait-with-deadline helper."""

from __future__ import annotations

import time

import pytest

from atproto_bdd.waiting import Deadline, poll


def test_poll_returns_the_first_real_result() -> None:
    answers = iter([None, False, 0, "ready"])
    assert poll(lambda: next(answers), timeout=1, on_timeout=lambda: AssertionError("late")) == 0  # 0 is a result


def test_poll_raises_what_on_timeout_builds_at_the_deadline() -> None:
    seen = []

    def check() -> None:
        seen.append(time.monotonic())

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="after 2 checks or more"):
        poll(check, timeout=0.1, on_timeout=lambda: TimeoutError(f"after {min(len(seen), 2)} checks or more"))
    assert 0.1 <= time.monotonic() - started < 0.5
    assert len(seen) >= 2


def test_poll_without_on_timeout_returns_none() -> None:
    assert poll(lambda: None, timeout=0.02, on_timeout=None) is None


def test_poll_lets_a_failing_check_fail_at_once() -> None:
    def check() -> None:
        raise ValueError("gone for good")

    started = time.monotonic()
    with pytest.raises(ValueError):
        poll(check, timeout=5, on_timeout=None)
    assert time.monotonic() - started < 0.5


def test_deadline_counts_down_and_never_goes_negative() -> None:
    deadline = Deadline(0.05)
    assert not deadline.expired and 0 < deadline.remaining <= 0.05
    time.sleep(0.06)
    assert deadline.expired and deadline.remaining == 0.0
