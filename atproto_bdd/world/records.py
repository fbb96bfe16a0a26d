"""Records: references to them, and an account's create/read/list/delete calls."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NoReturn

from ..errors import UsageError, XrpcError
from ..protocol.repo import Repo
from ..protocol.syntax import AtUri
from ..protocol.tid import is_tid, tid_microseconds
from .session import AccountCore


def now_iso() -> str:
    """The current UTC time in the ``createdAt`` format records use."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RecordRef:
    """A strong reference to a record version: its AT-URI and CID."""

    uri: str
    cid: str
    #: What the PDS answered when it wrote it (``validationStatus``, ``commit``...), for a reference from a write.
    reply: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

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

    :meth:`latest` is the newest record in the repository, whoever wrote it
    (the framework, an app acting as the account, a page in a browser).
    Records created through :meth:`create_record` (and the helpers built on it)
    are also remembered in creation order, with when: that orders records
    whose keys are not timestamps (``self``). Everything else asks the PDS.
    """

    records: list[RecordRef]
    #: When each remembered record was written, by URI (``time.time()``; TIDs carry their own time).
    written_at: dict[str, float]

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
        return self.remember(RecordRef(output["uri"], output["cid"], reply=output))

    def remember(self, ref: RecordRef) -> RecordRef:
        """Note a record this account created some other way (OAuth, raw calls) as its latest."""
        self.records = [r for r in self.records if r.uri != ref.uri] + [ref]
        self.written_at[ref.uri] = time.time()
        return ref

    def update_record(self, ref: RecordRef, fields: Mapping[str, Any]) -> RecordRef:
        """Merge ``fields`` into the record ``ref`` points at and write it back at the same key (``putRecord``)."""
        current = self.get_record(ref.collection, ref.rkey).value
        return self.put_record(ref.collection, ref.rkey, {**current, **fields})

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

    def collections(self) -> list[str]:
        """The collections the repository holds records of, read from its export (``com.atproto.sync.getRepo``).

        Not ``describeRepo``: on the 0.5 line it resolves the account's handle
        first, which fails for a test network's handles ("Invalid hostname").
        """
        car = self.pds.xrpc_get("com.atproto.sync.getRepo", {"did": self.did})
        return sorted({path.split("/", 1)[0] for path in Repo.from_car(car).records})

    def latest(self, collection: str | None = None) -> RecordRef:
        """The newest record in the repository (of ``collection``, if given), whoever wrote it.

        Record keys that are TIDs say when they were made; a record with
        another key (``self``) counts as written when this account wrote it
        (unknown: older than any other).
        """
        try:
            return self._latest_in_repo(collection)
        except XrpcError as exc:
            # A repository its PDS does not serve (taken down, deactivated): the last record this account wrote,
            # which is what a step about its "latest post" means; nobody else can have written since.
            if not _repo_unavailable(exc):
                raise
            written = [ref for ref in self.records if collection is None or ref.collection == collection]
            if not written:
                raise UsageError(
                    f"{self.handle}'s repository is not served by its PDS ({exc}), and {self.handle} wrote no "
                    f"{collection or 'record'} in this scenario"
                ) from None
            return written[-1]

    def _latest_in_repo(self, collection: str | None) -> RecordRef:
        candidates = []
        for name in [collection] if collection else self.collections():
            listed = (
                self.pds.xrpc_get(
                    "com.atproto.repo.listRecords", {"repo": self.did, "collection": name, "limit": 1}
                ).get("records")
                or []
            )
            if listed:
                ref = RecordRef(listed[0]["uri"], listed[0].get("cid", ""))
                candidates.append((self._written_when(ref), ref))
            written = [ref for ref in self.records if ref.collection == name and not is_tid(ref.rkey)]
            if written:  # keys that do not sort by time (self): the one this account wrote last, as it is now
                current = self._current(written[-1])
                if current is not None:
                    candidates.append((self._written_when(current), current))
        if candidates:
            return max(candidates, key=lambda candidate: candidate[0])[1]
        self._none_in_repo(collection)

    def _current(self, ref: RecordRef) -> RecordRef | None:
        """``ref``'s record as the repository holds it now (an app may have changed it), or None if it is gone."""
        try:
            return self.get(ref).ref
        except XrpcError as exc:
            if exc.error == "RecordNotFound":
                return None
            raise

    def _written_when(self, ref: RecordRef) -> float:
        """Seconds since the epoch the record was written: its TID's time, or when we wrote it, or 0."""
        if is_tid(ref.rkey):
            return tid_microseconds(ref.rkey) / 1e6
        return self.written_at.get(ref.uri, 0.0)

    def _none_in_repo(self, collection: str | None) -> NoReturn:
        held = self.collections()
        kind = f"{collection} record" if collection else "record"
        holds = f"records of {', '.join(held)}" if held else "no records at all"
        raise UsageError(f"{self.handle}'s repository holds no {kind} (it holds {holds})")


def _repo_unavailable(exc: XrpcError) -> bool:
    """Whether the PDS refused to read a repository because of the account's state (taken down, deactivated)."""
    if exc.error in ("RepoTakendown", "RepoDeactivated", "RepoSuspended", "RepoNotFound"):
        return True
    return exc.error == "InvalidRequest" and "Could not find repo" in str(exc)
