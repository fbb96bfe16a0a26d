"""Record references and builders for the app.bsky records the steps create."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..protocol.syntax import AtUri

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
FOLLOW = "app.bsky.graph.follow"
#: Where ``upload_blob(keep=True)`` references uploads so that the PDS keeps them.
BLOB_HOLDER = "com.example.atprotobdd.blob"


def now_iso() -> str:
    """The current UTC time in the ``createdAt`` format records use."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RecordRef:
    """A strong reference to a record version: its AT-URI and CID."""

    uri: str
    cid: str

    @property
    def did(self) -> str:
        """The DID of the repository holding the record."""
        return AtUri.parse(self.uri).authority

    @property
    def collection(self) -> str:
        """The record's collection NSID."""
        return AtUri.parse(self.uri).collection

    @property
    def rkey(self) -> str:
        """The record key."""
        return AtUri.parse(self.uri).rkey

    def strong_ref(self) -> dict[str, str]:
        """The ``com.atproto.repo.strongRef`` object for embedding in other records."""
        return {"uri": self.uri, "cid": self.cid}


@dataclass(frozen=True)
class StoredRecord:
    """A record as the PDS returned it."""

    uri: str
    cid: str
    value: dict[str, Any]

    @property
    def ref(self) -> RecordRef:
        """A strong reference to this record."""
        return RecordRef(self.uri, self.cid)

    @classmethod
    def from_output(cls, output: dict[str, Any]) -> StoredRecord:
        """Build from a getRecord / listRecords item."""
        return cls(uri=output["uri"], cid=output.get("cid", ""), value=output.get("value") or {})


@dataclass(frozen=True)
class Blob:
    """An uploaded blob: its CID, type and size, and the bytes that were uploaded."""

    cid: str
    mime_type: str
    size: int
    data: bytes = field(repr=False, default=b"")

    @property
    def ref(self) -> dict[str, Any]:
        """The blob object to put in a record."""
        return {"$type": "blob", "ref": {"$link": self.cid}, "mimeType": self.mime_type, "size": self.size}

    @classmethod
    def from_output(cls, blob: dict[str, Any], data: bytes) -> Blob:
        """Build from uploadBlob's ``blob`` output."""
        return cls(blob["ref"]["$link"], blob["mimeType"], blob["size"], data)


def post_record(text: str, **fields: Any) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record."""
    return {"$type": POST, "text": text, "createdAt": now_iso(), **fields}


def follow_record(subject_did: str) -> dict[str, Any]:
    """An ``app.bsky.graph.follow`` record."""
    return {"$type": FOLLOW, "subject": subject_did, "createdAt": now_iso()}


def subject_record(collection: str, subject: RecordRef) -> dict[str, Any]:
    """A like or repost record pointing at ``subject``."""
    return {"$type": collection, "subject": subject.strong_ref(), "createdAt": now_iso()}
