"""Firehose frame decoding and event matching, on frames built here."""

from __future__ import annotations

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.firehose import (
    FirehoseError,
    FirehoseEvent,
    FirehoseRecorder,
    decode_frame,
    parse_cursor,
    subscribe_url,
)
from atproto_bdd.protocol.multiformats import CID
from atproto_bdd.world.events import (
    EventQuery,
    describe_event,
    describe_events,
    expect_event,
    expect_no_event,
    require_event_type,
)

POST_CID = CID.compute(b"post")


def frame(header: dict, body: dict) -> bytes:
    return dagcbor.encode(header) + dagcbor.encode(body)


def commit(seq: int, did: str, *ops: tuple[str, str]) -> bytes:
    body = {
        "seq": seq,
        "repo": did,
        "time": "2026-01-01T00:00:00.000Z",
        "ops": [{"action": action, "path": path, "cid": POST_CID} for action, path in ops],
        "blocks": b"",
    }
    return frame({"op": 1, "t": "#commit"}, body)


def test_commit_frame() -> None:
    event = decode_frame(commit(7, "did:plc:alice", ("create", "app.bsky.feed.post/3kabc")))
    assert (event.type, event.seq, event.did, event.time) == ("commit", 7, "did:plc:alice", "2026-01-01T00:00:00.000Z")
    (op,) = event.ops
    assert (op.action, op.collection, op.rkey, str(op.cid)) == ("create", "app.bsky.feed.post", "3kabc", str(POST_CID))


def test_account_and_identity_frames() -> None:
    account = decode_frame(
        frame({"op": 1, "t": "#account"}, {"seq": 2, "did": "did:plc:a", "active": False, "status": "deactivated"})
    )
    assert (account.type, account.did, account.status, account.active) == ("account", "did:plc:a", "deactivated", False)
    identity = decode_frame(frame({"op": 1, "t": "#identity"}, {"seq": 1, "did": "did:plc:a", "handle": "a.test"}))
    assert identity.type == "identity" and describe_event(identity) == "#1 identity did:plc:a: handle a.test"


def test_error_frame_raises_with_its_name() -> None:
    with pytest.raises(FirehoseError) as caught:
        decode_frame(frame({"op": -1}, {"error": "FutureCursor", "message": "Cursor in the future."}))
    assert (caught.value.error, str(caught.value)) == ("FutureCursor", "FutureCursor: Cursor in the future.")


@pytest.mark.parametrize("data", [b"\xff\x00", dagcbor.encode({"op": 1}), frame({"op": 2}, {})])
def test_malformed_frames(data: bytes) -> None:
    with pytest.raises(FirehoseError, match="MalformedFrame"):
        decode_frame(data)


def test_cursor_parsing() -> None:
    assert parse_cursor("0") == 0 and parse_cursor(42) == 42
    with pytest.raises(UsageError, match="cursor 'latest' is not a sequence number"):
        parse_cursor("latest")
    with pytest.raises(UsageError):
        parse_cursor("-1")


def test_subscribe_url() -> None:
    assert subscribe_url("http://localhost:1234", cursor=0) == (
        "ws://localhost:1234/xrpc/com.atproto.sync.subscribeRepos?cursor=0"
    )
    assert subscribe_url("https://relay.test/").startswith("wss://relay.test/xrpc/")


def test_queries_match_type_account_action_and_collection() -> None:
    created = decode_frame(commit(3, "did:plc:alice", ("create", "app.bsky.feed.post/1")))
    deleted = decode_frame(commit(4, "did:plc:alice", ("delete", "app.bsky.feed.post/1")))
    empty = decode_frame(commit(2, "did:plc:alice"))
    assert EventQuery("commit", did="did:plc:alice").matches(created)
    assert not EventQuery("commit", did="did:plc:alice").matches(empty)  # repository initialisation
    assert not EventQuery("commit", did="did:plc:bob").matches(created)
    assert EventQuery("commit", action="delete", collection="app.bsky.feed.post").matches(deleted)
    assert not EventQuery("commit", action="delete", collection="app.bsky.feed.post").matches(created)
    assert not EventQuery("commit", collection="app.bsky.feed.like").matches(created)
    assert not EventQuery("account").matches(created)
    # An NSID's authority is case-insensitive, its name is not: "shows no ... App.Bsky.Feed.post" must see the post.
    assert EventQuery("commit", collection="App.Bsky.Feed.post").matches(created)
    assert not EventQuery("commit", collection="app.bsky.feed.Post").matches(created)


