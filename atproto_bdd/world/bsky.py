"""The app.bsky records the steps create: posts, follows, likes, reposts."""

from __future__ import annotations

from typing import Any

from .records import RecordRef, RecordsMixin, now_iso

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
FOLLOW = "app.bsky.graph.follow"


def post_record(text: str, **fields: Any) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record."""
    return {"$type": POST, "text": text, "createdAt": now_iso(), **fields}


def follow_record(subject_did: str) -> dict[str, Any]:
    """An ``app.bsky.graph.follow`` record."""
    return {"$type": FOLLOW, "subject": subject_did, "createdAt": now_iso()}


def subject_record(collection: str, subject: RecordRef) -> dict[str, Any]:
    """A like or repost record pointing at ``subject``."""
    return {"$type": collection, "subject": subject.strong_ref(), "createdAt": now_iso()}


class BskyMixin(RecordsMixin):
    """An account's app.bsky helpers, each one record in its repository."""

    def post(self, text: str, **fields: Any) -> RecordRef:
        """Create an ``app.bsky.feed.post``."""
        return self.create_record(POST, post_record(text, **fields))

    def follow(self, other: Any) -> RecordRef:
        """Follow another account (anything with a ``did``)."""
        return self.create_record(FOLLOW, follow_record(other.did))

    def like(self, subject: RecordRef) -> RecordRef:
        """Like a record."""
        return self.create_record(LIKE, subject_record(LIKE, subject))

    def repost(self, subject: RecordRef) -> RecordRef:
        """Repost a record."""
        return self.create_record(REPOST, subject_record(REPOST, subject))
