"""The network's Bluesky AppView: :class:`AppView` (``context.atproto.appview``) and what clients see through it.

Clients reach the AppView through their PDS: ``app.bsky.*`` calls to a PDS
are proxied to the AppView the PDS is configured with, with a service-auth
token, as in production. The checks here do the same (as the account, through
its PDS) and first wait until the AppView has indexed what the PDSes
sequenced: each repo subscription's cursor must reach its PDS's head (read
after the action), then the AppView finishes what it has read
(``processAll``). So "shows" waits for indexing, not for a clock, and "does
not show" judges only once indexing is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from ..errors import UsageError
from ..protocol.xrpc import XrpcClient
from ..services.network import ws_url
from ..services.specs import AppViewService
from . import eventual
from .needs import Configured, Describing, HasServices, OnTheRuntime, PdsHeads, Recording

if TYPE_CHECKING:
    from .account import Account


class AppViewWorld(Configured, Recording, Describing, OnTheRuntime, PdsHeads, HasServices, Protocol):
    """What :class:`AppView` uses of the world: settings, the transcript, names, the runtime, the PDSes' heads,
    and the network's Ozone (what it did reaches the AppView too)."""


T = TypeVar("T")

#: Notification reasons a client shows.
REASONS = ("like", "repost", "follow", "reply", "mention", "quote")
#: What a profile count is called (singular, plural, and "following" as clients show it) -> getProfile's field.
PROFILE_COUNTS = {
    "follower": "followersCount",
    "followers": "followersCount",
    "follow": "followsCount",
    "follows": "followsCount",
    "following": "followsCount",
    "post": "postsCount",
    "posts": "postsCount",
}
#: What a post count is called -> getPosts' field.
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


def count_field(counts: Mapping[str, str], what: str) -> str:
    """The view's field for the count called ``what`` (``1 follower``), or a UsageError listing the words."""
    if what not in counts:
        raise UsageError(f"cannot count {what!r} here; valid: {', '.join(counts)}")
    return counts[what]


