"""The event window: opened by the first When-step of each group of When-steps."""

from __future__ import annotations

from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def world() -> World:
    # No service is touched: the world starts its network on first use only.
    return World(runtime=None, settings=Settings())  # type: ignore[arg-type]


def test_window_opens_at_each_group_of_when_steps() -> None:
    w = world()
    w.begin_scenario("s")
    w.begin_step("Given a PDS named A", "given")
    assert w.window_start is None
    w.begin_step("When alice.test posts", "when")
    first = w.window_start
    assert first is not None
    w.begin_step("And bob.test posts", "when")
    assert w.window_start == first  # same group
    w.begin_step("Then ...", "then")
    assert w.window_start == first
    w.begin_step("When alice.test deletes", "when")
    assert w.window_start is not None and w.window_start >= first
    w.begin_scenario("next")
    assert w.window_start is None
