"""The repository event stream, ``com.atproto.sync.subscribeRepos`` (the firehose).

Each websocket message is a frame of two DAG-CBOR items: a header
``{op, t}`` and a body. ``op: 1`` carries an event whose type is ``t``
(``#commit``, ``#identity``, ``#account``, ``#sync``, ``#info``); ``op: -1``
carries an error (``{error, message}``), after which the server closes the
stream.

:class:`FirehoseRecorder` subscribes in a background thread and keeps every
event, so a test can look back at what happened and wait, with a deadline,
for what has not happened yet. :func:`sync_to_head` proves a recorder holds
everything the service has sequenced (a negative check judges only then), and
:func:`replay` reads a stream from a cursor up to a known head.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import AtprotoBddError, UsageError
from ..waiting import Deadline, poll, wait_for_condition
from . import dagcbor
from .car import Car, parse_car
from .multiformats import CID
from .websocket import Subscription

SUBSCRIBE_REPOS = "com.atproto.sync.subscribeRepos"
#: How long to wait for a first frame that is due at once (an error frame, or events after a cursor).
FIRST_FRAME_WAIT = 0.25
#: What a wait of :meth:`FirehoseRecorder.wait_for` finds when recording stopped without a failure.
_STOPPED: object = object()


class FirehoseError(AtprotoBddError):
    """An error frame from the server (``op: -1``), or a stream that could not be read."""

    def __init__(self, error: str, message: str = "") -> None:
        self.error = error
        self.message = message
        super().__init__(f"{error}: {message}" if message else error)


@dataclass(frozen=True)
class RepoOp:
    """One operation of a commit: ``create``, ``update`` or ``delete`` of a record path."""

    action: str
    path: str
    cid: CID | None = None

    @property
    def collection(self) -> str:
        """The collection NSID of the record."""
        return self.path.split("/", 1)[0]

    @property
    def rkey(self) -> str:
        """The record key."""
        return self.path.split("/", 1)[-1]


@dataclass(frozen=True)
class FirehoseEvent:
    """A decoded event: its type (without ``#``), sequence number, subject DID and body."""

    type: str
    seq: int | None
    did: str | None
    body: dict[str, Any] = field(repr=False)
    received_at: float = field(default=0.0, compare=False)

    @property
    def time(self) -> str | None:
        """The server's timestamp of the event (ISO 8601)."""
        return self.body.get("time")

    @cached_property
    def timestamp(self) -> float | None:
        """The server's timestamp as seconds since the epoch (None if the event has none)."""
        text = self.body.get("time")
        if not isinstance(text, str):
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None

    @property
    def ops(self) -> list[RepoOp]:
        """The operations of a commit (empty for other events)."""
        return [RepoOp(op.get("action", ""), op.get("path", ""), op.get("cid")) for op in self.body.get("ops") or []]

    @property
    def active(self) -> bool | None:
        """For account events: whether the account is active."""
        return self.body.get("active")

    @property
    def status(self) -> str | None:
        """For account events: the status (``deactivated``, ``takendown``...) or ``active``."""
        if self.type != "account":
            return None
        return "active" if self.body.get("active") else self.body.get("status")

    @cached_property
    def blocks(self) -> Car:
        """A commit's blocks (a CAR slice with the commit and changed records)."""
        return parse_car(self.body.get("blocks") or b"")


def decode_frame(data: bytes, received_at: float = 0.0) -> FirehoseEvent:
    """Decode one websocket message; raise :class:`FirehoseError` for an error frame."""
    try:
        items = dagcbor.decode_all(data)
    except dagcbor.DagCborError as exc:
        raise FirehoseError("MalformedFrame", str(exc)) from None
    if len(items) != 2 or not all(isinstance(item, dict) for item in items):
        raise FirehoseError("MalformedFrame", f"expected a header and a body, got {len(items)} items")
    header, body = items
    if header.get("op") == -1:
        raise FirehoseError(str(body.get("error", "Unknown")), str(body.get("message", "")))
    if header.get("op") != 1:
        raise FirehoseError("MalformedFrame", f"unknown frame op {header.get('op')!r}")
    kind = str(header.get("t", "")).lstrip("#")
    did = body.get("repo") or body.get("did")
    return FirehoseEvent(kind, body.get("seq"), did, body, received_at)


def parse_cursor(value: str | int) -> int:
    """A cursor as the API takes it: a non-negative integer sequence number."""
    text = str(value).strip()
    if not text.isdigit():
        raise UsageError(f"cursor {value!r} is not a sequence number (expected a non-negative integer, 0 = oldest)")
    return int(text)


def subscribe_url(base_url: str, cursor: int | None = None, nsid: str = SUBSCRIBE_REPOS) -> str:
    """The websocket URL of ``nsid`` on the service at ``base_url`` (http -> ws)."""
    ws = "ws" + base_url[len("http") :] if base_url.startswith("http") else base_url
    query = f"?{urlencode({'cursor': cursor})}" if cursor is not None else ""
    return f"{ws.rstrip('/')}/xrpc/{nsid}{query}"


def with_cursor(url: str, cursor: int) -> str:
    """A subscription ``url`` with its ``cursor`` parameter set to ``cursor`` (its other parameters kept)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "cursor"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("cursor", cursor)])))


class FirehoseRecorder:
    """Keeps every event of a subscription, read by a background thread.

    If reading fails for any reason (the server closed the stream, a frame
    that does not decode, a bug), the reason is kept in :attr:`failure` and
    every later wait raises it: a step never waits on a recorder that stopped.
    """

    def __init__(
        self, url: str, *, name: str = "", open_timeout: float = 10.0, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.headers = headers or {}
        self.name = name or url
        self.open_timeout = open_timeout
        self._events: list[FirehoseEvent] = []
        self._errors: list[FirehoseError] = []
        self._repeats: list[FirehoseEvent] = []
        #: The latest sequence number recorded when the recorder last resubscribed (None: it never did).
        self._resumed_after: int | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socket: Any = None
        self.closed = False
        #: Why recording stopped, if it stopped before :meth:`close`.
        self.failure: FirehoseError | None = None

    def start(self) -> FirehoseRecorder:
        """Connect (within ``open_timeout``) and start recording."""
        from .websocket import open_socket

        self._socket = open_socket(self.url, timeout=self.open_timeout, headers=self.headers)
        self._thread = threading.Thread(target=self._run, name=f"firehose {self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        socket, stop = self._socket, self._stop  # this connection's: a resubscription has its own
        failure: FirehoseError | None = None
        try:
            with socket:  # the connection's owner is this thread (websockets >= 17 wants a context manager)
                while not stop.is_set():
                    try:
                        message = socket.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    try:
                        event = self.decode(message, time.perf_counter())
                    except FirehoseError as error:
                        self._append(error=error)
                        continue
                    if event is not None:
                        if self.repeated(event):  # sent again after a resubscription: recorded once
                            self._repeat(event)
                        else:
                            self._append(event=event)
                        self.received(socket, event)
        except ConnectionClosed as exc:
            if not stop.is_set():
                failure = FirehoseError("StreamClosed", f"the server closed {self.name} ({exc})")
        except Exception as exc:  # anything else ends recording: keep it for the steps to report
            failure = FirehoseError("RecorderFailed", f"reading {self.name} failed: {type(exc).__name__}: {exc}")
        finally:
            with self._changed:
                if self._socket is socket:  # not a connection a resubscription replaced
                    self.closed = True
                    self.failure = failure
                self._changed.notify_all()

    def decode(self, message: str | bytes, received_at: float) -> FirehoseEvent | None:
        """One websocket message as an event (None: not an event); subscribeRepos frames here.

        Streams of other shapes (Jetstream's and Tap's JSON) subclass the
        recorder and decode their messages into the same event type.
        """
        if isinstance(message, str):
            return None
        return decode_frame(message, received_at)

    def received(self, socket: Any, event: FirehoseEvent) -> None:
        """Called on the reading thread after ``event`` was recorded (Tap's recorder acknowledges it here)."""

    def repeated(self, event: FirehoseEvent) -> bool:
        """Whether ``event`` is one recorded before a resubscription, sent again (kept in :attr:`repeats`, not twice).

        Here: its sequence number is not past the cursor the resubscription
        resumed after. Streams that number otherwise override it (Tap's).
        """
        resumed = self._resumed_after
        return resumed is not None and event.seq is not None and event.seq <= resumed

    def resume_cursor(self) -> int | None:
        """The cursor a resubscription asks for (None: none, the service knows what is due).

        Here the latest sequence number received: ``subscribeRepos`` sends
        the events after its cursor. Jetstream's cursor is inclusive (its
        recorder asks for the next microsecond).
        """
        return self.last_seq

    def _repeat(self, event: FirehoseEvent) -> None:
        with self._changed:
            self._repeats.append(event)

    @property
    def repeats(self) -> list[FirehoseEvent]:
        """Events the stream sent again after a resubscription, which were already recorded (not recorded again)."""
        with self._changed:
            return list(self._repeats)

    def _append(self, event: FirehoseEvent | None = None, error: FirehoseError | None = None) -> None:
        with self._changed:
            if event is not None:
                self._events.append(event)
            if error is not None:
                self._errors.append(error)
            self._changed.notify_all()

    @property
    def events(self) -> list[FirehoseEvent]:
        """Every event received so far, in order."""
        with self._changed:
            return list(self._events)

    @property
    def errors(self) -> list[FirehoseError]:
        """Error frames received so far."""
        with self._changed:
            return list(self._errors)

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest event received (0 before any)."""
        with self._changed:
            return next((event.seq for event in reversed(self._events) if event.seq is not None), 0)

    def raise_failure(self) -> None:
        """Raise why recording stopped, if it stopped on its own."""
        if self.failure is not None:
            raise self.failure

    def wait_for(
        self, predicate: Callable[[FirehoseEvent], bool], timeout: float, *, start: int = 0
    ) -> FirehoseEvent | None:
        """The first event from index ``start`` on that satisfies ``predicate``, waiting up to ``timeout``.

        Raises :attr:`failure` if recording stopped before such an event came.
        """
        checked = [start]

        def found() -> FirehoseEvent | None:
            for event in self._events[checked[0] :]:
                if predicate(event):
                    return event
            checked[0] = max(checked[0], len(self._events))
            if self.closed:
                self.raise_failure()
                return _STOPPED
            return None

        with self._changed:
            event = wait_for_condition(self._changed, found, timeout=timeout)
        return None if event is None or event is _STOPPED else event

    def wait_past(self, seq: int, timeout: float) -> bool:
        """Wait until an event numbered above ``seq`` arrived; False at the deadline."""
        return self.wait_for(lambda event: event.seq is not None and event.seq > seq, timeout) is not None

    def close(self) -> None:
        """Stop the thread and close the connection."""
        self._stop.set()
        if self._socket is not None:
            self._socket.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def resubscribe(self) -> FirehoseRecorder:
        """Subscribe again from the latest event received, keeping every event (for a service that restarted).

        Closes the current connection if it is open (call :meth:`close` before
        the service stops, so that its going away is no failure), then opens
        the stream with the latest sequence number received as its cursor: the
        service sends the events after it (:meth:`resume_cursor`). Waits and
        windows on this recorder go on; an event received again is not
        recorded twice (:meth:`repeated`).
        """
        self.close()
        with self._changed:
            cursor = self.resume_cursor()
            if cursor is not None:
                self.url = with_cursor(self.url, cursor)
            self._resumed_after = self.last_seq
            self._stop = threading.Event()
            self._socket = self._thread = None
            self.closed = False
            self.failure = None
        return self.start()


def is_past_head(base_url: str, cursor: int, *, timeout: float = 5.0, nsid: str = SUBSCRIBE_REPOS) -> bool:
    """Whether the service has no event numbered ``cursor`` or later (it answers ``FutureCursor``).

    A PDS checks the cursor against its latest sequence number before it
    streams anything, so the answer comes with the first frame; a stream that
    starts (or stays open) means there are events at or after ``cursor``.
    """
    with Subscription(subscribe_url(base_url, cursor=cursor, nsid=nsid), timeout=timeout) as stream:
        message = stream.first(FIRST_FRAME_WAIT)
    if not isinstance(message, bytes):  # nothing came at once, or a text message: the stream goes on
        return False
    try:
        decode_frame(message)
    except FirehoseError as error:
        if error.error == "FutureCursor":
            return True
        raise
    return False


def sync_to_head(recorder: FirehoseRecorder, base_url: str, *, timeout: float) -> int:
    """Wait until ``recorder`` holds the service's latest event; return that event's sequence number.

    The head is read from the service after the call starts (a ``FutureCursor``
    probe), so everything the service sequenced before - the outcome of an
    action that returned - is in the recorder when this returns.
    """
    deadline = Deadline(timeout)
    seen = [0]

    def at_head() -> int | None:
        recorder.raise_failure()
        seen[0] = recorder.last_seq
        if is_past_head(base_url, seen[0] + 1, timeout=max(deadline.remaining, 0.5)):
            return seen[0]
        recorder.wait_past(seen[0], deadline.remaining)  # more events: look again once they came
        return None

    def behind() -> FirehoseError:
        recorder.raise_failure()
        return FirehoseError(
            "Behind",
            f"{recorder.name} did not reach the service's latest event within {timeout:g}s: "
            f"it received up to #{seen[0]}, the service has more",
        )

    return poll(at_head, timeout=timeout, on_timeout=behind, interval=0.0, max_interval=0.0)


def replay(url: str, *, until_seq: int, timeout: float = 10.0, open_timeout: float = 10.0) -> list[FirehoseEvent]:
    """Read a subscription (``url`` carries the cursor) until it delivered event ``until_seq``.

    ``until_seq`` is the service's head, known beforehand; a stream that has
    nothing after the cursor is read for a moment, for an error frame only.
    Raises :class:`FirehoseError` for an error frame (such as ``FutureCursor``)
    and when the deadline comes before the head: a replay is never cut short
    silently.
    """
    events: list[FirehoseEvent] = []
    cursor = _cursor_of(url)
    nothing_due = cursor is not None and cursor >= until_seq
    with Subscription(url, timeout=timeout, open_timeout=open_timeout) as stream:
        for message in stream.messages(idle=FIRST_FRAME_WAIT if nothing_due else None):
            if isinstance(message, bytes):
                events.append(decode_frame(message, time.perf_counter()))
            if events and (events[-1].seq or 0) >= until_seq:
                return events
    if nothing_due and not events:
        return events
    reached = events[-1].seq if events else cursor
    if stream.ended == "closed":
        raise FirehoseError("ReplayIncomplete", f"the server closed {url} at #{reached}")
    raise FirehoseError(
        "ReplayIncomplete", f"replaying {url} reached #{reached}, not the head #{until_seq}, within {timeout:g}s"
    )


def _cursor_of(url: str) -> int | None:
    query = parse_qs(urlsplit(url).query)
    values = query.get("cursor")
    return int(values[0]) if values and values[0].isdigit() else None
