"""Records: references to them, and an account's create/read/list/delete calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import UsageError
from ..protocol.syntax import AtUri
from .session import AccountCore


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


class RecordsMixin(AccountCore):
    """An account's records in its repository.

    Records created through :meth:`create_record` (and the helpers built on it)
    are remembered in creation order; deleting one forgets it. :meth:`latest`
    answers from that memory, everything else asks the PDS.
    """

    records: list[RecordRef]

    def create_record(
        self,
        collection: str,
        record: Mapping[str, Any],
        *,
        rkey: str | None = None,
        validate: bool | None = None,
    ) -> RecordRef:
        """Create a record (``$type`` defaults to the collection) and remember it."""
        body: dict[str, Any] = {"repo": self.did, "collection": collection, "record": {"$type": collection, **record}}
        if rkey is not None:
            body["rkey"] = rkey
        if validate is not None:
            body["validate"] = validate
        output = self.xrpc_post("com.atproto.repo.createRecord", body)
        return self.remember(RecordRef(output["uri"], output["cid"]))

    def remember(self, ref: RecordRef) -> RecordRef:
        """Note a record this account created some other way (OAuth, raw calls) as its latest."""
        self.records = [r for r in self.records if r.uri != ref.uri] + [ref]
        return ref

    def put_record(self, collection: str, rkey: str, record: Mapping[str, Any]) -> RecordRef:
        """Create or replace the record at ``collection/rkey``."""
        output = self.xrpc_post(
            "com.atproto.repo.putRecord",
            {"repo": self.did, "collection": collection, "rkey": rkey, "record": {"$type": collection, **record}},
        )
        return self.remember(RecordRef(output["uri"], output["cid"]))

    def get_record(self, collection: str, rkey: str) -> StoredRecord:
        """Fetch one record from the PDS."""
        output = self.pds.xrpc_get(
            "com.atproto.repo.getRecord", {"repo": self.did, "collection": collection, "rkey": rkey}
        )
        return StoredRecord.from_output(output)

    def get(self, ref: RecordRef) -> StoredRecord:
        """Fetch the record ``ref`` points at."""
        return self.get_record(ref.collection, ref.rkey)

    def list_records(self, collection: str) -> list[StoredRecord]:
        """Every record of ``collection`` in this repository (all pages), newest first."""
        pages = self.pds.client.paginate(
            "com.atproto.repo.listRecords", {"repo": self.did, "collection": collection}, items="records"
        )
        return [StoredRecord.from_output(item) for item in pages]

    def delete_record(self, collection: str, rkey: str) -> None:
        """Delete ``collection/rkey`` and forget it."""
        self.xrpc_post("com.atproto.repo.deleteRecord", {"repo": self.did, "collection": collection, "rkey": rkey})
        uri = f"at://{self.did}/{collection}/{rkey}"
        self.records = [r for r in self.records if r.uri != uri]

    def delete(self, ref: RecordRef) -> None:
        """Delete the record ``ref`` points at."""
        self.delete_record(ref.collection, ref.rkey)

    def latest(self, collection: str | None = None) -> RecordRef:
        """The newest remembered record (of ``collection``, if given)."""
        for ref in reversed(self.records):
            if collection is None or ref.collection == collection:
                return ref
        kind = f"{collection} record" if collection else "record"
        raise UsageError(f"{self.handle} has created no {kind} yet in this network")
