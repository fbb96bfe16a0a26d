"""Reading a websocket subscription with a deadline: the one way the protocol layer opens and reads one.

The event streams (``subscribeRepos``, ``subscribeLabels``, Jetstream, Tap)
are websockets. :func:`open_socket` connects within a timeout and turns any
failure into :class:`~atproto_bdd.protocol.firehose.FirehoseError`
(``ConnectionFailed``, naming the URL); :class:`Subscription` reads messages
until the caller has what it wants, the deadline passes, the stream is quiet
for a while, or the server closes it - and says which ended it
(:attr:`Subscription.ended`), so a caller can tell "nothing came" from "it
stopped too early".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from ..waiting import Deadline

#: How our subscriptions name themselves to a server: a service's log tells them from an app's this way.
USER_AGENT = "atproto-bdd (event stream reader)"


def open_socket(url: str, *, timeout: float, headers: dict[str, str] | None = None) -> Any:
    """A websocket connection to ``url`` (no message size limit, no compression), within ``timeout`` seconds.

    Raises the firehose's ``FirehoseError("ConnectionFailed", ...)`` naming ``url`` if it cannot connect.
    """
    from websockets.sync.client import connect

    from .firehose import FirehoseError

    try:
        return connect(
            url,
            open_timeout=timeout,
            max_size=None,
            compression=None,
            additional_headers=headers or None,
            user_agent_header=USER_AGENT,
        )
    except Exception as exc:  # websockets raises several unrelated types
        raise FirehoseError("ConnectionFailed", f"could not subscribe to {url}: {exc}") from None


class Subscription:
    """One websocket subscription read until a deadline: ``with Subscription(url, timeout=5) as stream: ...``."""

    def __init__(self, url: str, *, timeout: float, open_timeout: float | None = None) -> None:
        self.url = url
        self.deadline = Deadline(timeout)
        self._exit = ExitStack()  # websockets >= 17 wants its connection used as a context manager
        self._socket = self._exit.enter_context(
            open_socket(url, timeout=open_timeout if open_timeout is not None else timeout)
        )
        #: Why :meth:`messages` stopped: ``deadline``, ``idle``, ``closed``, or ``""`` while it runs (or the
        #: caller stopped taking messages).
        self.ended = ""

    def messages(self, *, idle: float | None = None) -> Iterator[str | bytes]:
        """The messages as they come, until the deadline, ``idle`` seconds without one, or the server closes."""
        from websockets.exceptions import ConnectionClosed

        while True:
            wait = self.deadline.remaining if idle is None else min(idle, self.deadline.remaining)
            try:
                yield self._socket.recv(timeout=wait)
            except TimeoutError:
                self.ended = "deadline" if self.deadline.expired or idle is None else "idle"
                return
            except ConnectionClosed:
                self.ended = "closed"
                return

    def first(self, wait: float) -> str | bytes | None:
        """The first message if one comes within ``wait`` seconds (None if none comes, or the server closes)."""
        return next(self.messages(idle=wait), None)

    def close(self) -> None:
        """Close the connection."""
        self._exit.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
