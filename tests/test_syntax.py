from __future__ import annotations

import re

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol.syntax import (
    AtUri,
    handle_problem,
    is_did,
    is_handle,
    is_nsid,
    is_rkey,
    normalize_nsid,
    require_handle,
)


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


@pytest.mark.parametrize(
    "value,rule",
    [
        ("x" * 250 + ".test", "handle too long (255 > 253 characters)"),
        ("alice", "a handle has at least two labels separated by a dot, such as alice.test"),
        ("alice..test", "a label is empty (two dots in a row, or a dot at either end)"),
        ("a" * 64 + ".test", "label too long: aaaaaaaaaaaaaaaaaaaa...(64 characters) (64 > 63 characters"),
        ("al ice.test", "' ' in the label 'al ice': a handle has only ASCII letters, digits, hyphens and dots"),
        ("alice-.test", "the label 'alice-' starts or ends with a hyphen"),
        ("alice.1test", "the last label '1test' starts with a digit"),
    ],
)
def test_a_handle_that_breaks_a_rule_is_told_which(value: str, rule: str) -> None:
    assert handle_problem(value).startswith(rule)
    with pytest.raises(UsageError, match=re.escape(f"is not a valid handle: {rule}")):
        require_handle(value)


def test_the_rules_and_the_pattern_agree() -> None:
    import random

    alphabet = "ab1-._X"
    rng = random.Random(44)
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    samples += ["a" * n + ".test" for n in (62, 63, 64)] + [".".join(["a" * 63] * 4)[:k] + ".test" for k in (240, 248)]
    for value in samples:
        assert (handle_problem(value) is None) == is_handle(value), value


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
