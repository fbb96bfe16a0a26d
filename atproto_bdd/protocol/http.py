"""httpx clients that share one TLS context.

Building an ``httpx.Client`` loads the CA bundle into a new SSL context, which
costs ~25 ms; tests create clients per PDS and per scenario, so they share one.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

import httpx

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
