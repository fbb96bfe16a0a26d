"""A world's state copied once and given to many worlds: the network's services and the accounts in them.

:meth:`World.snapshot <atproto_bdd.world.World.snapshot>` takes one after a
Background has run (:mod:`atproto_bdd.background_snapshots` decides when);
:meth:`World.restore <atproto_bdd.world.World.restore>` gives a fresh world the
same state in new services (:mod:`atproto_bdd.services.snapshots`): the same
PDSes on the same ports, the same accounts with their sessions, and the
transcript of the calls that made them, for diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.xrpc import XrpcExchange
from ..services.snapshots import NetworkSnapshot
from .blobs import Blob
from .records import RecordRef
from .session import Session


@dataclass(frozen=True)
class AccountState:
    """What the world knows of an account: identity, credentials, and what it made."""

    pds: str
    handle: str
    did: str
    password: str
    email: str
    access_jwt: str
    refresh_jwt: str
    records: tuple[RecordRef, ...]
    blobs: tuple[Blob, ...]

    def session(self) -> Session:
        """A new session object with the snapshot's tokens (the restored PDS's database holds the same session)."""
        return Session(self.access_jwt, self.refresh_jwt)


@dataclass(frozen=True)
class WorldSnapshot:
    """A network snapshot, the accounts in it (in creation order) and the transcript up to the snapshot."""

    network: NetworkSnapshot
    accounts: tuple[AccountState, ...]
    transcript: tuple[XrpcExchange, ...]
