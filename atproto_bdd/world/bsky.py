"""The app.bsky records the steps create: posts, replies, quotes, mentions, follows, likes, reposts, blocks."""

from __future__ import annotations

import re
from typing import Any

from .records import RecordRef, RecordsMixin, now_iso
from .richtext import detect_facets

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
FOLLOW = "app.bsky.graph.follow"
BLOCK = "app.bsky.graph.block"


def post_record(text: str, **fields: Any) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record."""
    return {"$type": POST, "text": text, "createdAt": now_iso(), **fields}


def mention_facet(text: str, handle: str, did: str) -> dict[str, Any]:
    """A ``#mention`` facet over ``@handle`` in ``text`` (byte offsets, as the lexicon wants)."""
    data, needle = text.encode(), f"@{handle}".encode()
    start = data.find(needle)
    if start < 0:
        raise ValueError(f"{text!r} does not contain @{handle}")
    return {
        "index": {"byteStart": start, "byteEnd": start + len(needle)},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
    }


def follow_record(subject_did: str) -> dict[str, Any]:
    """An ``app.bsky.graph.follow`` record."""
    return {"$type": FOLLOW, "subject": subject_did, "createdAt": now_iso()}


def subject_record(collection: str, subject: RecordRef) -> dict[str, Any]:
    """A like or repost record pointing at ``subject``."""
    return {"$type": collection, "subject": subject.strong_ref(), "createdAt": now_iso()}


class BskyMixin(RecordsMixin):
    """An account's app.bsky helpers, each one record in its repository."""

    def post(self, text: str, **fields: Any) -> RecordRef:
        """Create an ``app.bsky.feed.post``; its mentions and links become facets, as clients make them.

        ``@handle`` of an account that resolves becomes a ``#mention`` facet, an
        http(s) URL a ``#link`` facet (:mod:`.richtext`); ``facets=[...]`` gives them instead.
        """
        if "facets" not in fields:
            facets = detect_facets(text, self.resolve_handle)
            if facets:
                fields["facets"] = facets
        return self.create_record(POST, post_record(text, **fields))

    def follow(self, other: Any) -> RecordRef:
        """Follow another account (anything with a ``did``)."""
        return self.create_record(FOLLOW, follow_record(other.did))

    def block(self, other: Any) -> RecordRef:
        """Block another account (an ``app.bsky.graph.block`` record)."""
        return self.create_record(BLOCK, {"$type": BLOCK, "subject": other.did, "createdAt": now_iso()})

    def reply(self, parent: RecordRef, text: str) -> RecordRef:
        """Reply to the post ``parent`` (the thread's root is read from the parent's own reply field)."""
        owner_record = self.pds.xrpc_get(
            "com.atproto.repo.getRecord", {"repo": parent.did, "collection": parent.collection, "rkey": parent.rkey}
        )
        root = (owner_record.get("value") or {}).get("reply", {}).get("root") or parent.strong_ref()
        return self.post(text, reply={"root": root, "parent": parent.strong_ref()})

    def quote(self, subject: RecordRef, text: str) -> RecordRef:
        """Post ``text`` quoting ``subject`` (an ``app.bsky.embed.record`` embed)."""
        return self.post(text, embed={"$type": "app.bsky.embed.record", "record": subject.strong_ref()})

    def mention(self, other: Any, text: str = "") -> RecordRef:
        """Post ``text`` (default ``hello @handle``) with a mention facet for ``other``."""
        text = text or f"hello @{other.handle}"
        return self.post(text, facets=[mention_facet(text, other.handle, other.did)])

    def post_mentioning(self, other: Any, text: str) -> RecordRef:
        """Post ``text`` mentioning ``other``: over ``@handle`` in it, or with ``@handle `` put in front."""
        if not re.search(rf"(?:^|(?<=[\s(]))@{re.escape(other.handle)}\b", text, re.IGNORECASE):
            text = f"@{other.handle} {text}"
        return self.post(text)

    def mute(self, other: Any) -> None:
        """Mute another account (``app.bsky.graph.muteActor``: private, kept by the AppView, not a record)."""
        self.xrpc_post("app.bsky.graph.muteActor", {"actor": other.did})

    def like(self, subject: RecordRef) -> RecordRef:
        """Like a record."""
        return self.create_record(LIKE, subject_record(LIKE, subject))

    def repost(self, subject: RecordRef) -> RecordRef:
        """Repost a record."""
        return self.create_record(REPOST, subject_record(REPOST, subject))
