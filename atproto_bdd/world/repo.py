"""An account's repository as relays and indexers read it: the CAR export, parsed and checked."""

from __future__ import annotations

from ..protocol.repo import Repo
from .session import AccountCore


class RepoMixin(AccountCore):
    """Export the account's repository (``com.atproto.sync.getRepo``)."""

    def export_repo(self) -> bytes:
        """The whole repository as CAR bytes."""
        return self.pds.xrpc_get("com.atproto.sync.getRepo", {"did": self.did})

    def repo(self) -> Repo:
        """The exported repository, parsed: every block checked against its CID, the MST walked."""
        return Repo.from_car(self.export_repo())
