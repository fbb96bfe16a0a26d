"""Who is who in the world: handles for DIDs, DID documents, AT-URIs described for messages."""

from __future__ import annotations

from ..errors import UsageError
from ..protocol.identity import DidDocument, fetch_did_web


class IdentityMixin:
    """Names and DID documents of the network's accounts and services."""

    def name_of(self, did: str) -> str:
        """The handle of the account with ``did``, or the DID itself if it is not ours."""
        for account in self._accounts.values():
            if account.did == did:
                return account.handle
        return did

    def did_document(self, handle: str) -> DidDocument:
        """The DID document of an account, as the network's PLC directory serves it."""
        return self.plc.document(self.account(handle).did)

    def resolve_did(self, did: str) -> DidDocument:
        """The DID document of any DID: did:plc from the network's PLC directory, did:web from its host."""
        if did.startswith("did:plc:"):
            return self.plc.document(did)
        if did.startswith("did:web:"):
            return fetch_did_web(did, timeout=self.settings.request_timeout)
        raise UsageError(f"cannot resolve {did!r}: atproto uses did:plc and did:web")

    def describe_uri(self, uri: str) -> str:
        """An AT-URI with its account's handle, for messages (``at://... (bob.test's app.bsky.feed.post)``)."""
        parts = uri.removeprefix("at://").split("/")
        if len(parts) == 3:
            owner = self.name_of(parts[0])
            return f"{uri} ({owner}'s {parts[1]})" if owner != parts[0] else uri
        return uri
