"""The bookmarks indexer from pytest: the same checks as the features, through the fixtures and the world's API."""

from __future__ import annotations

import pytest

BOOKMARK = "com.example.bookmark"


@pytest.fixture
def indexer(atproto_world, atproto_relay, atproto_app):
    """PDS A, the relay crawling it, and the indexer reading the relay."""
    return atproto_app("indexer")


def test_a_bookmark_is_served_and_valid_against_the_lexicons(indexer, atproto_world, atproto_account):
    alice = atproto_account("alice.test")
    alice.create_record(BOOKMARK, {"url": "https://atproto.com", "createdAt": "2026-12-07T12:00:00.000Z"})

    attempt = atproto_world.query_app("indexer", "com.example.getBookmarks", {"limit": 10})  # waits for its cursor
    assert [b["url"] for b in attempt.result["bookmarks"]] == ["https://atproto.com"]
    atproto_world.lexicons.expect_valid_call("com.example.getBookmarks", params={"limit": 10}, output=attempt.result)
    atproto_world.lexicons.expect_scenario_records_valid()


def test_a_record_without_its_url_is_skipped_and_the_lexicon_says_why(indexer, atproto_world, atproto_account):
    alice = atproto_account("alice.test")
    alice.create_record(BOOKMARK, {"title": "no url", "createdAt": "2026-12-07T12:00:00.000Z"})

    assert atproto_world.query_app("indexer", "com.example.countBookmarks").result == {"count": 0}
    check = atproto_world.lexicons.validate_record(BOOKMARK, alice.get(alice.latest(BOOKMARK)).value)
    assert not check.valid and check.message == 'Record must have the property "url"'
    indexer.wait_for_log("skipped invalid record", timeout=5)
