"""pingbot from pytest: the same checks as the features, through the fixtures and the world's API."""

from __future__ import annotations

import pytest

from atproto_bdd.world.bsky import POST


@pytest.fixture
def bot(atproto_appview, atproto_world, atproto_app):
    """A network with an AppView (before any PDS: the SDK's login() reads the bot's profile), PDS A and pingbot."""
    atproto_world.ensure_pds("A")
    return atproto_app("pingbot")


def test_a_ping_gets_a_pong_and_a_like(bot, atproto_world, atproto_account):
    alice = atproto_account("alice.test")
    pingbot = atproto_world.bot("pingbot.test")

    alice.post("@pingbot.test ping")  # the mention becomes a facet, as a client makes it

    ping = alice.latest(POST)
    reply = pingbot.expect_reply(ping, "pong")  # waits up to app_timeout; checks root and parent
    assert reply.value["reply"]["parent"]["uri"] == ping.uri
    pingbot.expect_like(ping)


def test_a_mention_without_a_ping_gets_no_reply(bot, atproto_world, atproto_account):
    alice = atproto_account("alice.test")

    alice.post("@pingbot.test hello there")

    # Proved, not slept on: the bot's /cursor passes the post before the repository is read.
    atproto_world.bot("pingbot.test").expect_no_reply(alice.latest(POST))


def test_the_bot_signs_in_with_an_app_password(bot, atproto_world):
    assert bot.account().handle == "pingbot.test"
    bot.wait_for_log("as pingbot.test", timeout=5)
    assert bot.account().app_password() not in bot.logs()  # secrets are masked in what the app printed
