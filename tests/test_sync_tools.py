"""Jetstream and Tap: strict parsing of their events (pure), and their processes in a real run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import hold_behave, sigkill_and_expect_gone, write_hold_project

from atproto_bdd.errors import UsageError
from atproto_bdd.parallel import plan_units
from atproto_bdd.protocol import jetstream, tap
from atproto_bdd.protocol.firehose import FirehoseError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.world import World
from atproto_bdd.world.events import EventQuery
from atproto_bdd.world.placeholders import known_placeholders, resolve_text
from atproto_bdd.world.tap import keeps

DID = "did:plc:abcdefghijklmnopqrstuvwx"
COMMIT = {
    "did": DID,
    "time_us": 1733000000000001,
    "kind": "commit",
    "commit": {
        "rev": "3kabc",
        "operation": "create",
        "collection": "app.bsky.feed.post",
        "rkey": "3kxyz",
        "record": {"$type": "app.bsky.feed.post", "text": "hi"},
        "cid": "bafyreib",
    },
}


def test_a_jetstream_commit_becomes_a_firehose_shaped_event() -> None:
    event = jetstream.parse_event(json.dumps(COMMIT), 1.0)
    assert (event.type, event.seq, event.did, event.body["rev"]) == ("commit", 1733000000000001, DID, "3kabc")
    assert [(op.action, op.collection, op.rkey) for op in event.ops] == [("create", "app.bsky.feed.post", "3kxyz")]
    assert EventQuery("commit", DID, action="create", collection="app.bsky.feed.post").matches(event)
    assert not EventQuery("commit", DID, action="delete").matches(event)


def test_jetstream_identity_and_account_events_keep_the_relay_seq() -> None:
    identity = {"did": DID, "time_us": 5, "kind": "identity", "identity": {"did": DID, "seq": 7, "time": "t"}}
    account = {"did": DID, "time_us": 6, "kind": "account", "account": {"did": DID, "active": False, "seq": 8,
               "time": "t", "status": "deactivated"}}  # fmt: skip
    assert jetstream.parse_event(json.dumps(identity)).body["seq"] == 7
    event = jetstream.parse_event(json.dumps(account))
    assert (event.type, event.status) == ("account", "deactivated")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: e.update(kind="sync"), "unknown kind"),
        (lambda e: e.update(time_us="1"), "'time_us' is str"),
        (lambda e: e.update(time_us=True), "'time_us' is bool"),
        (lambda e: e.update(did="alice.test"), "is not a DID"),
        (lambda e: e["commit"].update(operation="upsert"), "unknown operation"),
        (lambda e: e["commit"].pop("cid"), "lacks its record or CID"),
        (lambda e: e["commit"].update(operation="delete"), "a delete carries"),
        (lambda e: e["commit"].pop("rev"), "'rev' is NoneType"),
    ],
)
def test_jetstream_events_that_break_the_format_are_errors(change, why: str) -> None:
    data = json.loads(json.dumps(COMMIT))
    change(data)
    with pytest.raises(FirehoseError, match=why):
        jetstream.parse_event(json.dumps(data))


def test_jetstream_subscribe_urls() -> None:
    assert jetstream.subscribe_url("ws://127.0.0.1:6008") == "ws://127.0.0.1:6008/subscribe"
    url = jetstream.subscribe_url("http://127.0.0.1:6008", collections=["app.bsky.feed.like", "a.b.c"], cursor=1)
    assert url == "ws://127.0.0.1:6008/subscribe?wantedCollections=app.bsky.feed.like&wantedCollections=a.b.c&cursor=1"


def test_tap_record_and_identity_events() -> None:
    record = {"id": 3, "type": "record", "record": {"live": False, "did": DID, "rev": "3k", "collection": "a.b.c",
              "rkey": "r1", "action": "create", "record": {"x": 1}, "cid": "bafy"}}  # fmt: skip
    event = tap.parse_event(json.dumps(record))
    assert (event.type, event.seq, event.body["live"], event.ops[0].path) == ("commit", 3, False, "a.b.c/r1")
    identity = {"id": 4, "type": "identity", "identity": {"did": DID, "handle": "alice.test", "is_active": True,
                "status": "active"}}  # fmt: skip
    assert tap.parse_event(json.dumps(identity)).body["handle"] == "alice.test"
    with pytest.raises(FirehoseError, match="unknown event type"):
        tap.parse_event(json.dumps({"id": 5, "type": "account"}))
    with pytest.raises(FirehoseError, match="'is_active' is str"):
        tap.parse_event(
            json.dumps({"id": 5, "type": "identity", "identity": {**identity["identity"], "is_active": "y"}})
        )
    with pytest.raises(FirehoseError, match="not JSON"):
        tap.parse_event("{")


def test_tap_collection_filters_match_as_tap_does() -> None:
    assert keeps((), "app.bsky.feed.post")
    assert keeps(("app.bsky.feed.post",), "app.bsky.feed.post")
    assert not keeps(("app.bsky.feed.post",), "app.bsky.feed.like")
    assert keeps(("app.bsky.*",), "app.bsky.feed.like")
    assert not keeps(("app.bsky.*",), "com.example.thing")


class _Scope:
    accounts: dict = {}
    pdses: dict = {}
    started = True
    has_relay = True
    has_jetstream = True
    has_tap = False

    class network:  # noqa: N801 - stands in for the world's attribute
        class plc:  # noqa: N801
            url = "http://127.0.0.1:1"

    class relay:  # noqa: N801
        url = "http://127.0.0.1:2"

    class jetstream:  # noqa: N801
        url = "ws://127.0.0.1:3"


def test_placeholders_name_jetstream_and_tap_once_they_run() -> None:
    assert resolve_text("${jetstream.url}/subscribe", _Scope()) == "ws://127.0.0.1:3/subscribe"
    assert "${jetstream.url}" in known_placeholders(_Scope())
    assert "${tap.url}" not in known_placeholders(_Scope())
    with pytest.raises(UsageError, match=r"\$\{tap.url\} names Tap, which does not run in this network yet: declare"):
        resolve_text("${tap.url}", _Scope())


def test_parallel_runs_build_the_services_their_steps_start(tmp_path: Path) -> None:
    (tmp_path / "a.feature").write_text(
        "Feature: a\n  Background:\n    Given a relay crawling PDS A\n"
        "  Scenario: j\n    Given Jetstream on the relay\n  Scenario: t\n    Given Tap tracking alice.test\n"
    )
    (tmp_path / "b.feature").write_text("Feature: b\n  Scenario: plain\n    Given an account alice.test\n")
    tools = {Path(u.target).name: sorted(u.services) for u in plan_units([str(tmp_path)])}
    assert tools == {"a.feature:4": ["jetstream", "relay"], "a.feature:6": ["relay", "tap"], "b.feature:2": []}


# -- real processes ---------------------------------------------------------------------------

HOLD_STEP = """
import json, os, time
from behave import when

