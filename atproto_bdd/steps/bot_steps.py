"""Steps for apps that act as an account - bots: what they reply, like and follow, and what they do not.

The bot's account is an account of the network (``account = "pingbot.test"``
in the app's ``[apps.NAME]`` table creates it before the app starts, and
gives it ``${app.NAME.password}`` and ``${app.NAME.app_password}``). Each
positive step waits up to ``app_timeout`` for the record in the bot's
repository; each negative first waits until the app acting as it has caught
up with the firehose it reads (``cursor_http``), after the action.
"""

from __future__ import annotations

from typing import Any

from behave import then

from ..world.bsky import POST
from .support import atproto_step, world_of


@then('{bot:Handle} replies "{text}" to {other:Handle}\'s latest post')
@atproto_step
def then_replies_to_latest_post(context: Any, bot: str, text: str, other: str) -> None:
    """Waits (``app_timeout``) for BOT's reply TEXT to OTHER's latest post, its root and parent refs right.

    The parent is that post (URI and CID); the root is the post's own root if
    it is a reply itself, else the post. A reply that differs is shown with
    what differs.
    """
    world = world_of(context)
    world.bot(bot).expect_reply(world.account(other).latest(POST), world.resolve(text))


@then("{bot:Handle} does not reply to {other:Handle}'s latest post")
@atproto_step
def then_does_not_reply(context: Any, bot: str, other: str) -> None:
    """Checks BOT has no reply to OTHER's latest post, once the app acting as BOT has caught up (``cursor_http``)."""
    world = world_of(context)
    world.bot(bot).expect_no_reply(world.account(other).latest(POST))


@then("{bot:Handle} likes {other:Handle}'s latest post")
@atproto_step
def then_likes_latest_post(context: Any, bot: str, other: str) -> None:
    """Waits (``app_timeout``) for BOT's like of OTHER's latest post (its URI and CID)."""
    world = world_of(context)
    world.bot(bot).expect_like(world.account(other).latest(POST))


@then("{handle:Handle} follows {other:Handle}")
@atproto_step
def then_follows(context: Any, handle: str, other: str) -> None:
    """Waits (``app_timeout``) until HANDLE's repository holds an ``app.bsky.graph.follow`` of OTHER."""
    world = world_of(context)
    world.bot(handle).expect_follow(world.account(other))


@then("{handle:Handle} does not follow {other:Handle}")
@atproto_step
def then_does_not_follow(context: Any, handle: str, other: str) -> None:
    """Checks HANDLE does not follow OTHER, once the app acting as HANDLE has caught up (``cursor_http``)."""
    world = world_of(context)
    world.bot(handle).expect_no_follow(world.account(other))
