from __future__ import annotations

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol.syntax import AtUri, is_did, is_handle, is_nsid, is_rkey, normalize_nsid, require_handle


@pytest.mark.parametrize(
    "value", ["alice.test", "bob.example.com", "a-b.c1.test", "XN--80AK6AA92E.COM", "alice.invalid"]
)
def test_valid_handles(value: str) -> None:
    assert is_handle(value)


@pytest.mark.parametrize(
    "value",
    ["alice", "alice.", ".alice.test", "alice..test", "alice.test on PDS A", "al ice.test", "alice.1test", "-a.test"],
)
def test_invalid_handles(value: str) -> None:
    assert not is_handle(value)


@pytest.mark.parametrize("value", ["app.bsky.feed.post", "com.example.project", "com.atproto.server.createAccount"])
def test_valid_nsids(value: str) -> None:
    assert is_nsid(value)


@pytest.mark.parametrize("value", ["app.bsky", "app.bsky.feed.post records", "app.bsky.feed.1post", "com..example.x"])
def test_invalid_nsids(value: str) -> None:
    assert not is_nsid(value)


def test_dids_and_rkeys() -> None:
    assert is_did("did:plc:abc123") and is_did("did:web:localhost%3A1234")
    assert not is_did("did:plc:") and not is_did("plc:abc")
    assert is_rkey("3kabc2xyz") and is_rkey("self")
    assert not is_rkey("..") and not is_rkey("a/b")


def test_require_handle_lowercases_and_explains() -> None:
    assert require_handle("Alice.Test") == "alice.test"
    with pytest.raises(UsageError, match="'alice' is not a valid handle"):
        require_handle("alice")


def test_at_uri_round_trip() -> None:
    uri = AtUri.parse("at://did:plc:abc/app.bsky.feed.post/3kabc")
    assert (uri.authority, uri.collection, uri.rkey) == ("did:plc:abc", "app.bsky.feed.post", "3kabc")
    assert str(uri) == "at://did:plc:abc/app.bsky.feed.post/3kabc"
    with pytest.raises(UsageError):
        AtUri.parse("https://example.com")


def test_an_nsids_authority_is_normalized_to_lower_case_and_its_name_kept() -> None:
    assert normalize_nsid("App.Bsky.Feed.post") == "app.bsky.feed.post"
    assert normalize_nsid("com.Example.fooBar") == "com.example.fooBar"
    assert normalize_nsid("app.bsky.feed.Post") == "app.bsky.feed.Post"
