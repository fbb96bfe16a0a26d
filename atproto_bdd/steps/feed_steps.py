"""Steps for custom feeds: publish a feed served by an app, then check what the feed shows.

A feed check does what an AppView does: it reads the feed's
``app.bsky.feed.generator`` record, resolves the DID it names through the
network's PLC directory (or did:web), and calls
``app.bsky.feed.getFeedSkeleton`` on that DID's ``#bsky_fg`` endpoint - as
the viewer, with a service-auth JWT from the viewer's PDS, when the step
says "as seen by". "Shows" steps ask again until the feed shows it or
``app_timeout`` passes, and a failure lists the last skeleton. "Does not
show" first waits until the generator has caught up with the firehose (if
its app declares ``cursor_http``), else watches the feed for ``app_settle``
seconds.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..world.bsky import POST
from .support import atproto_step, world_of


@given("{handle:Handle} publishes the feed {rkey:Word} served by the app {name:Word}")
@when("{handle:Handle} publishes the feed {rkey:Word} served by the app {name:Word}")
@atproto_step
def given_publishes_feed(context: Any, handle: str, rkey: str, name: str) -> None:
    """Creates HANDLE's ``app.bsky.feed.generator`` record RKEY whose ``did`` is app NAME's DID (start it first)."""
    world_of(context).publish_feed(handle, rkey, name)


def _shows_post(context: Any, rkey: str, owner: str, author: str, viewer: str | None) -> None:
    world = world_of(context)
    world.feed(owner, rkey).expect_shows(world.account(author).latest(POST).uri, _viewer(world, viewer))


def _not_shows_post(context: Any, rkey: str, owner: str, author: str, viewer: str | None) -> None:
    world = world_of(context)
    world.feed(owner, rkey).expect_not_shows(world.account(author).latest(POST).uri, _viewer(world, viewer))


def _shows_count(context: Any, rkey: str, owner: str, count: int, viewer: str | None) -> None:
    world = world_of(context)
    world.feed(owner, rkey).expect_count(count, _viewer(world, viewer))


def _viewer(world: Any, handle: str | None) -> Any:
    return world.account(handle) if handle else None


@then("the feed {rkey:Word} of {owner:Handle} shows {author:Handle}'s latest post")
@atproto_step
def then_feed_shows_latest(context: Any, rkey: str, owner: str, author: str) -> None:
    """Asks the feed's generator (anonymously) until the skeleton holds AUTHOR's latest post (``app_timeout``)."""
    _shows_post(context, rkey, owner, author, None)


@then("the feed {rkey:Word} of {owner:Handle} does not show {author:Handle}'s latest post")
@atproto_step
def then_feed_not_shows_latest(context: Any, rkey: str, owner: str, author: str) -> None:
    """Checks the skeleton lacks AUTHOR's latest post, once the generator has caught up (see the module)."""
    _not_shows_post(context, rkey, owner, author, None)


@then("the feed {rkey:Word} of {owner:Handle} shows {count:Count} post")
@then("the feed {rkey:Word} of {owner:Handle} shows {count:Count} posts")
@atproto_step
def then_feed_shows_count(context: Any, rkey: str, owner: str, count: int) -> None:
    """Asks the feed's generator until its skeleton (first page) has exactly COUNT posts (``app_timeout``)."""
    _shows_count(context, rkey, owner, count, None)


@then("the feed {rkey:Word} of {owner:Handle}, as seen by {viewer:Handle}, shows {author:Handle}'s latest post")
@atproto_step
def then_feed_as_viewer_shows_latest(context: Any, rkey: str, owner: str, viewer: str, author: str) -> None:
    """Like "shows ...'s latest post", with a service-auth JWT from VIEWER's PDS (as the AppView sends)."""
    _shows_post(context, rkey, owner, author, viewer)


@then("the feed {rkey:Word} of {owner:Handle}, as seen by {viewer:Handle}, does not show {author:Handle}'s latest post")
@atproto_step
def then_feed_as_viewer_not_shows_latest(context: Any, rkey: str, owner: str, viewer: str, author: str) -> None:
    """Like "does not show ...'s latest post", as VIEWER."""
    _not_shows_post(context, rkey, owner, author, viewer)


@then("the feed {rkey:Word} of {owner:Handle}, as seen by {viewer:Handle}, shows {count:Count} post")
@then("the feed {rkey:Word} of {owner:Handle}, as seen by {viewer:Handle}, shows {count:Count} posts")
@atproto_step
def then_feed_as_viewer_shows_count(context: Any, rkey: str, owner: str, viewer: str, count: int) -> None:
    """Like "shows N posts", with a service-auth JWT from VIEWER's PDS (``aud`` = the generator's DID)."""
    _shows_count(context, rkey, owner, count, viewer)
