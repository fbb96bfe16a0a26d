"""What an app acting as an account wrote - a bot's replies, likes and follows - checked as it writes them.

A bot is an app with an account of its own (``account = "pingbot.test"`` in
its ``[apps.NAME]`` table, or any account whose credentials its env is given).
It writes in its own time, so a positive check asks the account's repository
again until the record is there (``app_timeout``). A negative check ("does
not reply") must not pass because the bot is slow: when the app acting as
the account declares ``cursor_http``, it first waits until the app's cursor
reaches the head of the firehose it reads, taken after the action - then one
look decides (:func:`.eventual.never`). Without it, the check watches for
``app_settle`` seconds and says once that it cannot prove more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from . import eventual
from .bsky import FOLLOW, LIKE, POST
from .needs import Configured, Describing
from .records import RecordRef, StoredRecord

if TYPE_CHECKING:
    from .account import Account
    from .app import App

#: How many of the bot's newest records a failure lists.
SHOWN = 5


class BotWorld(Configured, Describing, Protocol):
    """What :class:`Bot` uses of the world: settings, names for messages, and the app acting as an account."""

    def app_acting_as(self, handle: str) -> App | None: ...


class Bot:
    """The account ``account`` as an app writes for it: its replies, likes and follows, waited for."""

    def __init__(self, world: BotWorld, account: Account) -> None:
        self._world = world
        self.account = account

    @property
    def app(self) -> App | None:
        """The app that acts as this account (``account = "..."`` in its table), if one of this run does."""
        return self._world.app_acting_as(self.account.handle)

    # -- replies ------------------------------------------------------------------------

    def replies_to(self, parent: RecordRef) -> list[StoredRecord]:
        """The account's posts whose ``reply.parent`` is ``parent``, newest first."""
        return [post for post in self.account.list_records(POST) if _uri_of(_reply(post).get("parent")) == parent.uri]

    def expect_reply(self, parent: RecordRef, text: str) -> StoredRecord:
        """Wait (``app_timeout``) for a reply with ``text`` to ``parent`` whose root and parent refs are right."""
        root = self._root_of(parent)
        wanted = {"root": root, "parent": parent.strong_ref()}

        def good(replies: list[StoredRecord]) -> bool:
            return any(_text(post) == text and _refs(post) == wanted for post in replies)

        replies = eventual.until(
            lambda: self.replies_to(parent),
            good,
            timeout=self._world.settings.app_timeout,
            failure=lambda seen, error: self._no_reply(parent, text, wanted, seen, error),
        )
        return next(post for post in replies if _text(post) == text and _refs(post) == wanted)

    def expect_no_reply(self, parent: RecordRef) -> None:
        """Check the account has not replied to ``parent``, once the app acting as it has caught up."""
        what = f"replied to {self._world.describe_uri(parent.uri)}"
        self._never(lambda: self.replies_to(parent), what)

    # -- likes and follows ---------------------------------------------------------------

    def likes_of(self, subject: RecordRef) -> list[StoredRecord]:
        """The account's likes of ``subject`` (by URI)."""
        return [like for like in self.account.list_records(LIKE) if _uri_of(like.value.get("subject")) == subject.uri]

    def expect_like(self, subject: RecordRef) -> StoredRecord:
        """Wait (``app_timeout``) for a like of ``subject`` (its URI and CID) in the account's repository."""
        likes = eventual.until(
            lambda: self.likes_of(subject),
            lambda found: any(_strong_ref(like.value.get("subject")) == subject.strong_ref() for like in found),
            timeout=self._world.settings.app_timeout,
            failure=lambda seen, error: self._missing(
                f"a like of {self._world.describe_uri(subject.uri)}", LIKE, seen, error
            ),
        )
        return next(like for like in likes if _strong_ref(like.value.get("subject")) == subject.strong_ref())

    def follows_of(self, did: str) -> list[StoredRecord]:
        """The account's follows of ``did``."""
        return [follow for follow in self.account.list_records(FOLLOW) if follow.value.get("subject") == did]

    def expect_follow(self, other: Account) -> StoredRecord:
        """Wait (``app_timeout``) for a follow of ``other`` in the account's repository."""
        follows = eventual.until(
            lambda: self.follows_of(other.did),
            bool,
            timeout=self._world.settings.app_timeout,
            failure=lambda seen, error: self._missing(f"a follow of {other.handle} ({other.did})", FOLLOW, seen, error),
        )
        return follows[0]

    def expect_no_follow(self, other: Account) -> None:
        """Check the account does not follow ``other``, once the app acting as it has caught up."""
        self._never(lambda: self.follows_of(other.did), f"followed {other.handle}")

    # -- what the messages say -----------------------------------------------------------

    def _never(self, look: Callable[[], list[StoredRecord]], what: str) -> None:
        app = self.app
        handle = self.account.handle
        eventual.never(
            look,
            bool,
            caught_up=app.caught_up_check() if app is not None else None,
            settle=self._world.settings.app_settle,
            failure=lambda found: f"{handle} {what}: " + "; ".join(f"{r.uri} {_said(r)}" for r in found),
            unproved_note=(
                f"'does not' checks on what {handle} writes watch its repository for app_settle seconds: "
                + (
                    f"the app {app.name} that acts as it declares no cursor_http"
                    if app is not None
                    else f"no app of this run declares account = {handle!r}"
                )
                + ", so they cannot prove it has seen the action"
            ),
        )

    def _root_of(self, parent: RecordRef) -> dict[str, str]:
        """The thread's root as a reply to ``parent`` must name it: the parent's own root, or the parent."""
        owner = next((other for other in self.account.directory.values() if other.did == parent.did), None)
        value = owner.get(parent).value if owner is not None else {}
        root = _reply_of(value).get("root")
        return _strong_ref(root) if isinstance(root, dict) else parent.strong_ref()

    def _no_reply(
        self,
        parent: RecordRef,
        text: str,
        wanted: dict[str, Any],
        seen: list[StoredRecord] | None,
        error: Exception | None,
    ) -> str:
        handle = self.account.handle
        head = (
            f"{handle} did not reply {text!r} to {self._world.describe_uri(parent.uri)} within "
            f"{self._world.settings.app_timeout:g}s"
        )
        if error is not None:
            return f"{head}; its PDS answered: {error}"
        if seen:
            lines = []
            for post in seen:
                problems = [f"text {_text(post)!r}"] if _text(post) != text else []
                for ref in ("root", "parent"):
                    if _refs(post).get(ref) != wanted[ref]:
                        problems.append(f"reply.{ref} {_refs(post).get(ref)}, expected {wanted[ref]}")
                lines.append(f"{post.uri}: " + ("; ".join(problems) or "as expected"))
            return f"{head}; its replies to that post differ:\n    " + "\n    ".join(lines)
        return head + "; " + self._newest(POST)

    def _missing(self, what: str, collection: str, seen: list[StoredRecord] | None, error: Exception | None) -> str:
        head = f"{self.account.handle} has no {what} within {self._world.settings.app_timeout:g}s"
        if error is not None:
            return f"{head}; its PDS answered: {error}"
        return head + "; " + self._newest(collection)

    def _newest(self, collection: str) -> str:
        records = self.account.list_records(collection)[:SHOWN]
        if not records:
            return f"its repository holds no {collection} records"
        shown = "\n    ".join(self._describe(record) for record in records)
        return f"its newest {collection} records:\n    {shown}"

    def _describe(self, record: StoredRecord) -> str:
        value = record.value
        if "text" in value:
            parent = _uri_of(_reply(record).get("parent"))
            to = f" (a reply to {self._world.describe_uri(parent)})" if parent else ""
            return f"{record.uri}: {value.get('text')!r}{to}"
        subject = value.get("subject")
        target = subject.get("uri") if isinstance(subject, dict) else subject
        return f"{record.uri}: of {self._world.describe_uri(str(target)) if target else '?'}"


def _reply(post: StoredRecord) -> dict[str, Any]:
    return _reply_of(post.value)


def _reply_of(value: dict[str, Any]) -> dict[str, Any]:
    reply = value.get("reply")
    return reply if isinstance(reply, dict) else {}


def _refs(post: StoredRecord) -> dict[str, Any]:
    """The reply's root and parent strong refs, as URI and CID (an SDK may add ``$type``, which is allowed)."""
    reply = _reply(post)
    return {ref: _strong_ref(reply.get(ref)) for ref in ("root", "parent")}


def _uri_of(ref: Any) -> Any:
    """The ``uri`` of a strong ref, or None for anything else (an app may write a malformed one)."""
    return ref.get("uri") if isinstance(ref, dict) else None


def _strong_ref(value: Any) -> Any:
    if isinstance(value, dict):
        return {"uri": value.get("uri"), "cid": value.get("cid")}
    return value


def _said(record: StoredRecord) -> str:
    """A record in a few words: a post's text, else its type."""
    return f"says {record.value['text']!r}" if "text" in record.value else f"is a {record.value.get('$type', 'record')}"


def _text(post: StoredRecord) -> Any:
    return post.value.get("text")
