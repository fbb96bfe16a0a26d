"""DAG-CBOR: strict decoding (cbor2 plus a canonical check) and canonical encoding.

The encoder follows the DAG-CBOR rules atproto signs over: shortest integer
and length heads, definite lengths, map keys (strings only) sorted by length
then bytes, 64-bit floats, CIDs as tag 42 with a leading zero byte, no other
tags or simple values.

The decoder accepts only bytes that follow those rules. DAG-CBOR has exactly
one encoding per value, so after cbor2 has decoded an item it is encoded
again and compared with the input: any difference is an error that names
the rule and the byte where it is broken. Tags other than 42, ``undefined``
and other simple values never reach the data: cbor2 hands every tag to us,
and such values are kept as markers that the comparison reports at their
offset.

The JSON helpers translate the atproto data-model JSON form
(``{"$link": ...}``, ``{"$bytes": ...}``).
"""

from __future__ import annotations

import base64
import io
import math
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import cbor2

from ..errors import AtprotoBddError
from .multiformats import CID, MultiformatError

_UINT64_MAX = (1 << 64) - 1
_KINDS = {0: "integer", 1: "integer", 2: "byte string", 3: "text string", 4: "array", 5: "map", 6: "tag", 7: "value"}


class DagCborError(AtprotoBddError):
    """Data that is not valid DAG-CBOR (or cannot be encoded as it)."""


class _Unencodable(DagCborError):
    """A value with no DAG-CBOR encoding, met ``offset`` bytes into the output.

    The message reads "<subject> <rule>"; the decoder puts the input offset
    between the two, where it found the value.
    """

    def __init__(self, subject: str, rule: str, offset: int) -> None:
        super().__init__(f"{subject} {rule}")
        self.subject = subject
        self.rule = rule
        self.offset = offset


class _Forbidden:
    """Stands in for a decoded item DAG-CBOR forbids, so that the canonical check reports it at its offset.

    Raising from a cbor2 callback would lose the position of the item.
    """

    __slots__ = ("subject", "rule")

    def __init__(self, subject: str, rule: str) -> None:
        self.subject = subject
        self.rule = rule


def _cid_from_tag(value: Any, immutable: bool = False) -> CID | _Forbidden:
    if not isinstance(value, bytes) or not value.startswith(b"\0"):
        return _Forbidden("CID", "must be a byte string starting with 0x00 under tag 42")
    try:
        cid = CID.decode(value[1:])
    except MultiformatError as exc:
        return _Forbidden("CID", f"is not a valid binary CID ({exc})")
    if cid.encode() != value[1:]:  # e.g. padded varints: the same CID in other bytes
        return _Forbidden("CID", "is not in canonical binary form")
    return cid


class _TagDecoders(Mapping):
    """Every tag cbor2 meets is looked up here, its built-in ones (dates, bignums, shared values) included.

    So no tag but 42 gets a meaning: the others decode to a :class:`_Forbidden` marker.
    """

    def __getitem__(self, tag: int) -> Any:
        if tag == 42:
            return _cid_from_tag
        subject, rule = f"tag {tag}", "is not allowed (DAG-CBOR has only tag 42, CIDs)"
        return lambda value, immutable=False: _Forbidden(subject, rule)

    def __iter__(self) -> Iterator[int]:
        return iter((42,))

    def __len__(self) -> int:
        return 1


_TAGS = _TagDecoders()


def decode(data: bytes) -> Any:
    """Decode one DAG-CBOR item that fills ``data``; raise :class:`DagCborError` if it is not strict DAG-CBOR."""
    items = decode_all(data)
    if len(items) != 1:
        raise DagCborError(f"expected one DAG-CBOR item, found {len(items)}")
    return items[0]


def decode_all(data: bytes) -> list[Any]:
    """Decode consecutive DAG-CBOR items (a firehose frame is a header then a body), each checked strictly.

    Error offsets count from the start of ``data``.
    """
    data = bytes(data)
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream, semantic_decoders=_TAGS)
    items = []
    while stream.tell() < len(data):
        start = stream.tell()
        try:
            item = decoder.decode()
        except (cbor2.CBORDecodeError, ValueError, RecursionError) as exc:
            raise DagCborError(f"invalid CBOR at byte {stream.tell()}: {exc}") from None
        _check_canonical(data, start, stream.tell(), item)
        items.append(item)
    return items


