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

from ..errors import UsageError
from ..protocol.xrpc import XrpcExchange
from ..services.network import Network
from ..services.snapshots import NetworkSnapshot
from .account import Account
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
    #: When each of those was written (by URI), which orders records whose keys are not TIDs.
    written_at: tuple[tuple[str, float], ...]
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


class SnapshotsMixin:
    """Copying a world of PDSes and accounts, and giving a new world that state."""

    def snapshot(self) -> WorldSnapshot:
        """Copy this world's network and accounts, for :meth:`restore` into other worlds.

        Only a network of PDSes and accounts can be copied: a world with a relay, an
        AppView, Jetstream, Tap, apps, an email-capturing PDS or OAuth sessions raises
        :class:`~atproto_bdd.errors.UsageError` saying which.
        """
        if not self.started:
            raise UsageError("this world has no network to copy yet")
        if self._apps:
            raise UsageError(f"a snapshot cannot hold apps; this world has {', '.join(sorted(self._apps))}")
        for pds in self._pdses.values():
            if pds.service.spec.smtp_url:
                raise UsageError(f"a snapshot cannot hold the run's captured email; PDS {pds.name} sends it there")
        for account in self._accounts.values():
            if account.has_oauth_session:
                raise UsageError(f"a snapshot cannot hold OAuth sessions; {account.handle} has one")
        network = self.network.snapshot()
        accounts = tuple(
            AccountState(
                pds=account.pds.name,
                handle=account.handle,
                did=account.did,
                password=account.password,
                email=account.email,
                access_jwt=account.session.access_jwt,
                refresh_jwt=account.session.refresh_jwt,
                records=tuple(account.records),
                written_at=tuple(account.written_at.items()),
                blobs=tuple(account.blobs),
            )
            for account in self._accounts.values()
        )
        return WorldSnapshot(network, accounts, tuple(self.transcript))

    def restore(self, snapshot: WorldSnapshot) -> None:
        """Give this new world the state of ``snapshot``, in new services (a copy: the snapshot stays as it is)."""
        if self._network is not None:
            raise UsageError("a snapshot is restored into a new world, before its network starts")
        self._network = Network.restored(self.runtime, snapshot.network)
        for service in self._network.pdses.values():
            self._adopt_pds(service)
        for state in snapshot.accounts:
            pds = self._pdses[state.pds]
            account = Account(pds, state.handle, state.did, state.password, state.email, state.session())
            account.records.extend(state.records)
            account.written_at.update(state.written_at)
            account.blobs.extend(state.blobs)
            self._adopt_account(state.handle.lower(), account)
        self.transcript.extend(snapshot.transcript)
        self.restored = True
