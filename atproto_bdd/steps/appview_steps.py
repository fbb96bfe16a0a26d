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

from ..errors import UsageError
from ..world.bsky import POST
from ..world.feeds import GENERATOR
from .support import atproto_step, uses, world_of

REASONS = ("like", "repost", "follow", "reply", "mention", "quote")
#: What a profile count is called (singular, plural, and "following" as clients show it) -> getProfile's field.
COUNTS = {
    "follower": "followersCount",
    "followers": "followersCount",
    "follow": "followsCount",
    "follows": "followsCount",
    "following": "followsCount",
    "post": "postsCount",
    "posts": "postsCount",
}
POST_COUNTS = {
    "like": "likeCount",
    "likes": "likeCount",
    "repost": "repostCount",
    "reposts": "repostCount",
    "reply": "replyCount",
    "replies": "replyCount",
    "quote": "quoteCount",
    "quotes": "quoteCount",
}


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
    account, uri = world.account(viewer), world.account(author).latest(POST).uri
    world.appview.expect(
        lambda: world.appview.timeline(account),
        lambda uris: uri in uris,
        f"{viewer}'s timeline holds {author}'s latest post",
        _uris(world),
    )


@then("{viewer:Handle}'s timeline does not show {author:Handle}'s latest post")
@atproto_step
def then_timeline_not_shows(context: Any, viewer: str, author: str) -> None:
    """Waits until the AppView has indexed everything, then checks VIEWER's timeline lacks AUTHOR's latest post."""
    world = world_of(context)
    account, uri = world.account(viewer), world.account(author).latest(POST).uri
    world.appview.expect_not(
        lambda: world.appview.timeline(account),
        lambda uris: uri in uris,
        f"{viewer}'s timeline holds {author}'s latest post",
        _uris(world),
    )


# -- counts ---------------------------------------------------------------------------------------


@then("{handle:Handle}'s profile shows {count:Count} {what:Word}")
@atproto_step
def then_profile_shows(context: Any, handle: str, count: int, what: str) -> None:
    """Asks ``getProfile`` until HANDLE's WHAT count is COUNT (WHAT: follower(s), follow(s) or following, post(s))."""
    field = _field(COUNTS, what)
    world = world_of(context)
    account = world.account(handle)
    world.appview.expect(
        lambda: world.appview.profile(account),
        lambda profile: profile.get(field) == count,
        f"{handle}'s profile has {count} {what}",
        lambda profile: f"{field} {profile.get(field)!r}",
    )


@then("{viewer:Handle} finds {handle:Handle}'s profile by its handle")
@atproto_step
def then_profile_by_handle(context: Any, viewer: str, handle: str) -> None:
    """Asks ``getProfile`` with the handle HANDLE (as VIEWER) until it names HANDLE's DID and shows HANDLE.

    The AppView shows a handle only once it has verified it with the PDS that
    hosts it; an unverified one shows as ``handle.invalid``.
    """
    world = world_of(context)
    account = world.account(handle)
    world.appview.expect(
        lambda: world.appview.profile_by_handle(account.handle, world.account(viewer)),
        lambda profile: profile.get("did") == account.did and profile.get("handle") == account.handle,
        f"{handle}'s profile, found by its handle, is {account.did}'s",
        lambda profile: f"did {profile.get('did')!r}, handle {profile.get('handle')!r}",
    )


@then("{handle:Handle}'s latest post has {count:Count} {what:Word}")
@atproto_step
def then_post_has(context: Any, handle: str, count: int, what: str) -> None:
    """Asks ``getPosts`` until HANDLE's latest post has COUNT WHAT (like(s), repost(s), reply/replies)."""
    field = _field(POST_COUNTS, what)
    world = world_of(context)
    account = world.account(handle)
    uri = account.latest(POST).uri
    world.appview.expect(
        lambda: world.appview.post(uri, account) or {},
        lambda view: view.get(field) == count,
        f"{handle}'s latest post has {count} {what}",
        lambda view: f"{field} {view.get(field)!r}" if view else "no view of the post",
    )


# -- threads, notifications, feeds ------------------------------------------------------------------


@then("the thread of {handle:Handle}'s latest post shows the reply by {other:Handle}")
@atproto_step
def then_thread_shows_reply(context: Any, handle: str, other: str) -> None:
    """Asks ``getPostThread`` until a direct reply to HANDLE's latest post is by OTHER."""
    world = world_of(context)
    account, replier = world.account(handle), world.account(other)
    uri = account.latest(POST).uri
    world.appview.expect(
        lambda: world.appview.thread_replies(uri, account),
        lambda replies: any(reply.get("author", {}).get("did") == replier.did for reply in replies),
        f"the thread of {handle}'s latest post has a reply by {other}",
        lambda replies: (
            "replies by " + (", ".join(world.name_of(r.get("author", {}).get("did", "?")) for r in replies) or "nobody")
        ),
    )


@then("{handle:Handle} has a {reason:Word} notification from {other:Handle}")
@atproto_step
def then_has_notification(context: Any, handle: str, reason: str, other: str) -> None:
    """Asks ``listNotifications`` until HANDLE has one for REASON by OTHER.

    REASON: like, repost, follow, reply, mention or quote.
    """
    if reason not in REASONS:
        raise UsageError(f"unknown notification reason {reason!r}; valid: {', '.join(REASONS)}")
    world = world_of(context)
    account, author = world.account(handle), world.account(other)
    world.appview.expect(
        lambda: world.appview.notifications(account),
        lambda items: any(n.get("reason") == reason and n.get("author", {}).get("did") == author.did for n in items),
        f"{handle} has a {reason} notification from {other}",
        lambda items: (
            "notifications: "
            + (
                ", ".join(f"{n.get('reason')} from {world.name_of(n.get('author', {}).get('did', '?'))}" for n in items)
                or "none"
            )
        ),
    )


@then("{viewer:Handle}'s view of the feed {rkey:Word} of {owner:Handle} shows {author:Handle}'s latest post")
@atproto_step
def then_feed_view_shows(context: Any, viewer: str, rkey: str, owner: str, author: str) -> None:
    """Asks ``getFeed`` through VIEWER's PDS until it holds AUTHOR's latest post.

    The AppView calls the feed generator the way production does (its DID's
    ``#bsky_fg`` endpoint, with a service-auth token for VIEWER).
    """
    world = world_of(context)
    account = world.account(viewer)
    feed_uri = f"at://{world.account(owner).did}/{GENERATOR}/{rkey}"
    uri = world.account(author).latest(POST).uri
    world.appview.expect(
        lambda: world.appview.feed(account, feed_uri),
        lambda uris: uri in uris,
        f"{viewer}'s view of the feed {rkey} of {owner} holds {author}'s latest post",
        _uris(world),
    )


def _uris(world: Any) -> Any:
    return lambda uris: ("posts " + ", ".join(world.describe_uri(uri) for uri in uris)) if uris else "no posts"


def _author(world: Any, item: dict[str, Any]) -> str:
    return world.name_of(item.get("author", {}).get("did", "?"))


def _field(fields: dict[str, str], what: str) -> str:
    if what not in fields:
        raise UsageError(f"cannot count {what!r} here; valid: {', '.join(fields)}")
    return fields[what]