def encode(value: Any) -> bytes:
    """Encode ``value`` as canonical DAG-CBOR."""
    out = bytearray()
    try:
        _encode(value, out)
    except _Unencodable as exc:
        raise DagCborError(str(exc)) from None
    return bytes(out)


def _head(major: int, length: int, out: bytearray) -> None:
    if length < 24:
        out.append(major << 5 | length)
    elif length < 0x100:
        out += bytes((major << 5 | 24, length))
    elif length < 0x10000:
        out.append(major << 5 | 25)
        out += length.to_bytes(2, "big")
    elif length < 0x100000000:
        out.append(major << 5 | 26)
        out += length.to_bytes(4, "big")
    else:
        out.append(major << 5 | 27)
        out += length.to_bytes(8, "big")


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if not -_UINT64_MAX - 1 <= value <= _UINT64_MAX:
            raise _Unencodable(f"integer {value}", "is outside the 64-bit range of DAG-CBOR", len(out))
        if value >= 0:
            _head(0, value, out)
        else:
            _head(1, -1 - value, out)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            subject = "NaN" if math.isnan(value) else "infinity"
            raise _Unencodable(subject, "is not allowed (DAG-CBOR floats are finite)", len(out))
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, bytes):
        _head(2, len(value), out)
        out += value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        _head(3, len(raw), out)
        out += raw
    elif isinstance(value, CID):
        out += b"\xd8\x2a"  # tag 42
        raw = b"\0" + value.encode()
        _head(2, len(raw), out)
        out += raw
    elif isinstance(value, (list, tuple)):
        _head(4, len(value), out)
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        keys = []
        for key in value:
            if not isinstance(key, str):
                raise _Unencodable("map", f"has a key that is not a string ({_describe(key)})", len(out))
            keys.append((len(key.encode()), key.encode(), key))
        _head(5, len(keys), out)
        for _, _, key in sorted(keys):
            _encode(key, out)
            _encode(value[key], out)
    elif isinstance(value, _Forbidden):
        raise _Unencodable(value.subject, value.rule, len(out))
    elif value is cbor2.undefined:
        raise _Unencodable("undefined", "is not allowed (DAG-CBOR has only null, true and false)", len(out))
    elif isinstance(value, cbor2.CBORSimpleValue):
        raise _Unencodable(f"simple value {value.value}", "is not allowed (only null, true and false)", len(out))
    else:
        raise _Unencodable(f"a value of type {type(value).__name__}", "cannot be encoded as DAG-CBOR", len(out))


def _describe(value: Any) -> str:
    return value.subject if isinstance(value, _Forbidden) else repr(value)


# The canonical check. ``canonical`` below is our encoding of what cbor2
# decoded from ``data[start:end]``; where it differs from the input, the
# input breaks a DAG-CBOR rule, and the first differing byte says which.


def _check_canonical(data: bytes, start: int, end: int, item: Any) -> None:
    canonical = bytearray()
    try:
        _encode(item, canonical)
    except _Unencodable as exc:
        # ``canonical`` holds what was encoded before the offending value; if
        # the input differs earlier, that earlier difference is the first error.
        where = _first_difference(data, start, canonical)
        if where is None:
            raise DagCborError(f"{exc.subject} at byte {start + exc.offset} {exc.rule}") from None
        raise DagCborError(_classify(data, start, bytes(canonical), where)) from None
    if data[start:end] != canonical:
        where = _first_difference(data, start, canonical)
        if where is None:  # our encoding is a prefix of the input: cannot happen for one decoded item
            where = len(canonical)
        raise DagCborError(_classify(data, start, bytes(canonical), where))


def _first_difference(data: bytes, start: int, canonical: bytearray) -> int | None:
    """The offset (from ``start``) of the first byte where ``data`` and ``canonical`` differ, within ``canonical``."""
    for offset, byte in enumerate(canonical):
        if start + offset >= len(data) or data[start + offset] != byte:
            return offset
    return None


