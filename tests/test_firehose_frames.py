"""Firehose frame decoding and event matching, on frames built here."""

from __future__ import annotations

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.firehose import FirehoseError, decode_frame, parse_cursor, subscribe_url
from atproto_bdd.protocol.multiformats import CID
from atproto_bdd.world.events import EventQuery, describe_event, describe_events, require_event_type

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


def test_queries_can_ignore_events_before_a_window() -> None:
    body = {
        "seq": 1,
        "repo": "did:plc:a",
        "time": "2026-01-01T00:00:10.500Z",
        "ops": [{"action": "create", "path": "c/1"}],
    }
    event = decode_frame(frame({"op": 1, "t": "#commit"}, body))
    ten_and_a_half = event.timestamp
    assert EventQuery("commit", since=ten_and_a_half).matches(event)  # same millisecond counts
    assert not EventQuery("commit", since=ten_and_a_half + 0.001).matches(event)
    assert "since 00:00:10.501" in EventQuery("commit", since=ten_and_a_half + 0.001).describe()
