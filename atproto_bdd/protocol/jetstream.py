"""Jetstream's JSON event stream (``/subscribe``), parsed strictly into firehose-shaped events.

Jetstream turns each record operation of a relay ``#commit`` into one JSON
event (``kind: commit`` with ``commit.operation``, ``collection``, ``rkey``),
and passes ``#identity`` and ``#account`` events on (``kind: identity`` /
``account``, with the relay's ``seq``). Every event carries ``time_us``, the
microsecond clock of Jetstream's own sequencer: it increases strictly within
one Jetstream and is the stream's cursor.

:func:`parse_event` turns a message into a :class:`~.firehose.FirehoseEvent`
(type, ``seq`` = ``time_us``, DID, a body with ``rev``/``ops``/``time``...),
so the queries, windows and failure listings of the firehose apply to it
unchanged; the message itself stays in ``body["jetstream"]``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .firehose import FirehoseEvent, FirehoseRecorder
from .strict_json import field, load_object, malformed

OPERATIONS = ("create", "update", "delete")
KINDS = ("commit", "identity", "account")


def parse_event(message: str | bytes, received_at: float = 0.0) -> FirehoseEvent:
    """One Jetstream message as an event; :class:`FirehoseError` (``MalformedEvent``) if it breaks the format."""
    data = load_object(message)
    did = field(data, "did", str, message)
    if not did.startswith("did:"):
        raise malformed(f"did {did!r} is not a DID", message)
    time_us = field(data, "time_us", int, message)
    kind = field(data, "kind", str, message)
    if kind not in KINDS:
        raise malformed(f"unknown kind {kind!r} (known: {', '.join(KINDS)})", message)
    part = field(data, kind, dict, message)
    body: dict[str, Any] = {"jetstream": data, "time_us": time_us}
    if kind == "commit":
        operation = field(part, "operation", str, message)
        if operation not in OPERATIONS:
            raise malformed(f"unknown operation {operation!r}", message)
        collection = field(part, "collection", str, message)
        rkey = field(part, "rkey", str, message)
        body["rev"] = field(part, "rev", str, message)
        record = field(part, "record", dict, message, optional=True)
        cid = field(part, "cid", str, message, optional=True)
        if operation == "delete" and (record is not None or cid is not None):
            raise malformed("a delete carries a record or CID", message)
        if operation != "delete" and (record is None or cid is None):
            raise malformed(f"a {operation} lacks its record or CID", message)
        body["ops"] = [{"action": operation, "path": f"{collection}/{rkey}", "cid": cid}]
        body["record"] = record
    else:
        if field(part, "did", str, message) != did:
            raise malformed(f"the {kind} part names another DID than the event", message)
        body["seq"] = field(part, "seq", int, message)
        body["time"] = field(part, "time", str, message)
        if kind == "identity":
            body["handle"] = field(part, "handle", str, message, optional=True)
        else:
            body["active"] = field(part, "active", bool, message)
            body["status"] = field(part, "status", str, message, optional=True)
    return FirehoseEvent(kind, time_us, did, body, received_at)


def subscribe_url(base_url: str, *, collections: list[str] | None = None, cursor: int | None = None) -> str:
    """``ws://.../subscribe`` with ``wantedCollections`` and ``cursor`` (microseconds; replays from there)."""
    params: list[tuple[str, str]] = [("wantedCollections", nsid) for nsid in collections or []]
    if cursor is not None:
        params.append(("cursor", str(cursor)))
    base = "ws" + base_url[len("http") :] if base_url.startswith("http") else base_url
    return f"{base.rstrip('/')}/subscribe" + (f"?{urlencode(params)}" if params else "")


class JetstreamRecorder(FirehoseRecorder):
    """Records a Jetstream subscription: JSON messages parsed by :func:`parse_event`."""

    def decode(self, message: str | bytes, received_at: float) -> FirehoseEvent | None:
        """A text message as an event (Jetstream sends nothing else without compression)."""
        return parse_event(message, received_at)

    def resume_cursor(self) -> int:
        """After a reconnection: the microsecond after the latest event (Jetstream's cursor is inclusive)."""
        return self.last_seq + 1
