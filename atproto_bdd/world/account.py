"""An account on a PDS, acting through its own session.

:class:`Account` is assembled from one mixin per job, each in the module its
name says: ``session`` (identity, sign-in, authenticated XRPC), ``records``,
``bsky`` (posts, follows, likes, reposts), ``lifecycle`` (deactivation,
deletion), ``email``, ``oauth``, ``repo`` (CAR export) and ``blobs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .blobs import Blob, BlobsMixin
from .bsky import BskyMixin
from .lifecycle import LifecycleMixin
from .oauth import OAuthMixin, OAuthSession
from .records import RecordRef
from .repo import RepoMixin
from .session import Session

if TYPE_CHECKING:
    from .pds import Pds


class Account(BskyMixin, BlobsMixin, OAuthMixin, LifecycleMixin, RepoMixin):
    """An account the framework created: identity, credentials and what it made in this network."""

    def __init__(self, pds: Pds, handle: str, did: str, password: str, email: str, session: Session) -> None:
        super().__init__(pds, handle, did, password, email, session)
        self.records: list[RecordRef] = []
        self.written_at: dict[str, float] = {}
        self.blobs: list[Blob] = []
        self._mail_marks: dict[str, int] = {}
        self._oauth: OAuthSession | None = None
