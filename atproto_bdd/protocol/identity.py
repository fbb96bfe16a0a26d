"""DID documents and the PLC directory's read API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import TransportError
from .crypto import PublicKey
from .http import new_client
from .xrpc import error_from_response


@dataclass(frozen=True)
class DidDocument:
    """The parts of a DID document atproto uses."""

    id: str
    raw: dict[str, Any]

    @property
    def handles(self) -> list[str]:
        """Handles claimed through ``alsoKnownAs`` (``at://alice.test`` -> ``alice.test``)."""
        return [aka[len("at://") :] for aka in self.raw.get("alsoKnownAs", []) if aka.startswith("at://")]

    @property
    def pds_endpoint(self) -> str | None:
        """The ``#atproto_pds`` service endpoint."""
        for service in self.raw.get("service", []):
            if service.get("id") in ("#atproto_pds", f"{self.id}#atproto_pds"):
                return service.get("serviceEndpoint")
        return None

    @property
    def signing_key(self) -> PublicKey | None:
        """The ``#atproto`` verification method's key (repository commits are signed with it)."""
        for method in self.raw.get("verificationMethod", []):
            if method.get("id") in ("#atproto", f"{self.id}#atproto"):
                return PublicKey.from_verification_method(method.get("type", ""), method.get("publicKeyMultibase", ""))
        return None


class PlcClient:
    """Reads DID documents from a PLC directory, and creates DIDs in it."""

    def __init__(self, url: str, *, timeout: float = 15.0) -> None:
        self.url = url.rstrip("/")
        self._http = new_client(base_url=self.url, timeout=timeout)

    def document(self, did: str) -> DidDocument:
        """The current DID document of ``did``."""
        return DidDocument(did, self._get(f"/{did}"))

    def create(self, did: str, operation: dict[str, Any]) -> None:
        """Submit a signed genesis ``operation`` for ``did`` (see :mod:`atproto_bdd.protocol.plc_ops`)."""
        try:
            response = self._http.post(f"/{did}", json=operation)
        except httpx.HTTPError as exc:
            raise TransportError(f"POST {self.url}/{did} failed: {exc}") from None
        if response.status_code >= 400:
            raise error_from_response(response, method="POST", nsid=f"plc /{did}")

    def _get(self, path: str) -> Any:
        try:
            response = self._http.get(path)
        except httpx.HTTPError as exc:
            raise TransportError(f"GET {self.url}{path} failed: {exc}") from None
        if response.status_code >= 400:
            raise error_from_response(response, method="GET", nsid=f"plc {path}")
        return response.json()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> PlcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
