"""A repository read from a CAR export: its signed commit and its records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import AtprotoBddError
from . import dagcbor
from .car import Car, parse_car
from .crypto import PublicKey
from .mst import is_blessed_link, walk
from .multiformats import CID
from .syntax import is_did, is_nsid, is_rkey

#: The repository format version atproto uses.
REPO_VERSION = 3
_COMMIT_FIELDS = ("did", "version", "data", "rev", "prev", "sig")


class RepoError(AtprotoBddError):
    """A repository export whose commit or tree is not what atproto requires."""


@dataclass(frozen=True)
class Commit:
    """The signed commit object at the root of a repository.

    ``raw`` is the commit exactly as decoded, including any field this
    class does not name: the signature covers all of them.
    """

    did: str
    version: int
    data: CID
    rev: str
    prev: CID | None
    sig: bytes = field(repr=False)
    raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_block(cls, value: Any) -> Commit:
        """Build from the decoded root block; :class:`RepoError` unless it is a version-3 commit.

        Required: ``did`` (a DID), ``version`` (3), ``data`` (a CIDv1
        dag-cbor sha2-256 link), ``rev`` (a non-empty string), ``prev``
        (present; such a link or null) and ``sig`` (bytes). Other fields are
        kept, and signed over.
        """
        if not isinstance(value, dict):
            raise RepoError(f"the root block is not a repository commit: {value!r:.200}")
        missing = [name for name in _COMMIT_FIELDS if name not in value]
        if missing:
            raise RepoError(f"the root block is not a repository commit (no {', '.join(missing)}): {value!r:.200}")
        did, version, data, rev, prev, sig = (value[name] for name in _COMMIT_FIELDS)
        if type(version) is not int or version != REPO_VERSION:
            raise RepoError(f"the commit has version {version!r}; atproto repositories are version {REPO_VERSION}")
        if not isinstance(did, str) or not is_did(did):
            raise RepoError(f"the commit's did {did!r} is not a DID")
        if not isinstance(data, CID) or not is_blessed_link(data):
            raise RepoError(f"the commit's data {data!r} is not a CIDv1 dag-cbor sha2-256 link")
        if not isinstance(rev, str) or not rev:
            raise RepoError(f"the commit's rev {rev!r} is not a non-empty string")
        if prev is not None and (not isinstance(prev, CID) or not is_blessed_link(prev)):
            raise RepoError(f"the commit's prev {prev!r} is neither null nor a CIDv1 dag-cbor sha2-256 link")
        if not isinstance(sig, bytes) or not sig:
            raise RepoError(f"the commit's sig is {type(sig).__name__}, not (non-empty) bytes")
        return cls(did, version, data, rev, prev, sig, raw=dict(value))

    def unsigned_bytes(self) -> bytes:
        """The DAG-CBOR bytes the signature covers: the decoded commit without ``sig``."""
        if self.raw is None:  # built by hand, not decoded: the named fields are all there is
            fields = {"did": self.did, "version": self.version, "data": self.data, "rev": self.rev, "prev": self.prev}
        else:
            fields = {name: value for name, value in self.raw.items() if name != "sig"}
        return dagcbor.encode(fields)


class Repo:
    """A repository export: ``commit``, ``records`` ("collection/rkey" -> record)."""

    def __init__(self, car: Car) -> None:
        if len(car.roots) != 1:
            raise RepoError(f"a repository CAR has one root, this one has {len(car.roots)}")
        self.car = car
        root = car.roots[0]
        try:
            self.commit = Commit.from_block(car.decode(root))
        except RepoError as exc:
            raise RepoError(f"commit {root}: {exc}") from None

    @classmethod
    def from_car(cls, data: bytes) -> Repo:
        """Parse (and verify the blocks of) a CAR from ``com.atproto.sync.getRepo``."""
        return cls(parse_car(data))

    @cached_property
    def record_cids(self) -> dict[str, CID]:
        """Record paths to record CIDs, from the MST (walked and verified: see :func:`~.mst.walk`).

        Every key must be a repository path, ``<collection NSID>/<record key>``.
        """
        paths = dict(walk(self.car.blocks, self.commit.data))
        for path in paths:
            collection, _, rkey = path.partition("/")
            if not (is_nsid(collection) and is_rkey(rkey)):
                raise RepoError(f"MST key {path!r} is not a repository path (<collection NSID>/<record key>)")
        return paths

    @cached_property
    def records(self) -> dict[str, Any]:
        """Record paths to decoded records."""
        return {path: self.car.decode(cid) for path, cid in self.record_cids.items()}

    def collection(self, nsid: str) -> dict[str, Any]:
        """Records of one collection, by record key."""
        prefix = nsid + "/"
        return {path[len(prefix) :]: record for path, record in self.records.items() if path.startswith(prefix)}

    def verify_signature(self, key: PublicKey) -> bool:
        """True if the commit is signed by ``key`` (the signature covers every field but ``sig``)."""
        return key.verify(self.commit.unsigned_bytes(), self.commit.sig)
