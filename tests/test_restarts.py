"""Jetstream and Tap restart on their data and ports: they resume from their own cursors, nothing twice, no gap.

The pure part (no services): the registry's refusals, Jetstream's environment on a restart, and how the
recorders resume (Jetstream's cursor, Tap's redeliveries). The rest runs the real programs on the embedded
runtime: a restart keeps the URL and data, a subscriber sees a disconnect, events sent while the program was
down arrive after it (its cursor), and no event is shown twice (a restart that replayed the relay from its
first event would show every earlier operation again, under new ``time_us``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol.firehose import FirehoseEvent
from atproto_bdd.protocol.jetstream import JetstreamRecorder, subscribe_url
from atproto_bdd.protocol.tap import TapRecorder, parse_event
from atproto_bdd.protocol.websocket import Subscription
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.docker_runtime.runtime import DockerRuntime
from atproto_bdd.services.jetstream import jetstream_environment
from atproto_bdd.services.network import Network
from atproto_bdd.services.registry import SERVICES
from atproto_bdd.services.specs import RelayService, RelaySpec
from atproto_bdd.settings import Settings
from atproto_bdd.waiting import poll
from atproto_bdd.world import World
from atproto_bdd.world.bsky import POST
from atproto_bdd.world.events import EventQuery, repeated
from atproto_bdd.world.jetstream import event_key

# -- without services ---------------------------------------------------------------------


def test_the_docker_runtime_refuses_to_restart_jetstream_or_tap_saying_why() -> None:
    docker = DockerRuntime(Settings())
    with pytest.raises(UsageError, match=r"docker runtime cannot run Jetstream: no official image.*-D runtime=local"):
        docker.restart("jetstream", None, None)
    with pytest.raises(UsageError, match=r"docker runtime cannot run Tap"):
        docker.restart("tap", None, None)


def test_the_docker_runtime_refuses_to_restart_the_appview_saying_which_runtime_can() -> None:
    with pytest.raises(UsageError, match=r"docker runtime cannot restart the AppView .* local runtime only"):
        DockerRuntime(Settings()).restart("appview", None, None)


def test_a_service_without_a_restarter_is_refused() -> None:
    with pytest.raises(UsageError, match=r"Toxiproxy cannot be restarted on its own"):
        SERVICES["faults"].restarter("local")
    assert SERVICES["jetstream"].restarter("local").__name__ == "relaunch"


def test_restarting_what_the_network_does_not_run_says_how_to_declare_it() -> None:
    network = Network(runtime=None, plc=object())  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"no Jetstream to restart \(declare one: Given Jetstream on the relay\)"):
        network.restart("jetstream")
    with pytest.raises(UsageError, match=r"no relay to restart \(declare one: Given a relay crawling PDS A\)"):
        network.restart("relay")


def test_a_restarted_jetstream_resumes_from_its_cursor_not_from_the_relays_first_event() -> None:
    relay = RelayService("relay-1", RelaySpec(), "http://127.0.0.1:5", "http://127.0.0.1:6", (), Path("/x"), (5, 7))
    first = jetstream_environment(relay, data_dir=Path("/d"), port=1, metrics_port=2)
    again = jetstream_environment(relay, data_dir=Path("/d"), port=1, metrics_port=2, resume=True)
    assert first["JETSTREAM_OVERRIDE_RELAY_CURSOR"] == "0"  # the override wins over the stored cursor
    assert "JETSTREAM_OVERRIDE_RELAY_CURSOR" not in again
    assert first["JETSTREAM_WORKER_COUNT"] == again["JETSTREAM_WORKER_COUNT"] == "1"  # a cursor in relay order


def _tap_message(event_id: int, rev: str, rkey: str = "3k") -> str:
    record = {"did": "did:plc:a", "rev": rev, "collection": POST, "rkey": rkey, "action": "create",
              "record": {"text": "x"}, "cid": "bafy", "live": True}  # fmt: skip
    return json.dumps({"id": event_id, "type": "record", "record": record})


def test_recorders_resume_jetstream_after_its_latest_microsecond_and_tap_without_a_cursor() -> None:
    jet = JetstreamRecorder("ws://127.0.0.1:1/subscribe?cursor=1")
    assert jet.resume_cursor() == 1
    jet._events.append(FirehoseEvent("commit", 1_700_000_000_000_123, "did:plc:a", {}))
    assert jet.resume_cursor() == 1_700_000_000_000_124  # Jetstream's cursor is inclusive
    assert TapRecorder("ws://127.0.0.1:1/channel").resume_cursor() is None  # Tap keeps what is due


def test_tap_redeliveries_are_known_by_their_message_not_their_id() -> None:
    tap = TapRecorder("ws://127.0.0.1:1/channel")
    earlier = parse_event(_tap_message(1, "rev1"))
    tap._earlier = frozenset({json.dumps(earlier.body["tap"], sort_keys=True, separators=(",", ":"))})
    assert tap.repeated(parse_event(_tap_message(1, "rev1")))  # the same message again
    assert not tap.repeated(parse_event(_tap_message(1, "rev2")))  # Tap's ids start again after a restart
    assert not tap.repeated(parse_event(_tap_message(2, "rev1", "3l")))


def test_repeated_lists_each_later_copy() -> None:
    events = [FirehoseEvent("commit", n, "did:plc:a", {"rev": rev}) for n, rev in enumerate("abac")]
    assert [e.seq for e in repeated(events, lambda e: e.body["rev"])] == [2]


# -- the real programs --------------------------------------------------------------------


@pytest.fixture
def world(runtime: LocalRuntime) -> Iterator[World]:
    world = World(runtime)
    try:
        world.add_pds("A")
        world.add_relay("A")
        yield world
    finally:
        world.close(wait=True)


def _posts(events: list[FirehoseEvent], did: str) -> list[str]:
    """The texts of the post creates in ``events`` by ``did``, in order."""
    return [
        (e.body.get("record") or {}).get("text", "")
        for e in events
        if e.type == "commit" and e.did == did and e.ops and e.ops[0].collection == POST and e.ops[0].action == "create"
    ]


def _wait_posts(recorder: object, did: str, texts: list[str], timeout: float = 15.0) -> list[str]:
    seen: list[str] = []

    def arrived() -> bool:
        seen[:] = _posts(recorder.events, did)  # type: ignore[attr-defined]
        return len(seen) >= len(texts)

    poll(arrived, timeout=timeout, on_timeout=lambda: AssertionError(f"only {seen} arrived, wanted {texts}"))
    time.sleep(0.3)  # a duplicate would come right behind
    return _posts(recorder.events, did)  # type: ignore[attr-defined]


def test_restarting_what_the_world_does_not_run_says_how_to_declare_it(world: World) -> None:
    with pytest.raises(UsageError, match=r"no Jetstream yet \(declare one: Given Jetstream on the relay\)"):
        world.restart_service("jetstream")
    with pytest.raises(UsageError, match=r"no Tap yet \(declare one: Given Tap on the relay"):
        world.restart_service("tap")


def test_jetstream_restarts_on_its_data_and_resumes_from_its_cursor(world: World) -> None:
    alice = world.create_account("alice.test")
    jet = world.add_jetstream()
    alice.post("one")
    jet.wait_caught_up()
    service, recorder = jet.service, jet.recorder
    with Subscription(subscribe_url(jet.url, cursor=1), timeout=10.0) as live:  # a subscriber of its own
        assert live.first(2.0) is not None
        jet.restart()
        for _ in live.messages(idle=3.0):  # what Jetstream had sent before it stopped
            pass
        assert live.ended == "closed"  # it saw the disconnect
    assert jet.service.url == service.url and jet.service.data_dir == service.data_dir
    assert jet.service.pid != service.pid
    alice.post("two")

    # While Jetstream is down, the relay goes on: Jetstream picks that up from its stored cursor (no gap).
    with jet.restarting():
        world.runtime.stop(jet.service.id, wait=True)
        alice.post("three, while Jetstream is down")
        world.network.restart("jetstream")
    alice.post("four")

    wanted = ["one", "two", "three, while Jetstream is down", "four"]
    assert _wait_posts(jet.recorder, alice.did, wanted) == wanted  # each once, in order
    assert jet.recorder is recorder and recorder.failure is None and not recorder.repeats
    jet.expect_each_once()
    # Jetstream's own store: a new subscription from its first event replays each event once.
    replayed = JetstreamRecorder(subscribe_url(jet.url, cursor=1), name="replay").start()
    try:
        assert _wait_posts(replayed, alice.did, wanted) == wanted
        assert not repeated(replayed.events, event_key)
    finally:
        replayed.close()


def test_a_relay_restart_restarts_jetstream_which_goes_on(world: World) -> None:
    alice = world.create_account("alice.test")
    jet = world.add_jetstream()
    alice.post("before")
    pid = jet.service.pid
    world.restart_relay()
    assert jet.service.pid != pid and world.network.jetstream is jet.service
    alice.post("after")
    assert _wait_posts(jet.recorder, alice.did, ["before", "after"]) == ["before", "after"]
    jet.expect_each_once()


def test_tap_restarts_on_its_database_and_delivers_each_event_once(world: World) -> None:
    alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
    alice.post("one")
    tap = world.add_tap()
    tap.track(alice.did)
    _wait_posts(tap.recorder, alice.did, ["one"])
    service, recorder = tap.service, tap.recorder
    tap.restart()
    assert tap.service.url == service.url and tap.service.pid != service.pid
    assert (tap.info(alice.did) or {}).get("state") == "active"  # it still tracks alice.test
    assert tap.info(bob.did) is None
    alice.post("two")

    # While Tap is down, the relay goes on: Tap picks that up from the cursor it saved (every second).
    tap.wait_caught_up()
    time.sleep(1.2)
    with tap.restarting():
        world.runtime.stop(tap.service.id, wait=True)
        alice.post("three, while Tap is down")
        world.network.restart("tap")
    alice.post("four")

    wanted = ["one", "two", "three, while Tap is down", "four"]
    assert _wait_posts(tap.recorder, alice.did, wanted) == wanted
    assert tap.recorder is recorder and recorder.failure is None
    tap.expect_each_once()
    tap.expect_none(EventQuery(did=bob.did))  # its cursor from before the restart counts


def test_the_appview_restarts_on_its_port_and_database_and_indexes_what_comes_after(runtime: LocalRuntime) -> None:
    world = World(runtime)
    try:
        appview = world.add_appview()
        alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
        bob.follow(alice)
        before = alice.post("before the AppView restarts")
        appview.wait_indexed()
        service = appview.service
        assert world.restart_service("appview") is appview
        # The same service: id (its log goes on), URL (its DID document names it), database.
        assert appview.service == service
        # Its cursors are in memory: it reads its PDS again from the start, and what it indexed stays.
        assert before.uri in appview.timeline(bob)
        after = alice.post("after the AppView restarted")
        appview.wait_indexed()
        assert appview.timeline(bob)[:2] == [after.uri, before.uri]
        log = runtime.log_tail(service.id, 1000)
        assert log.count(f"listening on {service.url}") == 2, log
    finally:
        world.close(wait=True)
