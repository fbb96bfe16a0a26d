"""A PDS restarts (fault injection): the same data, URL, DID and secrets; sessions, records and sequence go on.

Real services, on the line ATPROTO_BDD_PDS_VERSION picks (0.4 by default, 0.5 too). The restart is the
embedded runtime's (the host stops the PDS - server, connections, databases - and starts it again on its
data directory and port); the Docker runtime refuses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from atproto_bdd.errors import ServiceError, UsageError
from atproto_bdd.protocol.firehose import FirehoseEvent, replay, subscribe_url
from atproto_bdd.protocol.websocket import Subscription
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.docker_runtime.runtime import DockerRuntime
from atproto_bdd.services.specs import PdsService, PdsSpec
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.bsky import POST


@pytest.fixture
def world(runtime: LocalRuntime) -> Iterator[World]:
    world = World(runtime)
    try:
        world.add_pds("A")
        yield world
    finally:
        world.close(wait=True)


def post_commits(events: list[FirehoseEvent], did: str) -> list[FirehoseEvent]:
    return [e for e in events if e.type == "commit" and e.did == did and any(op.collection == POST for op in e.ops)]


def test_a_restarted_pds_keeps_its_url_accounts_sessions_records_and_sequence(world: World) -> None:
    pds = world.pds("A")
    alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
    before = alice.post("before the restart")
    head = world.pds_head("A")  # starts the world's recorder too: it must go on across the restart
    recorder = pds.firehose
    service, old_session = pds.service, alice.session
    with Subscription(subscribe_url(pds.url, cursor=head), timeout=5.0) as live:  # a subscriber of its own
        world.restart_pds("A")
        assert live.first(2.0) is None and live.ended == "closed"  # the PDS dropped it

    # The same service: URL, port, service DID, id (its log goes on), secrets.
    assert pds.service == service and pds.url == service.url and pds.did == f"did:web:localhost%3A{service.port}"
    assert pds.describe()["did"] == pds.did
    pds.admin_get("com.atproto.admin.getAccountInfo", {"did": alice.did})  # the same admin password
    # The old session (its access token: the JWT secret is the same) still works, and so does a sign-in.
    assert alice.xrpc_get("com.atproto.server.getSession")["did"] == alice.did
    assert alice.session is old_session
    alice.refresh_session()  # the refresh token is in the kept account database
    alice.sign_in()  # the password too
    assert alice.get_record(POST, before.rkey).value["text"] == "before the restart"
    # New writes get higher sequence numbers than everything before the restart.
    after = alice.post("after the restart")
    bob.post("bob after the restart")
    new_head = world.pds_head("A")
    assert new_head > head
    assert world.pds("A").firehose is recorder and recorder.failure is None  # the same recorder, resumed
    seqs = [e.seq for e in recorder.events]
    assert seqs == sorted(set(seqs)), seqs  # no gap filled twice, nothing out of order
    mine = post_commits(recorder.events, alice.did)
    assert [e.ops[0].rkey for e in mine] == [before.rkey, after.rkey]
    assert mine[-1].seq is not None and mine[-1].seq > head

    # A subscription from a cursor before the restart gets every event after it, across the restart.
    cursor = mine[0].seq
    assert cursor is not None
    replayed = replay(subscribe_url(pds.url, cursor=cursor), until_seq=new_head, timeout=10.0)
    assert [e.seq for e in replayed] == [s for s in seqs if s > cursor], (replayed, seqs)
    assert after.rkey in [op.rkey for e in post_commits(replayed, alice.did) for op in e.ops]

    # The world's firehose checks, positive and negative, work on after the restart.
    world.open_window()
    alice.post("in the window")
    event = world.expect_on_pds(
        "A", world.event_query("commit", "alice.test", action="create", collection="app.bsky.feed.post")
    )
    assert event.seq is not None and event.seq > new_head
    world.expect_none_on_pds("A", world.event_query("commit", "bob.test"))


def test_a_pds_restarts_before_anything_subscribed_and_again(world: World) -> None:
    pds = world.pds("A")
    alice = world.create_account("alice.test")
    alice.post("one")
    head = world.sequenced_head("A")  # from the host: no recorder started
    assert not pds.firehose_started
    world.restart_pds("A")
    world.restart_pds("A")  # twice: the log, the data directory and the port go on each time
    alice.post("two")
    assert world.sequenced_head("A") > head
    world.open_window()
    alice.post("three")
    event = world.expect_on_pds("A", world.event_query("commit", "alice.test", action="create", collection=POST))
    texts = [e.ops[0].rkey for e in post_commits(pds.firehose.events, alice.did)]  # recorded from 0: all of it
    assert len(texts) == 3 and event.seq == pds.firehose.last_seq
    assert "restarted on" in world.runtime.log_tail(pds.service.id, 50)


def test_a_restart_is_quick_and_a_pds_that_does_not_come_back_says_so(runtime: LocalRuntime) -> None:
    world = World(runtime)
    try:
        pds = world.add_pds("A")
        world.create_account("alice.test").post("hello")
        started = time.perf_counter()
        world.restart_pds("A")
        assert time.perf_counter() - started < runtime.settings.service_timeout
        runtime.stop(pds.service.id)  # gone: there is nothing to start again
        with pytest.raises(ServiceError, match=r"PDS A did not come back on http://localhost:\d+ after a restart"):
            world.restart_pds("A")
    finally:
        world.close(wait=True)
    with pytest.raises(UsageError, match=r"unknown PDS 'B'"):
        World(runtime).network.restart_pds("B")


def test_the_docker_runtime_refuses_a_restart() -> None:
    pds = PdsService("c0ffee", PdsSpec("A"), "http://localhost:1", 1, "did:web:localhost%3A1", "http://plc")
    with pytest.raises(UsageError, match=r"docker runtime cannot restart PDS A.*embedded runtime only"):
        DockerRuntime(Settings()).restart_pds(pds)


def test_a_relay_reads_on_after_the_restart(world: World) -> None:
    # The relay subscribes again within milliseconds of the drop, while the PDS still stops: the restart
    # must not wait on that connection, and the relay must carry the new events.
    world.add_relay("A")
    alice = world.create_account("alice.test")
    alice.post("before")
    query = world.event_query("commit", "alice.test", action="create", collection=POST)
    world.expect_on_relay(query, whole=True)
    world.restart_pds("A")
    world.open_window()
    after = alice.post("after")
    event = world.expect_on_relay(query)
    assert [op.rkey for op in event.ops] == [after.rkey]
    world.expect_none_on_relay(world.event_query("commit", "alice.test", action="delete"))
