"""Labels (``com.atproto.label.defs#label``): strict parsing, signatures, and the label stream.

A labeler publishes signed labels over ``com.atproto.label.queryLabels``
(JSON, the signature as ``{"$bytes": ...}``) and
``com.atproto.label.subscribeLabels`` (a websocket of DAG-CBOR frames, the
same framing as the firehose: ``#labels`` frames carry ``{seq, labels}``,
``#info`` frames a notice such as ``OutdatedCursor``). A label's signature
is the labeler's ``#atproto_label`` key's ECDSA signature over the DAG-CBOR
encoding of the label without its ``sig`` field.

Lexicon objects are open: a label may carry fields the lexicon does not
name (@skyware/labeler serves its database ``id`` with each label). They are
kept in :attr:`Label.extra`, never refused, and they are outside the
signature: the signed bytes hold the lexicon's fields only, as the reference
verifier (indigo ``atproto/labeling``, ``Label.UnsignedBytes``) builds them.
A labeler that signed its extra fields too is rejected there, and here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import AtprotoBddError
from . import dagcbor
from .crypto import PublicKey
from .firehose import decode_frame, subscribe_url
from .multiformats import CID
from .syntax import is_datetime, is_did
from .websocket import Subscription

QUERY_LABELS = "com.atproto.label.queryLabels"
SUBSCRIBE_LABELS = "com.atproto.label.subscribeLabels"
#: The fields com.atproto.label.defs#label defines: checked strictly, and (but ``sig``) what the signature covers.
LABEL_FIELDS = ("ver", "src", "uri", "cid", "val", "neg", "cts", "exp", "sig")


class LabelError(AtprotoBddError):
    """A label that does not follow com.atproto.label.defs#label."""


@dataclass(frozen=True)
class Label:
    """One label: who (``src``) says what (``val``) about which subject (``uri``: an AT-URI or a DID)."""

    src: str
    uri: str
    val: str
    cts: str
    neg: bool = False
    cid: str | None = None
    exp: str | None = None
    ver: int | None = None
    sig: bytes | None = field(default=None, repr=False)
    #: The lexicon's fields as received (bytes decoded): the signature covers them, without ``sig``.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Fields the lexicon does not define, as received (ignored, and outside the signature).
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: How it was received: ``json`` (queryLabels) or ``cbor`` (subscribeLabels).
    encoding: str = field(default="json", repr=False, compare=False)

    @classmethod
    def parse(cls, data: Any, *, encoding: str = "json") -> Label:
        """A label from queryLabels JSON (``encoding="json"``) or a subscribeLabels frame (``"cbor"``).

        The lexicon's fields must have their types and formats; other fields
        are kept in :attr:`extra` (lexicon objects are open).
        """
        if not isinstance(data, dict):
            raise LabelError(f"a label must be an object, got {type(data).__name__}")
        known = {name: value for name, value in data.items() if name in LABEL_FIELDS}
        extra = {name: value for name, value in data.items() if name not in LABEL_FIELDS}
        raw = dagcbor.from_json(known) if encoding == "json" else known
        for name in ("src", "uri", "val", "cts"):
            if not isinstance(raw.get(name), str) or not raw[name]:
                raise LabelError(f"label field {name!r} must be a non-empty string, got {raw.get(name)!r}")
        if not is_did(raw["src"]):
            raise LabelError(f"label src {raw['src']!r} is not a DID")
        if not (raw["uri"].startswith("at://") or is_did(raw["uri"])):
            raise LabelError(f"label uri {raw['uri']!r} is neither an AT-URI nor a DID")
        if len(raw["val"].encode()) > 128:
            raise LabelError(f"label val {raw['val'][:20]!r}... is longer than 128 bytes")
        for name, kind in (("neg", bool), ("ver", int), ("cid", str), ("exp", str), ("sig", bytes)):
            value = raw.get(name)
            if name in raw and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                raise LabelError(f"label field {name!r} must be {kind.__name__}, got {value!r}")
        for name in ("cts", "exp"):
            if name in raw and not is_datetime(raw[name]):
                raise LabelError(f"label field {name!r} is {raw[name]!r}, not a datetime (2026-12-07T10:00:00.000Z)")
        if "cid" in raw:
            try:
                CID.parse(raw["cid"])
            except AtprotoBddError:
                raise LabelError(f"label field 'cid' is {raw['cid']!r}, not a CID") from None
        return cls(
            src=raw["src"],
            uri=raw["uri"],
            val=raw["val"],
            cts=raw["cts"],
            neg=raw.get("neg", False),
            cid=raw.get("cid"),
            exp=raw.get("exp"),
            ver=raw.get("ver"),
            sig=raw.get("sig"),
            raw=raw,
            extra=extra,
            encoding=encoding,
        )

    def signed_bytes(self) -> bytes:
        """The bytes the signature covers: the lexicon's fields as received, without ``sig``, in DAG-CBOR."""
        return dagcbor.encode({name: value for name, value in self.raw.items() if name != "sig"})

    def verify(self, key: PublicKey) -> bool:
        """True if ``sig`` is ``key``'s signature of :meth:`signed_bytes`."""
        return self.sig is not None and key.verify(self.signed_bytes(), self.sig)

    def signature_problem(self, key: PublicKey) -> str | None:
        """Why ``sig`` does not verify with ``key`` (None if it does), saying which bytes it was made over.

        A signature over the label *with* its extra fields is the usual mistake
        of a labeler that adds fields of its own: it is named as such.
        """
        if self.sig is None:
            return "it has no sig"
        if self.verify(key):
            return None
        if self.extra and self._verifies_with_extra(key):
            names = ", ".join(sorted(self.extra))
            return (
                f"its sig was made over the label with its extra field(s) {names} too; verifiers (indigo "
                f"atproto/labeling, what AppViews use) check it over the lexicon's fields only "
                f"({', '.join(n for n in LABEL_FIELDS if n != 'sig')}), so they reject it"
            )
        return "its sig does not verify over the label's fields (without sig)"

    def _verifies_with_extra(self, key: PublicKey) -> bool:
        try:
            extra = dagcbor.from_json(dict(self.extra)) if self.encoding == "json" else dict(self.extra)
            unsigned = {name: value for name, value in {**self.raw, **extra}.items() if name != "sig"}
            return self.sig is not None and key.verify(dagcbor.encode(unsigned), self.sig)
        except (AtprotoBddError, ValueError, TypeError):  # extra fields that are not atproto data
            return False

    def describe(self, name_of: Callable[[str], str] = str) -> str:
        """One line: ``spam on at://... by did:plc:... at <cts>``; ``name_of`` may name the subject and source."""
        negation = " (negation)" if self.neg else ""
        return f"{self.val} on {name_of(self.uri)} by {name_of(self.src)}{negation} at {self.cts}"