class AppView:
    """The AppView of a world's network: its URL and DID, requests to it, and waiting for indexing."""

    #: The placeholders it offers: ``${appview.url}``, ``${appview.did}`` (for an app that calls it itself).
    PLACEHOLDERS: ClassVar[dict[str, Callable[[AppView], str]]] = {
        "url": lambda appview: appview.url,
        "did": lambda appview: appview.did,
    }

    def __init__(self, world: AppViewWorld, service: AppViewService) -> None:
        self._world = world
        self.service = service

    @property
    def url(self) -> str:
        """The AppView's URL (``http://localhost:<port>``)."""
        return self.service.url

    @property
    def did(self) -> str:
        """The AppView's did:plc (services ``#bsky_appview`` and ``#bsky_notif``)."""
        return self.service.did

    def xrpc_get(self, nsid: str, params: Mapping[str, Any] | None = None, *, as_account: Account | None = None) -> Any:
        """A query to the AppView: through ``as_account``'s PDS (proxied, as clients do), or straight to it."""
        if as_account is not None:
            return as_account.xrpc_get(nsid, params)
        client = XrpcClient(
            self.url, name="AppView", timeout=self._world.settings.request_timeout, recorder=self._world.record
        )
        try:
            return client.query(nsid, params)
        finally:
            client.close()

    def close(self) -> None:
        """Nothing to close: the AppView's requests go through each account's PDS client (the network stops it)."""

    def restart(self) -> AppView:
        """Restart the AppView on its port and database (local runtime); returns once it serves again.

        Its clients (the PDSes' proxied ``app.bsky`` calls, apps with
        ``${appview.url}``) see a disconnect. It reads its PDSes again from
        the start (bsky keeps its subscription cursors in memory): the next
        indexing wait waits for that too, and what it had indexed stays.
        """
        self.service = self._world.network.restart("appview")
        return self

    # -- indexing ------------------------------------------------------------------------

    def wait_indexed(self, ref: Any = None) -> None:
        """Wait (``appview_timeout``) until the AppView has indexed everything its PDSes have sequenced.

        ``ref`` (a record just written) needs no special handling: it is in
        its PDS's sequence, which is read after it was written.
        """
        world = self._world
        if world.has_service("ozone"):  # what Ozone did reaches the AppView too (its pushes, its labels)
            world.service("ozone").settle()
        timeout = world.settings.appview_timeout
        heads = {ws_url(pds.url): (name, world.sequenced_head(name)) for name, pds in world.pdses.items()}
        caught_up, seen = world.runtime.appview_wait_indexed(
            self.service, {source: head for source, (_, head) in heads.items()}, timeout
        )
        if not caught_up:
            lagging = [
                f"PDS {name}: read up to #{seen.get(source, 0)}, the PDS is at #{head}"
                for source, (name, head) in heads.items()
                if seen.get(source, 0) < head
            ]
            raise AssertionError(f"the AppView did not index within {timeout:g}s ({'; '.join(lagging)})")

    def expect(self, look: Callable[[], T], holds: Callable[[T], bool], what: str, show: Callable[[T], str]) -> T:
        """Wait until indexed, then ask until ``holds(look())`` (``appview_timeout``); failures show the last answer."""
        self.wait_indexed()
        timeout = self._world.settings.appview_timeout

        def failure(last: T | None, error: Exception | None) -> str:
            seen = f"it answered an error: {error}" if error is not None else "it returned " + show(last)  # type: ignore[arg-type]
            return f"the AppView did not show that {what} within {timeout:g}s; {seen}"

        return eventual.until(look, holds, timeout=timeout, failure=failure)

    def expect_not(self, look: Callable[[], T], present: Callable[[T], bool], what: str, show: Callable[[T], str]) -> T:
        """Wait until indexed (that is the proof), then check once that ``present(look())`` is false."""
        return eventual.never(
            look,
            present,
            caught_up=self.wait_indexed,
            settle=0,
            failure=lambda answer: f"the AppView shows that {what}; it returned {show(answer)}",
        )

    # -- what clients see (each through the account's PDS, proxied to the AppView) ------------

    def timeline(self, viewer: Account) -> list[str]:
        """The URIs of the posts in ``viewer``'s home timeline (first 100)."""
        answer = viewer.xrpc_get("app.bsky.feed.getTimeline", {"limit": 100})
        return [item["post"]["uri"] for item in answer.get("feed", [])]

    def profile(self, account: Account, viewer: Account | None = None) -> dict[str, Any]:
        """``account``'s profile (``app.bsky.actor.getProfile``), as ``viewer`` (default: the account)."""
        return (viewer or account).xrpc_get("app.bsky.actor.getProfile", {"actor": account.did})

    def profile_by_handle(self, handle: str, viewer: Account) -> dict[str, Any]:
        """The profile ``getProfile`` finds for ``handle`` (a handle, not a DID), as ``viewer``.

        The AppView knows a handle once it has verified it: it asks the PDS
        that hosts it (``/.well-known/atproto-did``), as the HTTPS method would.
        """
        return viewer.xrpc_get("app.bsky.actor.getProfile", {"actor": handle})

    def post(self, uri: str, viewer: Account) -> dict[str, Any] | None:
        """The post view of ``uri`` (``app.bsky.feed.getPosts``), or None if the AppView has none."""
        posts = viewer.xrpc_get("app.bsky.feed.getPosts", {"uris": [uri]}).get("posts", [])
        return posts[0] if posts else None

    def thread_replies(self, uri: str, viewer: Account) -> list[dict[str, Any]]:
        """The direct replies in the thread of ``uri`` (``app.bsky.feed.getPostThread``)."""
        thread = viewer.xrpc_get("app.bsky.feed.getPostThread", {"uri": uri, "depth": 1}).get("thread", {})
        return [reply.get("post", {}) for reply in thread.get("replies") or []]

    def notifications(self, account: Account) -> list[dict[str, Any]]:
        """``account``'s notifications (``app.bsky.notification.listNotifications``, first 100)."""
        return account.xrpc_get("app.bsky.notification.listNotifications", {"limit": 100}).get("notifications", [])

    def feed(self, viewer: Account, feed_uri: str) -> list[str]:
        """The URIs of the posts ``app.bsky.feed.getFeed`` shows ``viewer`` (the AppView asks the generator)."""
        answer = viewer.xrpc_get("app.bsky.feed.getFeed", {"feed": feed_uri, "limit": 100})
        return [item["post"]["uri"] for item in answer.get("feed", [])]

    # -- checks: what a client shows, waited for and asked again until it holds -------------------

    def expect_in_timeline(self, viewer: Account, uri: str) -> list[str]:
        """Wait for indexing, then ask ``viewer``'s timeline until it holds the post ``uri``."""
        return self.expect(
            lambda: self.timeline(viewer),
            lambda uris: uri in uris,
            f"{viewer.handle}'s timeline holds {self._world.describe_uri(uri)}",
            self._posts,
        )

    def expect_not_in_timeline(self, viewer: Account, uri: str) -> list[str]:
        """Wait until the AppView indexed everything, then check ``viewer``'s timeline lacks the post ``uri``."""
        return self.expect_not(
            lambda: self.timeline(viewer),
            lambda uris: uri in uris,
            f"{viewer.handle}'s timeline holds {self._world.describe_uri(uri)}",
            self._posts,
        )

    def expect_profile_count(self, account: Account, what: str, count: int) -> dict[str, Any]:
        """Ask ``getProfile`` until ``account``'s ``what`` count is ``count``.

        ``what`` is a word of :data:`PROFILE_COUNTS` (``follower``, ``following``, ``posts``...).
        """
        field = count_field(PROFILE_COUNTS, what)
        return self.expect(
            lambda: self.profile(account),
            lambda profile: profile.get(field) == count,
            f"{account.handle}'s profile has {count} {what}",
            lambda profile: f"{field} {profile.get(field)!r}",
        )

    def expect_profile_by_handle(self, viewer: Account, account: Account) -> dict[str, Any]:
        """Ask ``getProfile`` with ``account``'s handle until it names its DID and shows the handle (verified)."""
        return self.expect(
            lambda: self.profile_by_handle(account.handle, viewer),
            lambda profile: profile.get("did") == account.did and profile.get("handle") == account.handle,
            f"{account.handle}'s profile, found by its handle, is {account.did}'s",
            lambda profile: f"did {profile.get('did')!r}, handle {profile.get('handle')!r}",
        )

    def expect_post_count(self, uri: str, viewer: Account, what: str, count: int) -> dict[str, Any]:
        """Ask ``getPosts`` until the post ``uri`` has ``count`` ``what`` (``like``, ``reposts``, ``replies``...)."""
        field = count_field(POST_COUNTS, what)
        return self.expect(
            lambda: self.post(uri, viewer) or {},
            lambda view: view.get(field) == count,
            f"{self._world.describe_uri(uri)} has {count} {what}",
            lambda view: f"{field} {view.get(field)!r}" if view else "no view of the post",
        )

    def expect_reply_in_thread(self, uri: str, viewer: Account, replier: Account) -> list[dict[str, Any]]:
        """Ask ``getPostThread`` until a direct reply to the post ``uri`` is by ``replier``."""
        return self.expect(
            lambda: self.thread_replies(uri, viewer),
            lambda replies: any(self._author_did(reply) == replier.did for reply in replies),
            f"the thread of {self._world.describe_uri(uri)} has a reply by {replier.handle}",
            lambda replies: "replies by " + (", ".join(self._author(reply) for reply in replies) or "nobody"),
        )

    def expect_notification(self, account: Account, reason: str, author: Account) -> list[dict[str, Any]]:
        """Ask ``listNotifications`` until ``account`` has one for ``reason`` (:data:`REASONS`) by ``author``."""
        if reason not in REASONS:
            raise UsageError(f"unknown notification reason {reason!r}; valid: {', '.join(REASONS)}")
        return self.expect(
            lambda: self.notifications(account),
            lambda items: any(n.get("reason") == reason and self._author_did(n) == author.did for n in items),
            f"{account.handle} has a {reason} notification from {author.handle}",
            lambda items: (
                "notifications: " + (", ".join(f"{n.get('reason')} from {self._author(n)}" for n in items) or "none")
            ),
        )

    def expect_in_feed(self, viewer: Account, feed_uri: str, uri: str) -> list[str]:
        """Ask ``getFeed`` (as ``viewer``; the AppView asks the generator) until the feed holds the post ``uri``."""
        return self.expect(
            lambda: self.feed(viewer, feed_uri),
            lambda uris: uri in uris,
            f"{viewer.handle}'s view of the feed {feed_uri} holds {self._world.describe_uri(uri)}",
            self._posts,
        )

    def expect_post_label(self, uri: str, viewer: Account, value: str) -> dict[str, Any]:
        """Ask ``getPosts`` as ``viewer`` until the post ``uri`` carries the label ``value`` (from any labeler)."""
        return self.expect(
            lambda: self.post(uri, viewer) or {},
            lambda view: value in _label_values(view),
            f"{self._world.describe_uri(uri)} has the label {value}",
            self._labels,
        )

    def expect_post_without_label(self, uri: str, viewer: Account, value: str) -> dict[str, Any]:
        """Once indexed (Ozone's labels applied too), check the post ``uri`` lacks ``value`` for ``viewer``."""
        return self.expect_not(
            lambda: self.post(uri, viewer) or {},
            lambda view: value in _label_values(view),
            f"{self._world.describe_uri(uri)} has the label {value}",
            self._labels,
        )

    def _labels(self, view: Mapping[str, Any]) -> str:
        if not view:
            return "no view of the post (hidden or unknown)"
        labels = view.get("labels") or []
        return "labels " + (
            ", ".join(f"{lab.get('val')} from {self._world.name_of(lab.get('src', '?'))}" for lab in labels) or "none"
        )

    def _posts(self, uris: list[str]) -> str:
        return ("posts " + ", ".join(self._world.describe_uri(uri) for uri in uris)) if uris else "no posts"

    def _author(self, item: Mapping[str, Any]) -> str:
        return self._world.name_of(self._author_did(item) or "?")

    @staticmethod
    def _author_did(item: Mapping[str, Any]) -> str | None:
        return item.get("author", {}).get("did")

    def recorded(self) -> None:
        """What diagnostics show of it besides its log: nothing (its views are asked, not recorded)."""
        return None


def _label_values(view: Mapping[str, Any]) -> list[str]:
    return [label.get("val") for label in view.get("labels") or []]
