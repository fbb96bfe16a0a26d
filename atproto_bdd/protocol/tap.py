"""Tap's event channel (``/channel``) and admin API, parsed strictly into firehose-shaped events.

Tap delivers ``{"id", "type": "record", "record": {...}}`` for each record
operation of a tracked repository - live ones (``live: true``) and those of
its backfill (``live: false``) - and ``{"id", "type": "identity", ...}`` when
an account's handle or status changes. With acks on (Tap's default) the client
answers ``{"type": "ack", "id": N}``; until then Tap holds that account's later
events. :class:`TapRecorder` acknowledges every event once it is recorded.

Record events become ``commit`` events with one op (``seq`` = Tap's event id,
``rev``, ``live``), so the firehose queries and listings apply; the message
stays in ``body["tap"]``.
"""

from __future__ import annotations

import json
from typing import Any

from .firehose import FirehoseEvent, FirehoseRecorder
from .strict_json import field, load_object, malformed

ACTIONS = ("create", "update", "delete")


def parse_event(message: str | bytes, received_at: float = 0.0) -> FirehoseEvent:
    """One Tap message as an event; :class:`FirehoseError` (``MalformedEvent``) if it breaks the format."""
    data = load_object(message)
    event_id = field(data, "id", int, message)
    kind = field(data, "type", str, message)
    if kind == "record":
        part = field(data, "record", dict, message)
        did = field(part, "did", str, message)
        action = field(part, "action", str, message)
        if action not in ACTIONS:
            raise malformed(f"unknown action {action!r}", message)
        collection = field(part, "collection", str, message)
        rkey = field(part, "rkey", str, message)
        record = field(part, "record", dict, message, optional=True)
        cid = field(part, "cid", str, message, optional=True)
        if action != "delete" and (record is None or cid is None):
            raise malformed(f"a {action} lacks its record or CID", message)
        body: dict[str, Any] = {
            "tap": data,
            "rev": field(part, "rev", str, message),
            "live": field(part, "live", bool, message),
            "ops": [{"action": action, "path": f"{collection}/{rkey}", "cid": cid}],
            "record": record,
        }
        return FirehoseEvent("commit", event_id, did, body, received_at)
    if kind == "identity":
        part = field(data, "identity", dict, message)
        did = field(part, "did", str, message)
        body = {
            "tap": data,
            "handle": field(part, "handle", str, message),
            "is_active": field(part, "is_active", bool, message),
            "status": field(part, "status", str, message),
        }
        return FirehoseEvent("identity", event_id, did, body, received_at)
    raise malformed(f"unknown event type {kind!r} (known: record, identity)", message)


def _message_key(event: FirehoseEvent) -> str:
    """The message an event came in, canonically: a redelivery is the same message, id included."""
    return json.dumps(event.body.get("tap"), sort_keys=True, separators=(",", ":"))


class TapRecorder(FirehoseRecorder):
    """Records Tap's ``/channel`` (basic auth in ``headers``) and acknowledges each event it records.

    Tap delivers at least once: events still in its outbox when it restarts -
    acknowledged ones too, which it deletes in batches (every 10 s) - come
    again after it, with the same id and content. On a reconnection
    (:meth:`resubscribe`, no cursor: Tap keeps what is due) such a message is
    acknowledged again but not recorded twice (it is kept in :attr:`repeats`).
    Tap's ids are no key across a restart: with an empty outbox it numbers
    from 1 again.
    """

    _earlier: frozenset[str] = frozenset()

    def decode(self, message: str | bytes, received_at: float) -> FirehoseEvent | None:
        """A text message as an event."""
        return parse_event(message, received_at)

    def received(self, socket: Any, event: FirehoseEvent) -> None:
        """Acknowledge ``event`` (also one sent again): Tap then deletes it and sends the account's next one."""
        socket.send(json.dumps({"type": "ack", "id": event.seq}))

    def resume_cursor(self) -> None:
        """No cursor: Tap sends what was not yet acknowledged and deleted, from its outbox."""
        return None

    def repeated(self, event: FirehoseEvent) -> bool:
        """Whether ``event`` is a message recorded before the latest reconnection, delivered again."""
        return _message_key(event) in self._earlier

    def resubscribe(self) -> TapRecorder:
        """Connect again after Tap restarted, keeping every event; redeliveries are not recorded twice."""
        self.close()
        self._earlier = frozenset(_message_key(event) for event in self.events)
        super().resubscribe()
        return self
