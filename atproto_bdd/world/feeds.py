"""Custom feeds: a feed generator record, the service it names, and what that service answers.

A feed is an ``app.bsky.feed.generator`` record in its owner's repository
whose ``did`` names the feed generator's service. An AppView serving the
feed resolves that DID (through the PLC directory, or ``did:web``), takes the
``#bsky_fg`` service endpoint and calls ``app.bsky.feed.getFeedSkeleton``
there, with a service-auth JWT from the viewer's PDS (``aud`` = the
generator's DID, ``lxm`` = the method). :class:`Feed` does exactly that, so a
check exercises the same path users' apps take in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError
from ..protocol.syntax import is_did
from ..protocol.xrpc import XrpcClient
from . import eventual
from .needs import Apps, Configured, Describing, Recording, ResolvingDids
from .records import RecordRef, now_iso

if TYPE_CHECKING:
    from .account import Account
    from .app import App


class FeedWorld(Configured, Recording, Describing, ResolvingDids, Apps, Protocol):
    """What :class:`Feed` uses of the world: settings, the transcript, names, DID documents, the apps."""


GENERATOR = "app.bsky.feed.generator"
GET_FEED_SKELETON = "app.bsky.feed.getFeedSkeleton"
DESCRIBE_FEED_GENERATOR = "app.bsky.feed.describeFeedGenerator"
#: Seconds a viewer's service-auth token is reused by one check (the PDS issues them for 60 s).
TOKEN_REUSE = 30.0


class SkeletonError(AssertionError):
    """A getFeedSkeleton answer that does not follow the lexicon."""


@dataclass(frozen=True)
class Skeleton:
    """A getFeedSkeleton answer: the posts' AT-URIs in order, and the cursor."""

    posts: tuple[str, ...]
    cursor: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, data: Any) -> Skeleton:
        """Read an answer strictly: ``feed`` is a list of ``{post: at://...}``, ``cursor`` a string if present."""
        if not isinstance(data, dict) or not isinstance(data.get("feed"), list):
            raise SkeletonError(f"getFeedSkeleton answered {str(data)[:200]!r}; expected an object with a feed list")
        posts = []
        for index, item in enumerate(data["feed"]):
            post = item.get("post") if isinstance(item, dict) else None
            if not isinstance(post, str) or not post.startswith("at://"):
                raise SkeletonError(f'getFeedSkeleton\'s feed[{index}] is {item!r}; expected {{"post": "at://..."}}')
            posts.append(post)
        cursor = data.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise SkeletonError(f"getFeedSkeleton's cursor is {cursor!r}; expected a string")
        return cls(tuple(posts), cursor, data)

    def describe(self, name_of: Callable[[str], str] = lambda uri: uri) -> str:
        """The posts, one per line, for failure messages."""
        if not self.posts:
            return "    (no posts)"
        return "\n".join(f"    {index + 1}. {name_of(uri)}" for index, uri in enumerate(self.posts))


