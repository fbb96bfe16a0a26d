"""The event window: opened by the first When-step of each group, bounded by sequence numbers."""

from __future__ import annotations

import itertools

import pytest

from atproto_bdd.protocol.firehose import FirehoseEvent
from atproto_bdd.services import LocalRuntime
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
    # No service is touched: each read of PDS A's head reports a head two events further on.
    w = World(runtime=None, settings=Settings())  # type: ignore[arg-type]
    heads = itertools.count(2, 2)
    monkeypatch.setattr(World, "pdses", property(lambda self: {"A": object()}))
    monkeypatch.setattr(World, "sequenced_head", lambda self, name: next(heads))
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


def test_a_window_keeps_each_pds_head_without_subscribing_and_still_bounds_a_later_recorder() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        pds = world.add_pds("A")
        alice = world.create_account("alice.test")
        alice.post("before the action")
        world.begin_scenario("s")
        world.begin_step("When alice.test posts", "when")
        assert world.window is not None
        # The head comes from the PDS's sequencer: no firehose subscription for a scenario that never reads one.
        assert not pds.firehose_started
        assert world.window.heads == {"A": runtime.pds_head(pds.service)}
        post = alice.post("the action")
        world.begin_step("Then the firehose of PDS A shows ...", "then")
        world.pds_head("A")  # the recorder, started now from the first event, holds everything
        in_window = world.pds_window("A")
        shown = [(event.type, [op.path for op in event.ops]) for event in pds.firehose.events if in_window(event)]
        assert shown == [("commit", [f"app.bsky.feed.post/{post.rkey}"])], shown
        world.close(wait=True)


def test_with_a_relay_the_window_brings_each_pds_recorder_to_its_head(monkeypatch: pytest.MonkeyPatch) -> None:
    # Relay events are placed through the PDS events they carry: the recorders must hold all before the window.
    w = World(runtime=None, settings=Settings())  # type: ignore[arg-type]
    monkeypatch.setattr(World, "pdses", property(lambda self: {"A": object()}))
    monkeypatch.setattr(World, "has_relay", property(lambda self: True))
    monkeypatch.setattr(World, "_sync_pds", lambda self, pds: 7)
    monkeypatch.setattr(World, "sequenced_head", lambda self, name: pytest.fail("read the head without the recorder"))
    assert w.open_window().heads == {"A": 7}


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
