"""The event window: opened by the first When-step of each group, bounded by sequence numbers."""

from __future__ import annotations

import itertools

import pytest

from atproto_bdd.protocol.firehose import FirehoseEvent
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.windows import EventWindow, origin_of

SAME_MS = "2026-12-02T10:00:00.123Z"


def event(seq: int, did: str = "did:plc:alice", kind: str = "commit", *, rev: str = "", at: str = SAME_MS):
    ops = [{"action": "create", "path": "p/1"}]
    body = {"seq": seq, "repo": did, "time": at, "rev": rev or f"rev{seq}", "ops": ops}
    return FirehoseEvent(kind, seq, did, body)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    # No service is touched: each "sync" of PDS A reports a head two events further on.
    w = World(runtime=None, settings=Settings())  # type: ignore[arg-type]
    heads = itertools.count(2, 2)
    monkeypatch.setattr(World, "pdses", property(lambda self: {"A": object()}))
    monkeypatch.setattr(World, "_sync_pds", lambda self, pds: next(heads))
    return w


def test_window_reopens_at_each_group_of_when_steps(world: World) -> None:
    world.begin_scenario("s")
    world.begin_step("Given a PDS named A", "given")
    assert world.window is None
    world.begin_step("When alice.test posts", "when")
    assert world.window is not None and world.window.heads == {"A": 2}
    world.begin_step("And bob.test posts", "when")
    assert world.window.heads == {"A": 2}  # the same group keeps its window
    world.begin_step("Then ...", "then")
    assert world.window.heads == {"A": 2}
    world.begin_step("When alice.test deletes", "when")
    assert world.window.heads == {"A": 4}  # a new group: a new head, not the old one
    world.begin_scenario("next")
    assert world.window is None


def test_a_given_step_event_in_the_same_millisecond_is_not_in_the_window() -> None:
    window = EventWindow(heads={"A": 5})
    in_window = window.on_pds("A")
    before, after = event(5, at=SAME_MS), event(6, at=SAME_MS)
    assert not in_window(before)  # a clock would call it "new": same millisecond as the action
    assert in_window(after)
    assert window.on_pds("B")(event(1))  # a PDS started during the window: everything is new


def test_relay_events_are_placed_by_their_pds_origin() -> None:
    pds_event = event(3, rev="3kabc")
    relay_event = FirehoseEvent("commit", 900, "did:plc:alice", {**pds_event.body, "seq": 900})
    assert origin_of(relay_event) == origin_of(pds_event) == ("commit", "did:plc:alice", "3kabc")
    identity = FirehoseEvent("identity", 7, "did:plc:alice", {"did": "did:plc:alice", "time": SAME_MS})
    assert origin_of(identity) == ("identity", "did:plc:alice", SAME_MS)
    assert origin_of(FirehoseEvent("info", None, None, {})) is None
