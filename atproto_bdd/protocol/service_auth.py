"""Service-auth JWTs: what an account's signing key signs to prove itself to a service (``ES256K``).

A PDS issues them for its accounts (``com.atproto.server.getServiceAuth``).
An identity whose ``#atproto`` key we hold (Ozone's, before its account
moves to a PDS) signs its own with :func:`service_jwt`, as an account
migration does to create its account on the new PDS.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

from .plc_ops import SigningKey


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def service_jwt(key: SigningKey, *, iss: str, aud: str, lxm: str, ttl: float = 60.0) -> str:
    """A JWT by ``iss`` for ``aud``, valid for method ``lxm`` for ``ttl`` seconds, signed with ``key``."""
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256K"}
    payload = {"iss": iss, "aud": aud, "lxm": lxm, "iat": now, "exp": now + int(ttl), "jti": secrets.token_hex(16)}
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64url(key.sign(signing_input.encode()))}"