def test_descriptions_use_handles() -> None:
    names = {"did:plc:alice": "alice.test"}.get
    query = EventQuery("commit", did="did:plc:alice", action="create", collection="app.bsky.feed.post")
    assert query.describe(lambda d: names(d) or d) == "a commit by alice.test creating app.bsky.feed.post"
    assert (
        EventQuery("identity", did="did:plc:alice").describe(lambda d: names(d) or d)
        == "an identity event for alice.test"
    )
    events = [decode_frame(commit(i, "did:plc:alice", ("create", f"app.bsky.feed.post/{i}"))) for i in range(3)]
    assert describe_events(events, lambda d: names(d) or d, limit=2).splitlines() == [
        "    ... 1 earlier events",
        "    #1 00:00:00.000 commit alice.test: create app.bsky.feed.post/1",
        "    #2 00:00:00.000 commit alice.test: create app.bsky.feed.post/2",
    ]
    assert describe_events([]) == "    (no events)"


def test_unknown_event_type_lists_the_valid_ones() -> None:
    assert require_event_type("sync") == "sync"
    with pytest.raises(
        UsageError, match="unknown firehose event type 'handle'; known types: commit, identity, account, sync"
    ):
        require_event_type("handle")


def _recorder_holding(*events: FirehoseEvent) -> FirehoseRecorder:
    recorder = FirehoseRecorder("ws://127.0.0.1:9/unused", name="PDS A")  # never started: filled by hand
    for event in events:
        recorder._append(event=event)
    return recorder


def test_a_failed_expectation_mentions_a_match_before_the_window() -> None:
    body = {"seq": 1, "did": "did:plc:a", "time": "2026-01-01T00:00:10.500Z"}
    identity = decode_frame(frame({"op": 1, "t": "#identity"}, body))
    recorder = _recorder_holding(identity)
    query = EventQuery("identity", did="did:plc:a")
    names = {"did:plc:a": "alice.test"}.get
    with pytest.raises(AssertionError) as failure:
        expect_event(
            recorder,
            query,
            timeout=0.05,
            in_window=lambda e: (e.seq or 0) > 1,
            names=lambda did: names(did, did),
            where="the firehose of PDS A",
            whole_scenario_step="the firehose of PDS A has shown an identity event for alice.test",
        )
    message = str(failure.value)
    assert "did not show an identity event for alice.test" in message
    assert "at #1, before the When-steps" in message
    assert "use `Then the firehose of PDS A has shown an identity event for alice.test`" in message
    assert expect_event(recorder, query, timeout=0.05) is identity  # the whole stream


def test_a_negative_check_judges_only_the_window() -> None:
    ops = [{"action": "create", "path": "c/1"}]
    body = {"seq": 4, "repo": "did:plc:a", "time": "2026-01-01T00:00:10.500Z", "ops": ops}
    commit = decode_frame(frame({"op": 1, "t": "#commit"}, body))
    expect_no_event([commit], EventQuery("commit"), in_window=lambda e: (e.seq or 0) > 4)
    with pytest.raises(AssertionError, match="showed a commit"):
        expect_no_event([commit], EventQuery("commit"), in_window=lambda e: (e.seq or 0) > 3)


def test_a_recorder_that_stopped_says_why() -> None:
    recorder = _recorder_holding()
    recorder.closed = True
    recorder.failure = FirehoseError("RecorderFailed", "reading PDS A failed: ValueError: boom")
    with pytest.raises(FirehoseError, match="boom"):
        recorder.wait_for(lambda e: True, 1.0)
