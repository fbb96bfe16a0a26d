"""Blobs: an account's uploads, and downloading them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .records import RecordsMixin, now_iso

#: Where ``upload_blob(keep=True)`` references uploads so that the PDS keeps them.
BLOB_HOLDER = "com.example.atprotobdd.blob"


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


class BlobsMixin(RecordsMixin):
    """Upload blobs (``com.atproto.repo.uploadBlob``) and download them (``com.atproto.sync.getBlob``)."""

    blobs: list[Blob]

    def upload_blob(self, data: bytes, mime_type: str, *, keep: bool = True) -> Blob:
        """Upload a blob; with ``keep`` also reference it from a record so the PDS keeps it.

        A PDS discards uploads no record refers to, and will not serve them.
        """
        output = self.xrpc_post("com.atproto.repo.uploadBlob", data=data, content_type=mime_type)
        blob = Blob.from_output(output["blob"], data)
        if keep:
            self.create_record(BLOB_HOLDER, {"blob": blob.ref, "createdAt": now_iso()})
        self.blobs.append(blob)
        return blob

    def get_blob(self, cid: str) -> bytes:
        """Download a blob of this account."""
        return self.pds.xrpc_get("com.atproto.sync.getBlob", {"did": self.did, "cid": cid})

    def latest_blob(self) -> Blob:
        """The blob this account uploaded last."""
        if not self.blobs:
            raise UsageError(f"{self.handle} has uploaded no blob yet")
        return self.blobs[-1]
