"""Steps for the Bluesky AppView: what a client shows - timelines, profiles, counts, threads, notifications, feeds.

`Given an AppView` starts the network's AppView (before its PDSes, which are
configured with it; or tag the feature ``@appview``). Checks ask through the
account's PDS, which proxies ``app.bsky.*`` to the AppView as in production.
"Then" steps first wait until the AppView has indexed everything its PDSes
sequenced (``appview_timeout``); "shows" then asks until it holds, and "does
not show" judges once, after that proof. Failures show what the AppView
returned last.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..world.bsky import POST
from .support import atproto_step, uses, world_of


@given("an AppView")
@uses("appview")
@atproto_step
def given_appview(context: Any) -> None:
    """Starts the network's Bluesky AppView (``@atproto/bsky`` on PostgreSQL), before the network's PDSes.

    Every PDS started afterwards proxies ``app.bsky.*`` to it, and it indexes
    every PDS of the network. Needs the local runtime; the first AppView of a
    run installs it, Node.js 22 and PostgreSQL if needed (progress lines).
    """
    world_of(context).add_appview()


# -- actions ---------------------------------------------------------------------------------


@given('{handle:Handle} replies "{text}" to {other:Handle}\'s latest post')
@when('{handle:Handle} replies "{text}" to {other:Handle}\'s latest post')
@atproto_step
def when_replies(context: Any, handle: str, text: str, other: str) -> None:
    """Posts TEXT as a reply to OTHER's latest post (the thread's root follows the parent's)."""
    world = world_of(context)
    world.account(handle).reply(world.account(other).latest(POST), world.resolve(text))


@given('{handle:Handle} quotes {other:Handle}\'s latest post saying "{text}"')
@when('{handle:Handle} quotes {other:Handle}\'s latest post saying "{text}"')
@atproto_step
def when_quotes(context: Any, handle: str, other: str, text: str) -> None:
    """Posts TEXT with OTHER's latest post embedded (``app.bsky.embed.record``)."""
    world = world_of(context)
    world.account(handle).quote(world.account(other).latest(POST), world.resolve(text))


@given("{handle:Handle} mentions {other:Handle} in a post")
@when("{handle:Handle} mentions {other:Handle} in a post")
@atproto_step
def when_mentions(context: Any, handle: str, other: str) -> None:
    """Posts ``hello @OTHER`` with a mention facet for OTHER's DID."""
    world = world_of(context)
    world.account(handle).mention(world.account(other))


@given("{handle:Handle} blocks {other:Handle}")
@when("{handle:Handle} blocks {other:Handle}")
@atproto_step
def when_blocks(context: Any, handle: str, other: str) -> None:
    """Creates HANDLE's ``app.bsky.graph.block`` record for OTHER."""
    world = world_of(context)
    world.account(handle).block(world.account(other))


@given("{handle:Handle} mutes {other:Handle}")
@when("{handle:Handle} mutes {other:Handle}")
@atproto_step
def when_mutes(context: Any, handle: str, other: str) -> None:
    """Mutes OTHER for HANDLE (``app.bsky.graph.muteActor``, kept by the AppView: needs one)."""
    world = world_of(context)
    world.appview  # noqa: B018 - a mute without an AppView fails here, with the reason
    world.account(handle).mute(world.account(other))


# -- timelines ---------------------------------------------------------------------------------


@then("{viewer:Handle}'s timeline shows {author:Handle}'s latest post")
@atproto_step
def then_timeline_shows(context: Any, viewer: str, author: str) -> None:
    """Waits for indexing, then asks VIEWER's timeline (``getTimeline``) until it holds AUTHOR's latest post."""
    world = world_of(context)
    world.appview.expect_in_timeline(world.account(viewer), world.account(author).latest(POST).uri)


@then("{viewer:Handle}'s timeline does not show {author:Handle}'s latest post")
@atproto_step
def then_timeline_not_shows(context: Any, viewer: str, author: str) -> None:
    """Waits until the AppView has indexed everything, then checks VIEWER's timeline lacks AUTHOR's latest post."""
    world = world_of(context)
    world.appview.expect_not_in_timeline(world.account(viewer), world.account(author).latest(POST).uri)


# -- counts ---------------------------------------------------------------------------------------


@then("{handle:Handle}'s profile shows {count:Count} {what:Word}")
@atproto_step
def then_profile_shows(context: Any, handle: str, count: int, what: str) -> None:
    """Asks ``getProfile`` until HANDLE's WHAT count is COUNT (WHAT: follower(s), follow(s) or following, post(s))."""
    world = world_of(context)
    world.appview.expect_profile_count(world.account(handle), what, count)


@then("{viewer:Handle} finds {handle:Handle}'s profile by its handle")
@atproto_step
def then_profile_by_handle(context: Any, viewer: str, handle: str) -> None:
    """Asks ``getProfile`` with the handle HANDLE (as VIEWER) until it names HANDLE's DID and shows HANDLE.

    The AppView shows a handle only once it has verified it with the PDS that
    hosts it; an unverified one shows as ``handle.invalid``.
    """
    world = world_of(context)
    world.appview.expect_profile_by_handle(world.account(viewer), world.account(handle))


@then("{handle:Handle}'s latest post has {count:Count} {what:Word}")
@atproto_step
def then_post_has(context: Any, handle: str, count: int, what: str) -> None:
    """Asks ``getPosts`` until HANDLE's latest post has COUNT WHAT (like(s), repost(s), reply/replies)."""
    world = world_of(context)
    account = world.account(handle)
    world.appview.expect_post_count(account.latest(POST).uri, account, what, count)


# -- threads, notifications, feeds ------------------------------------------------------------------


@then("the thread of {handle:Handle}'s latest post shows the reply by {other:Handle}")
@atproto_step
def then_thread_shows_reply(context: Any, handle: str, other: str) -> None:
    """Asks ``getPostThread`` until a direct reply to HANDLE's latest post is by OTHER."""
    world = world_of(context)
    account = world.account(handle)
    world.appview.expect_reply_in_thread(account.latest(POST).uri, account, world.account(other))


@then("{handle:Handle} has a {reason:Word} notification from {other:Handle}")
@atproto_step
def then_has_notification(context: Any, handle: str, reason: str, other: str) -> None:
    """Asks ``listNotifications`` until HANDLE has one for REASON by OTHER.

    REASON: like, repost, follow, reply, mention or quote.
    """
    world = world_of(context)
    world.appview.expect_notification(world.account(handle), reason, world.account(other))


@then("{viewer:Handle}'s view of the feed {rkey:Word} of {owner:Handle} shows {author:Handle}'s latest post")
@atproto_step
def then_feed_view_shows(context: Any, viewer: str, rkey: str, owner: str, author: str) -> None:
    """Asks ``getFeed`` through VIEWER's PDS until it holds AUTHOR's latest post.

    The AppView calls the feed generator the way production does (its DID's
    ``#bsky_fg`` endpoint, with a service-auth token for VIEWER).
    """
    world = world_of(context)
    feed = world.feed(owner, rkey)
    world.appview.expect_in_feed(world.account(viewer), feed.uri, world.account(author).latest(POST).uri)
