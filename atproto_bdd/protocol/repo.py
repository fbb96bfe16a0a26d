"""A repository read from a CAR export: its signed commit and its records."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import AtprotoBddError
from . import dagcbor
from .car import Car, parse_car
from .crypto import PublicKey
from .mst import walk
from .multiformats import CID


class RepoError(AtprotoBddError):
    """A repository export whose commit or tree is not what atproto requires."""


@dataclass(frozen=True)
class Commit:
    """The signed commit object at the root of a repository."""

    did: str
    version: int
    data: CID
    rev: str
    prev: CID | None
    sig: bytes = field(repr=False)

    @classmethod
    def from_block(cls, value: Any) -> Commit:
        """Build from the decoded root block."""
        try:
            return cls(value["did"], value["version"], value["data"], value["rev"], value.get("prev"), value["sig"])
        except (KeyError, TypeError):
            raise RepoError(f"the root block is not a repository commit: {value!r:.200}") from None

    def unsigned_bytes(self) -> bytes:
        """The DAG-CBOR bytes the signature covers (the commit without ``sig``)."""
        unsigned = {"did": self.did, "version": self.version, "data": self.data, "rev": self.rev, "prev": self.prev}
        return dagcbor.encode(unsigned)


class Repo:
    """A repository export: ``commit``, ``records`` ("collection/rkey" -> record)."""

    def __init__(self, car: Car) -> None:
        if len(car.roots) != 1:
            raise RepoError(f"a repository CAR has one root, this one has {len(car.roots)}")
        self.car = car
        self.commit = Commit.from_block(car.decode(car.roots[0]))

    @classmethod
    def from_car(cls, data: bytes) -> Repo:
        """Parse (and verify the blocks of) a CAR from ``com.atproto.sync.getRepo``."""
        return cls(parse_car(data))

    @cached_property
    def record_cids(self) -> dict[str, CID]:
        """Record paths to record CIDs, from the MST."""
        return dict(walk(self.car.blocks, self.commit.data))

    @cached_property
    def records(self) -> dict[str, Any]:
        """Record paths to decoded records."""
        return {path: self.car.decode(cid) for path, cid in self.record_cids.items()}

    def collection(self, nsid: str) -> dict[str, Any]:
        """Records of one collection, by record key."""
        prefix = nsid + "/"
        return {path[len(prefix) :]: record for path, record in self.records.items() if path.startswith(prefix)}

    def verify_signature(self, key: PublicKey) -> bool:
        """True if the commit is signed by ``key``."""
        return key.verify(self.commit.unsigned_bytes(), self.commit.sig)
