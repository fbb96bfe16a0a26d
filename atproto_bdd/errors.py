"""Exceptions raised by atproto-bdd.

Every error the library raises on purpose derives from :class:`AtprotoBddError`,
so a step can turn it into a one-line failure instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class AtprotoBddError(Exception):
    """Base class of every error raised on purpose by atproto-bdd."""


class UsageError(AtprotoBddError):
    """The user asked for something that cannot be: an unknown name, bad input.

    The message says what was wrong and, where there is a fixed set of valid
    values, lists them.
    """

    @classmethod
    def unknown(cls, what: str, value: str, choices: Iterable[str], hint: str = "") -> UsageError:
        """Build the standard "unknown X" error naming the bad value and the valid choices."""
        listed = sorted(choices)
        known = ", ".join(listed) if listed else "none yet"
        message = f"unknown {what} {value!r}; known {what}s: {known}"
        if hint:
            message += f" ({hint})"
        return cls(message)


class InstallError(AtprotoBddError):
    """A tool or package the services need is missing or failed to install."""


class NotInstalled(InstallError):
    """Something is not in the cache yet, and the caller asked not to install it (``install=False``)."""


class ServiceError(AtprotoBddError):
    """A service failed to start, became unhealthy or died, or answered in a way no client can use."""


class TransportError(AtprotoBddError):
    """An HTTP request did not get a response (connection refused, timeout)."""


class XrpcError(AtprotoBddError):
    """An XRPC call answered with an error status.

    Attributes mirror the XRPC error body: ``error`` is the machine-readable
    name (``InvalidHandle``), ``message`` the human-readable detail.
    """

    def __init__(
        self,
        status_code: int,
        error: str,
        message: str,
        *,
        nsid: str = "",
        method: str = "",
        body: str = "",
    ) -> None:
        self.status_code = status_code
        self.error = error
        self.message = message
        self.nsid = nsid
        self.method = method
        self.body = body
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.nsid}: " if self.nsid else ""
        detail = f": {self.message}" if self.message else ""
        return f"{where}{self.status_code} {self.error}{detail}"

    def __reduce__(self):  # keep pickling (multiprocessing) working with keyword args
        return (_rebuild_xrpc_error, (self.status_code, self.error, self.message, self.nsid, self.method, self.body))


def _rebuild_xrpc_error(status_code: int, error: str, message: str, nsid: str, method: str, body: str) -> XrpcError:
    return XrpcError(status_code, error, message, nsid=nsid, method=method, body=body)
