"""DID documents and the PLC directory's read API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..errors import TransportError, UsageError
from .crypto import PublicKey
from .http import new_client
from .xrpc import request_json


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
        return self.service_endpoint("atproto_pds")

    @property
    def signing_key(self) -> PublicKey | None:
        """The ``#atproto`` verification method's key (repository commits are signed with it)."""
        return self.verification_key("atproto")

    def service_endpoint(self, fragment: str) -> str | None:
        """The endpoint of service ``#fragment`` (``bsky_fg``, ``atproto_labeler``...), if declared."""
        for service in self.raw.get("service", []):
            if service.get("id") in (f"#{fragment}", f"{self.id}#{fragment}"):
                return service.get("serviceEndpoint")
        return None

    def verification_key(self, fragment: str) -> PublicKey | None:
        """The key of verification method ``#fragment`` (``atproto``, ``atproto_label``), if declared."""
        for method in self.raw.get("verificationMethod", []):
            if method.get("id") in (f"#{fragment}", f"{self.id}#{fragment}"):
                return PublicKey.from_verification_method(method.get("type", ""), method.get("publicKeyMultibase", ""))
        return None


def did_web_url(did: str) -> str:
    """Where a ``did:web`` document lives: ``https://<host>/.well-known/did.json``, http for localhost.

    Ports are percent-encoded in the DID (``did:web:localhost%3A8080``); paths
    (``did:web:host:path``) are not used by atproto and are refused.
    """
    rest = did[len("did:web:") :]
    if not did.startswith("did:web:") or not rest or ":" in rest:
        raise UsageError(f"{did!r} is not a did:web atproto can use (did:web:<host>, port as %3A)")
    host = unquote(rest)
    scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
    return f"{scheme}://{host}/.well-known/did.json"


def fetch_did_web(did: str, *, timeout: float = 15.0) -> DidDocument:
    """The document of a ``did:web``, fetched from its host (which must name the same DID)."""
    url = did_web_url(did)
    with new_client(timeout=timeout) as client:
        raw = request_json(client, "GET", url)
    if not isinstance(raw, dict) or raw.get("id") != did:
        named = raw.get("id") if isinstance(raw, dict) else raw
        raise TransportError(f"{url} serves a document for {named!r}, not {did}")
    return DidDocument(did, raw)


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
        request_json(self._http, "POST", f"/{did}", name=f"plc /{did}", json=operation, text_ok=True)  # "OK"

    def _get(self, path: str) -> Any:
        return request_json(self._http, "GET", path, name=f"plc {path}")

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> PlcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
