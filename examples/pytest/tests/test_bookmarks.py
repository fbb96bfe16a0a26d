"""The bookmarks backend against a real PDS: what it writes is in the user's repository and on the firehose."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_a_bookmark_lands_in_the_users_repository(client, atproto_world, atproto_account):
    alice = atproto_account("alice.test")
    atproto_world.open_window()

    answer = await client.post(
        "/bookmarks", json={"handle": "alice.test", "password": alice.password, "url": "https://a.example"}
    )

    assert answer.status_code == 201, answer.text
    [stored] = alice.list_records("com.example.bookmark")
    assert stored.uri == answer.json()["uri"]
    assert stored.value["subject"] == "https://a.example"
    event = atproto_world.event_query("commit", "alice.test", action="create", collection="com.example.bookmark")
    atproto_world.expect_on_pds("A", event)


async def test_bookmarks_are_read_back_from_the_pds(client, atproto_account):
    alice = atproto_account("alice.test")
    alice.create_record("com.example.bookmark", {"subject": "https://b.example", "createdAt": "2026-01-01T00:00:00Z"})

    answer = await client.get("/bookmarks/alice.test")

    assert answer.json() == {"bookmarks": ["https://b.example"]}


async def test_a_wrong_password_writes_nothing(client, atproto_world, atproto_account):
    alice = atproto_account("alice.test")
    atproto_world.open_window()

    answer = await client.post(
        "/bookmarks", json={"handle": "alice.test", "password": "wrong", "url": "https://c.example"}
    )

    assert answer.status_code == 401
    assert alice.list_records("com.example.bookmark") == []
    nothing = atproto_world.event_query("commit", "alice.test", collection="com.example.bookmark")
    atproto_world.expect_none_on_pds("A", nothing)  # proved against the PDS's head, not after a sleep


async def test_an_unknown_handle_is_a_404(client):
    assert (await client.get("/bookmarks/nobody.test")).status_code == 404


async def test_each_test_has_its_own_network(client, atproto_world):
    assert atproto_world.accounts == {}
    assert (await client.get("/bookmarks/alice.test")).status_code == 404