def effective(labels: Iterable[Label]) -> list[Label]:
    """The labels in force: for each (src, uri, val), the latest by ``cts``, unless it is a negation.

    Negations withdraw a label; a later label applies it again. Expiry
    (``exp``) in the past also withdraws it.
    """
    latest: dict[tuple[str, str, str], Label] = {}
    for label in labels:
        key = (label.src, label.uri, label.val)
        if key not in latest or _instant(label.cts) >= _instant(latest[key].cts):
            latest[key] = label
    now = time.time()
    return [label for label in latest.values() if not label.neg and not _expired(label.exp, now)]


def _expired(exp: str | None, now: float) -> bool:
    return bool(exp) and _instant(exp or "") <= now


def _instant(text: str) -> float:
    # Six fraction digits: Python 3.10's fromisoformat takes 3 or 6 (the format allows 1 to 20).
    text = re.sub(r"\.([0-9]+)", lambda m: "." + (m.group(1) + "000000")[:6], text.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise LabelError(f"label timestamp {text!r} is not an ISO 8601 datetime") from None


@dataclass(frozen=True)
class LabelFrame:
    """One subscribeLabels frame: ``labels`` (with its ``seq``) or ``info`` (``name``, ``message``)."""

    type: str
    seq: int | None
    labels: tuple[Label, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)


def decode_label_frame(message: bytes) -> LabelFrame:
    """Decode one subscribeLabels websocket message (an error frame raises :class:`FirehoseError`)."""
    event = decode_frame(message)
    if event.type == "labels":
        labels = event.body.get("labels")
        if not isinstance(event.seq, int) or not isinstance(labels, list):
            raise LabelError(f"#labels frame without an integer seq and a list of labels: {event.body!r}")
        return LabelFrame("labels", event.seq, tuple(Label.parse(item, encoding="cbor") for item in labels))
    if event.type == "info":
        return LabelFrame("info", None, info=dict(event.body))
    raise LabelError(f"unknown subscribeLabels frame type #{event.type}; expected #labels or #info")


def read_label_stream(
    base_url: str,
    *,
    until: Callable[[list[LabelFrame]], bool],
    timeout: float,
    cursor: int = 0,
) -> list[LabelFrame]:
    """Read subscribeLabels from ``cursor`` until ``until(frames so far)`` holds or ``timeout`` passes.

    Returns the frames read (the caller judges a timeout from them). An error
    frame or a frame that does not decode raises.
    """
    url = subscribe_url(base_url, cursor=cursor, nsid=SUBSCRIBE_LABELS)
    frames: list[LabelFrame] = []
    with Subscription(url, timeout=timeout, open_timeout=max(timeout, 0.5)) as stream:
        if until(frames):
            return frames
        for message in stream.messages():
            if isinstance(message, bytes):
                frames.append(decode_label_frame(message))
                if until(frames):
                    break
    return frames
