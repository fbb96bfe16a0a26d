"""Eventual checks on apps: polling until an expectation holds, and negative checks that need proof."""

from __future__ import annotations

import time

import pytest

from atproto_bdd.errors import TransportError
from atproto_bdd.world import eventual
from atproto_bdd.world.feeds import Skeleton, SkeletonError


def test_until_returns_the_first_answer_that_holds_even_an_empty_one() -> None:
    answers = iter([[1], [], [2]])
    assert eventual.until(lambda: next(answers), lambda a: a == [], timeout=1, failure=lambda *_: "") == []


def test_until_fails_with_the_last_answer_or_error() -> None:
    answers = iter(range(1000))
    with pytest.raises(AssertionError, match=r"last: [0-3] of 4"):
        eventual.until(lambda: next(answers) % 4, lambda a: a > 5, timeout=0.05, failure=lambda a, e: f"last: {a} of 4")

    def down() -> int:
        raise TransportError("connection refused")

    with pytest.raises(AssertionError, match="error: connection refused"):
        eventual.until(down, lambda a: True, timeout=0.05, failure=lambda a, e: f"error: {e}")


def test_until_notices_a_change_within_tens_of_milliseconds() -> None:
    visible_at = time.perf_counter() + 0.3
    eventual.until(lambda: time.perf_counter() >= visible_at, bool, timeout=2, failure=lambda *_: "")
    assert time.perf_counter() - visible_at < eventual.MAX_INTERVAL + 0.02


def test_never_with_proof_waits_for_the_proof_before_it_looks() -> None:
    calls: list[str] = []
    eventual.never(
        lambda: calls.append("look") or [],
        bool,
        caught_up=lambda: calls.append("caught up"),
        settle=5,
        failure=lambda a: "",
    )
    assert calls == ["caught up", "look"]  # one look, after the proof: no settle time spent


def test_never_fails_when_the_thing_is_there_after_the_proof() -> None:
    with pytest.raises(AssertionError, match="it is there"):
        eventual.never(lambda: ["post"], bool, caught_up=lambda: None, settle=5, failure=lambda a: "it is there")


def test_never_without_proof_watches_for_the_settle_time_and_fails_as_soon_as_it_shows(capsys) -> None:
    started = time.perf_counter()
    eventual.never(lambda: [], bool, caught_up=None, settle=0.2, failure=lambda a: "", unproved_note="note once")
    assert time.perf_counter() - started >= 0.2
    shows_at = time.perf_counter() + 0.05
    with pytest.raises(AssertionError, match="showed up"):
        eventual.never(
            lambda: ["x"] if time.perf_counter() > shows_at else [],
            bool,
            caught_up=None,
            settle=5,
            failure=lambda a: "showed up",
            unproved_note="note once",
        )
    assert time.perf_counter() - started < 1


def test_skeletons_are_parsed_strictly() -> None:
    skeleton = Skeleton.parse({"feed": [{"post": "at://did:plc:x/app.bsky.feed.post/1", "reason": {}}], "cursor": "5"})
    assert skeleton.posts == ("at://did:plc:x/app.bsky.feed.post/1",) and skeleton.cursor == "5"
    for bad, message in [
        ({"posts": []}, "expected an object with a feed list"),
        ({"feed": [{"uri": "at://x"}]}, r"feed\[0\]"),
        ({"feed": [{"post": "https://x"}]}, r"feed\[0\]"),
        ({"feed": [], "cursor": 5}, "cursor is 5"),
    ]:
        with pytest.raises(SkeletonError, match=message):
            Skeleton.parse(bad)