@when("the run holds")
def hold(context):
    world = context.atproto
    info = {"jetstream": world.network.jetstream.pid, "tap": world.network.tap.pid,
            "relay": world.network.relay.pid, "data": str(world.network.tap.data_dir)}
    with open(os.environ["HOLD_MARKER"] + ".tmp", "w") as f:
        json.dump(info, f)
    os.replace(os.environ["HOLD_MARKER"] + ".tmp", os.environ["HOLD_MARKER"])
    time.sleep(120)
"""

FEATURE = """Feature: hold
  Scenario: hold Jetstream and Tap
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And Jetstream on the relay
    And Tap tracking alice.test
    When the run holds
"""


def test_sigkill_of_behave_takes_jetstream_and_tap_down(tmp_path: Path) -> None:
    write_hold_project(tmp_path, FEATURE, HOLD_STEP)
    process, info = hold_behave(tmp_path, tmp_path / "marker.json", deadline_s=600)  # first use builds the tools
    sigkill_and_expect_gone(process, {name: int(info[name]) for name in ("jetstream", "tap", "relay")})


def test_other_runtimes_refuse_jetstream_and_tap_with_the_reason() -> None:
    from atproto_bdd.services.docker_runtime import DockerRuntime
    from atproto_bdd.services.jetstream import JetstreamSpec
    from atproto_bdd.services.specs import RelayService, RelaySpec
    from atproto_bdd.services.tap import TapSpec

    relay = RelayService(
        "relay-1", RelaySpec(), "http://127.0.0.1:9", "http://127.0.0.1:8", (), Path("/nowhere"), (9, 10)
    )
    runtime = DockerRuntime.__new__(DockerRuntime)  # never started: the refusal needs no engine
    network = SimpleNamespace(relay=relay)
    with pytest.raises(UsageError, match="cannot run Jetstream: no official image.*runtime=local"):
        runtime.launch("jetstream", JetstreamSpec(), network)
    with pytest.raises(UsageError, match="cannot run Tap: no official image.*runtime=local"):
        runtime.launch("tap", TapSpec(), network)


def test_the_relay_crawls_more_pdses_under_jetstream_restarting_it_and_a_network_has_one_tap() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        try:
            world.ensure_pds("A")
            world.ensure_pds("B")
            with pytest.raises(UsageError, match="declare one first"):
                world.add_jetstream()
            world.add_relay("A")
            jetstream = world.add_jetstream()
            pid = jetstream.service.pid
            world.add_relay("B")  # the relay restarts to crawl B: Jetstream stops before, starts again after
            assert jetstream.service.pid != pid and jetstream.recorder.failure is None
            bob = world.create_account("bob.test", pds="B")
            bob.post("from PDS B")
            jetstream.expect(world.event_query("commit", "bob.test"), whole=True)
            world.add_tap()
            with pytest.raises(UsageError, match="a network has one Tap"):
                world.add_tap(("app.bsky.feed.like",))
        finally:
            world.close(wait=True)


def test_negative_checks_fail_when_the_event_came_and_pass_when_it_did_not() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        try:
            world.ensure_pds("A")
            world.add_relay("A")
            alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
            carol = world.create_account("carol.test")
            jetstream = world.add_jetstream()
            tap = world.add_tap()
            tap.track(alice.did)
            post = alice.post("like me")
            world.open_window()
            bob.like(post)
            carol.post("untracked")
            likes = ["app.bsky.feed.like"]
            with pytest.raises(AssertionError, match="filtered to app.bsky.feed.like showed a commit by bob.test"):
                jetstream.expect_none(world.event_query("commit", "bob.test"), collections=likes)
            jetstream.expect_none(world.event_query("commit", "alice.test"), collections=likes)
            tap.expect_none(world.event_query("commit", "carol.test"))
            world.open_window()
            alice.post("tracked")
            with pytest.raises(AssertionError, match="Tap showed a commit by alice.test"):
                tap.expect_none(world.event_query("commit", "alice.test"))
        finally:
            world.close(wait=True)
