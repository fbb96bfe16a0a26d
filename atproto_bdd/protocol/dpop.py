"""DPoP proofs (RFC 9449) and PKCE (RFC 7636), as atproto OAuth uses them.

A :class:`DPoPKey` is an ES256 (P-256) key pair; each request gets a fresh
proof JWT signed with it, naming the method and URL, the server's latest
nonce, and - for resource requests - the hash of the access token (``ath``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url(sha256(access token))."""
    return b64url(hashlib.sha256(access_token.encode()).digest())


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL (DPoP nonces are kept per origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class DPoPKey:
    """An ES256 key pair that signs DPoP proofs, and the nonces servers handed out."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    nonces: dict[str, str] = field(default_factory=dict)

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK (goes in every proof's header)."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint (``jkt``) access tokens are bound to."""
        jwk = self.public_jwk
        canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(self, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None) -> str:
        """A DPoP proof for one request (the origin's latest nonce unless one is given)."""
        import jwt  # PyJWT, from the [oauth] extra

        parts = urlsplit(url)
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method.upper(),
            "htu": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "iat": int(time.time()),
        }
        nonce = nonce if nonce is not None else self.nonces.get(origin_of(url))
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["ath"] = token_hash(access_token)
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers=headers)

    def remember_nonce(self, url: str, nonce: str | None) -> None:
        """Keep the ``DPoP-Nonce`` a server answered with."""
        if nonce:
            self.nonces[origin_of(url)] = nonce


@dataclass(frozen=True)
class PKCEChallenge:
    """A PKCE code verifier and its S256 challenge."""

    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls) -> PKCEChallenge:
        """A fresh random verifier (43 characters) and its challenge."""
        verifier = b64url(secrets.token_bytes(32))
        return cls(verifier, b64url(hashlib.sha256(verifier.encode()).digest()))
