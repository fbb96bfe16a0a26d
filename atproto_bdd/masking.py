"""Random per-run secrets and their masking in everything we print."""

from __future__ import annotations

import secrets
import threading
from typing import Any, TextIO

MASK = "***"


class SecretMasker:
    """Remembers secret strings and replaces them with ``***`` in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, secret: str) -> str:
        """Remember ``secret`` so that :meth:`mask` hides it; returns it unchanged."""
        # Very short strings would mask ordinary words; nothing we generate is that short.
        if secret and len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)
        return secret

    def new_secret(self, nbytes: int = 18) -> str:
        """Generate and register a random URL-safe secret."""
        return self.register(secrets.token_urlsafe(nbytes))

    def mask(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced by ``***``."""
        with self._lock:
            known = sorted(self._secrets, key=len, reverse=True)
        for secret in known:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


#: The process-wide masker used by the runtime, the world and the steps.
masker = SecretMasker()


class MaskingStream:
    """A text stream that masks secrets in everything written to it (behave's formatter output)."""

    def __init__(self, stream: TextIO, secrets_masker: SecretMasker | None = None) -> None:
        self._stream = stream
        self._masker = secrets_masker or masker

    def write(self, text: str) -> int:
        """Write ``text`` with secrets masked."""
        return self._stream.write(self._masker.mask(text))

    def writelines(self, lines: Any) -> None:
        """Write each line with secrets masked."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
