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
from typing import TYPE_CHECKING, Any, TypeVar

from ..protocol.xrpc import XrpcClient
from ..services.network import ws_url
from ..services.specs import AppViewService
from . import eventual

if TYPE_CHECKING:
    from .account import Account
    from .world import World

T = TypeVar("T")


class AppView:
    """The AppView of a world's network: its URL and DID, requests to it, and waiting for indexing."""

    def __init__(self, world: World, service: AppViewService) -> None:
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

    # -- indexing ------------------------------------------------------------------------

    def wait_indexed(self, ref: Any = None) -> None:
        """Wait (``appview_timeout``) until the AppView has indexed everything its PDSes have sequenced.

        ``ref`` (a record just written) needs no special handling: it is in
        its PDS's sequence, which is read after it was written.
        """
        world = self._world
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