def _read_head(buf: bytes, pos: int) -> tuple[int, int, int, int]:
    """``(major, additional info, argument, offset after the head)`` of the head at ``pos``."""
    major, info = buf[pos] >> 5, buf[pos] & 31
    if 24 <= info <= 27:
        width = 1 << (info - 24)
        if pos + 1 + width > len(buf):
            raise IndexError("truncated head")
        return major, info, int.from_bytes(buf[pos + 1 : pos + 1 + width], "big"), pos + 1 + width
    return major, info, info, pos + 1


def _item_end(buf: bytes, pos: int) -> int:
    """Where the (definite-length) item at ``pos`` ends; items cut short by the buffer end there."""
    try:
        major, info, argument, body = _read_head(buf, pos)
        if major in (2, 3):
            return min(body + argument, len(buf))
        if major == 6:
            return _item_end(buf, body)
        if major in (4, 5):
            for _ in range(argument * (2 if major == 5 else 1)):
                body = _item_end(buf, body)
        return body
    except IndexError:  # the partial encoding of an unencodable value: it runs to the end
        return len(buf)


def _locate(buf: bytes, pos: int, target: int, role: str) -> tuple[int, str]:
    """The head offset and role (``key``, ``value``, ``tagged``, ``item``) of the innermost item holding ``target``."""
    major, info, argument, body = _read_head(buf, pos)
    if target < body or major not in (4, 5, 6):
        return pos, role
    if major == 6:
        return _locate(buf, body, target, "tagged")
    child = body
    for index in range(argument * (2 if major == 5 else 1)):
        end = _item_end(buf, child)
        if target < end:
            child_role = "value" if major == 4 or index % 2 else "key"
            return _locate(buf, child, target, child_role)
        child = end
    return pos, role


def _minimal_head_size(argument: int) -> int:
    if argument < 24:
        return 1
    if argument < 0x100:
        return 2
    if argument < 0x10000:
        return 3
    if argument < 0x100000000:
        return 5
    return 9


def _classify(data: bytes, start: int, canonical: bytes, where: int) -> str:
    """Say which rule the input breaks at its first difference from the canonical encoding."""
    at = where + start
    try:
        head, role = _locate(canonical, 0, where, "item")
    except IndexError:
        return f"not canonical DAG-CBOR at byte {at}"
    pos = start + head
    if pos >= len(data):
        return f"not canonical DAG-CBOR at byte {at}"
    byte = data[pos]
    major, info = byte >> 5, byte & 31
    if byte in (0xF9, 0xFA):
        precision = "half" if byte == 0xF9 else "single"
        return f"{precision}-precision float at byte {pos} (DAG-CBOR floats are 64-bit)"
    if info == 31:
        return f"indefinite-length {_KINDS[major]} at byte {pos} (DAG-CBOR lengths are definite)"
    _, _, argument, body = _read_head(data, pos)
    if major != 7 and body - pos > _minimal_head_size(argument):
        if major == 0:
            what = f"integer {argument}"
        elif major == 1:
            what = f"integer {-1 - argument}"
        elif major == 6:
            what = f"tag {argument}"
        else:
            what = f"{_KINDS[major]} length {argument}"
        return (
            f"{what} at byte {pos} is not minimally encoded "
            f"({body - pos}-byte head where {_minimal_head_size(argument)} suffice)"
        )
    if major == 5:
        entries = _read_head(canonical, head)[2]
        if argument > entries:
            return f"map at byte {pos} repeats a key ({argument} entries, only {entries} distinct)"
    if role == "key" and major == 3:
        key = data[body : body + argument].decode("utf-8", "replace")
        return f"map key {key!r} at byte {pos} is out of DAG-CBOR order (shorter keys first, then bytewise)"
    return f"not canonical DAG-CBOR at byte {at}"


def from_json(value: Any) -> Any:
    """Atproto data-model JSON to Python data: ``$link`` -> CID, ``$bytes`` -> bytes."""
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"$link"} and isinstance(value["$link"], str):
            return CID.parse(value["$link"])
        if set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
            encoded = value["$bytes"]
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        return {key: from_json(item) for key, item in value.items()}
    return value


def to_json(value: Any) -> Any:
    """Python data to atproto data-model JSON (the inverse of :func:`from_json`)."""
    if isinstance(value, CID):
        return {"$link": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode().rstrip("=")}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value
