"""Apps that act as an account (bots), against real services: credentials, replies, likes, and failures.

The bot is features/apps/ping_bot.py (it answers "@pingbot.test ping" with "pong" and a like); other
"bots" here are the framework writing as the bot's account, to make replies that are wrong on purpose.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import project_world

from atproto_bdd.diagnostics import diagnostic_sections
from atproto_bdd.errors import UsageError
from atproto_bdd.services.app_process import AppStartError
from atproto_bdd.world import World
from atproto_bdd.world.bsky import POST

BOT = Path(__file__).resolve().parent.parent / "features" / "apps" / "ping_bot.py"
#: An app that dies as an SDK's login() does in a network without an AppView.
NEEDS_APPVIEW = "print('BadRequestError: No service configured for app.bsky.actor.getProfile'); raise SystemExit(1)"
CONFIG = f"""
[apps.pingbot]
command = ["{sys.executable}", "{BOT}"]
ready_http = "/"
did = "none"
account = "pingbot.test"
cursor_http = "/cursor"

[apps.pingbot.env]
PORT = "${{app.pingbot.port}}"
PDS_URL = "${{A.url}}"
BOT_HANDLE = "${{app.pingbot.handle}}"
BOT_PASSWORD = "${{app.pingbot.app_password}}"

[apps.needs-appview]
command = ["{sys.executable}", "-c", "{NEEDS_APPVIEW}"]
did = "none"

[apps.anonymous]
command = ["{sys.executable}", "-c", "pass"]
did = "none"
env = {{ PASSWORD = "${{app.anonymous.password}}" }}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with project_world(tmp_path, CONFIG) as world:
        yield world


def test_a_bot_that_replies_fails_the_negative_saying_what_it_wrote(world: World) -> None:
    world.app("pingbot").start()
    alice = world.create_account("alice.test")
    alice.post("@pingbot.test ping")  # a mention facet, as a client makes it: the bot answers
    ping = alice.latest(POST)
    bot = world.bot("pingbot.test")
    bot.expect_reply(ping, "pong")
    bot.expect_like(ping)
    with pytest.raises(AssertionError) as caught:
        bot.expect_no_reply(ping)
    message = str(caught.value)
    assert message.startswith("pingbot.test replied to at://") and "says 'pong'" in message, message
    assert world.account("pingbot.test").latest(POST).uri in message  # latest: what the bot wrote


def test_a_reply_in_the_wrong_thread_is_shown_with_what_differs(world: World) -> None:
    alice, bot = world.create_account("alice.test"), world.create_account("pingbot.test")
    other = alice.post("another thread")
    ping = alice.post("@pingbot.test ping")
    bot.post("pong", reply={"root": other.strong_ref(), "parent": ping.strong_ref()})  # root should be ping
    world.settings = world.settings.__class__(**{**world.settings.__dict__, "app_timeout": 0.3})
    with pytest.raises(AssertionError) as caught:
        world.bot("pingbot.test").expect_reply(ping, "pong")
    message = str(caught.value)
    assert "its replies to that post differ" in message and f"reply.root {other.strong_ref()}" in message, message
    assert "reply.parent" not in message, message


def test_credentials_of_an_account_are_placeholders_and_masked(world: World) -> None:
    alice = world.create_account("alice.test")
    app_password = world.resolve("${alice.test.app_password}")
    assert app_password == alice.app_password() and app_password != alice.password
    assert world.resolve("${alice.test.password}") == alice.password
    alice.sign_in(app_password)  # an app password signs in as the account
    from atproto_bdd.masking import masker

    assert app_password not in masker.mask(f"BOT_PASSWORD={app_password}")


def test_an_app_without_an_account_has_no_credentials(world: World) -> None:
    with pytest.raises(UsageError, match=r'the app anonymous has no account of its own: add account = "bot.test"'):
        world.app("anonymous").start()


def test_a_reserved_handle_is_named_as_reserved(world: World) -> None:
    with pytest.raises(UsageError, match=r"refuses the handle bot\.test: 'bot' is one of the about 1,000 names"):
        world.create_account("bot.test")


def test_a_failed_start_shows_its_log_and_what_an_appview_error_means(world: World) -> None:
    with pytest.raises(AppStartError) as caught:
        world.app("needs-appview").start()
    assert "hint: the PDS has no AppView" in str(caught.value) and "Given an AppView" in str(caught.value)
    log = dict(diagnostic_sections(world))["app needs-appview log (last 15 lines)"]
    assert "No service configured for app.bsky.actor.getProfile" in log, log  # not "(empty)"
    assert "hint: the PDS has no AppView" in log, log