class Feed:
    """The feed ``rkey`` of ``owner``: its generator record and the service that serves it."""

    def __init__(self, world: FeedWorld, owner: Account, rkey: str) -> None:
        self._world = world
        self.owner = owner
        self.rkey = rkey

    @property
    def uri(self) -> str:
        """``at://<owner DID>/app.bsky.feed.generator/<rkey>``."""
        return f"at://{self.owner.did}/{GENERATOR}/{self.rkey}"

    def __repr__(self) -> str:
        return f"<Feed {self.rkey} of {self.owner.handle}>"

    def generator_did(self) -> str:
        """The DID the generator record names (read from the owner's PDS)."""
        record = self.owner.get_record(GENERATOR, self.rkey).value
        did = record.get("did")
        if not isinstance(did, str) or not is_did(did):
            raise UsageError(f"the feed record {self.uri} has did {did!r}, not a DID")
        return did

    def endpoint(self, did: str) -> str:
        """The ``#bsky_fg`` endpoint of the generator's DID document."""
        endpoint = self._world.resolve_did(did).service_endpoint("bsky_fg")
        if not endpoint:
            raise UsageError(f"the DID document of {did} (feed {self.uri}) has no #bsky_fg service")
        return endpoint

    def skeleton(self, viewer: Account | None = None, params: Mapping[str, Any] | None = None) -> Skeleton:
        """The generator's answer to getFeedSkeleton for this feed, as ``viewer`` (service auth) or anonymous."""
        with self.reader(viewer) as read:
            return read(params)

    @contextmanager
    def reader(self, viewer: Account | None = None) -> Iterator[Callable[..., Skeleton]]:
        """A function that asks the generator for the skeleton, with the route resolved once.

        The generator record, the DID document and the viewer's service-auth
        token are looked up when the block starts (a token again after
        :data:`TOKEN_REUSE` seconds); each call is then one getFeedSkeleton
        request, so repeated looks notice a change quickly.
        """
        did = self.generator_did()
        client = XrpcClient(
            self.endpoint(did),
            name=f"feed {self.rkey}",
            timeout=self._world.settings.request_timeout,
            recorder=self._world.record,
        )
        token: list[Any] = []  # [token, when it was issued]

        def headers() -> dict[str, str]:
            if viewer is None:
                return {}
            if not token or time.monotonic() - token[1] > TOKEN_REUSE:
                token[:] = [viewer.service_auth(did, GET_FEED_SKELETON), time.monotonic()]
            return {"authorization": f"Bearer {token[0]}"}

        def read(params: Mapping[str, Any] | None = None) -> Skeleton:
            answer = client.query(GET_FEED_SKELETON, {"feed": self.uri, **(params or {})}, headers=headers())
            return Skeleton.parse(answer)

        try:
            yield read
        finally:
            client.close()

    # -- expectations ------------------------------------------------------------------

    def expect(self, holds: Callable[[Skeleton], bool], what: str, viewer: Account | None = None) -> Skeleton:
        """Ask again until ``holds(skeleton)`` (``app_timeout``); the failure shows the last skeleton."""
        timeout = self._world.settings.app_timeout

        def failure(last: Skeleton | None, error: Exception | None) -> str:
            seen = f"it answered an error: {error}" if error is not None else self._seen(last)
            name = f"the feed {self.rkey} of {self.owner.handle}{self._as(viewer)}"
            return f"{name} did not {what} within {timeout:.3g}s; {seen}"

        with self.reader(viewer) as read:
            return eventual.until(read, holds, timeout=timeout, failure=failure)

    def expect_shows(self, uri: str, viewer: Account | None = None) -> Skeleton:
        """Ask again until the skeleton holds the post ``uri`` (as ``viewer``, or anonymously)."""
        return self.expect(lambda skeleton: uri in skeleton.posts, f"show {self._world.describe_uri(uri)}", viewer)

    def expect_not_shows(self, uri: str, viewer: Account | None = None) -> Skeleton:
        """Check the skeleton lacks the post ``uri``, once the generator has caught up (see :meth:`expect_never`)."""
        shown = f"show {self._world.describe_uri(uri)}"
        return self.expect_never(lambda skeleton: uri in skeleton.posts, shown, viewer)

    def expect_count(self, count: int, viewer: Account | None = None) -> Skeleton:
        """Ask again until the skeleton's first page has exactly ``count`` posts."""
        noun = "post" if count == 1 else "posts"
        return self.expect(lambda skeleton: len(skeleton.posts) == count, f"show {count} {noun}", viewer)

    def expect_never(self, present: Callable[[Skeleton], bool], what: str, viewer: Account | None = None) -> Skeleton:
        """Check the feed does not ``what``, once the generator has caught up (see :mod:`.eventual`)."""
        app = self._world.app_with_did(self.generator_did())
        name = f"the feed {self.rkey} of {self.owner.handle}{self._as(viewer)}"
        with self.reader(viewer) as read:
            return self._never(read, present, what, name, app)

    def _never(
        self, read: Callable[[], Skeleton], present: Callable[[Skeleton], bool], what: str, name: str, app: App | None
    ) -> Skeleton:
        return eventual.never(
            read,
            present,
            caught_up=app.caught_up_check() if app is not None else None,
            settle=self._world.settings.app_settle,
            failure=lambda seen: f"{name} does {what}; {self._seen(seen)}",
            unproved_note=(
                f"'does not show' checks on {name.removeprefix('the ')} watch it for app_settle seconds: its generator "
                + (f"(the app {app.name}) declares no cursor_http" if app is not None else "is not an app of this run")
                + ", so they cannot prove it has seen the action"
            ),
        )

    def _seen(self, skeleton: Skeleton | None) -> str:
        if skeleton is None:
            return "it never answered"
        return "its last skeleton:\n" + skeleton.describe(self._world.describe_uri)

    @staticmethod
    def _as(viewer: Account | None) -> str:
        return f", as seen by {viewer.handle}," if viewer is not None else ""


def generator_record(did: str, display_name: str, description: str = "") -> dict[str, Any]:
    """An ``app.bsky.feed.generator`` record naming the service ``did``."""
    record: dict[str, Any] = {"$type": GENERATOR, "did": did, "displayName": display_name, "createdAt": now_iso()}
    if description:
        record["description"] = description
    return record


def publish(owner: Account, rkey: str, did: str, display_name: str = "") -> RecordRef:
    """Create (or replace) ``owner``'s feed ``rkey`` served by ``did``."""
    return owner.put_record(GENERATOR, rkey, generator_record(did, display_name or rkey))
