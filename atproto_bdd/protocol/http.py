"""httpx clients that share one TLS context, and HTTP Basic credentials.

Building an ``httpx.Client`` loads the CA bundle into a new SSL context, which
costs ~25 ms; tests create clients per PDS and per scenario, so they share one.
"""

from __future__ import annotations

import base64
import ssl
import threading
from typing import Any

import httpx

from ..masking import masker

_context: ssl.SSLContext | None = None
_lock = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """The process-wide default-verifying SSL context."""
    global _context
    with _lock:
        if _context is None:
            _context = ssl.create_default_context()
        return _context


def new_client(**kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` using the shared SSL context (keyword arguments as for httpx)."""
    kwargs.setdefault("verify", shared_ssl_context())
    return httpx.Client(**kwargs)


def basic_auth(user: str, password: str) -> dict[str, str]:
    """An HTTP Basic ``authorization`` header; the encoded credentials are masked in all output."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {masker.register(token)}"}
