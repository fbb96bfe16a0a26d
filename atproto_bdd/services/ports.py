"""Free TCP ports on the loopback interface, and starting a service on one without a race.

A port found free can be taken by another process before the service binds
it (parallel workers start services at the same moment), so services start
through :func:`on_free_port`, which picks a new port and tries again when the
start fails with "address in use".
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: How many ports a start tries before it gives up.
PORT_ATTEMPTS = 5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the caller binds it next)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether nothing listens on (or holds) TCP ``port`` on 127.0.0.1 right now."""
    with socket.socket() as probe:
        # As servers bind: connections of an earlier start still in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def is_address_in_use(error: BaseException) -> bool:
    """Whether ``error`` says a port was taken (an OSError, or an engine's or child's message saying so)."""
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return True
    text = str(error).lower()
    return "address already in use" in text or "eaddrinuse" in text or "port is already allocated" in text


def on_free_port(start: Callable[[int], T], *, attempts: int = PORT_ATTEMPTS) -> T:
    """``start(port)`` on a free port; on "address in use", again on another one (``attempts`` in all).

    ``start`` must clean up what it began before it raises.
    """
    for attempt in range(1, attempts + 1):
        try:
            return start(free_port())
        except Exception as exc:
            if attempt == attempts or not is_address_in_use(exc):
                raise
    raise AssertionError("unreachable")
