"""DAG-CBOR: decoding with cbor2 (CIDs as tag 42) and strict canonical encoding.

The encoder follows the DAG-CBOR rules atproto signs over: shortest integer
heads, map keys sorted by length then bytes, 64-bit floats, CIDs as tag 42
with a leading zero byte. The JSON helpers translate the atproto data-model
JSON form (``{"$link": ...}``, ``{"$bytes": ...}``).
"""

from __future__ import annotations

import base64
import io
import math
import struct
from typing import Any

import cbor2

from ..errors import AtprotoBddError
from .multiformats import CID


class DagCborError(AtprotoBddError):
    """Data that is not valid DAG-CBOR (or cannot be encoded as it)."""


def _cid_from_tag(value: Any, immutable: bool = False) -> CID:
    if not isinstance(value, bytes) or not value.startswith(b"\0"):
        raise DagCborError("tag 42 must hold bytes starting with 0x00")
    return CID.decode(value[1:])


_DECODERS = {42: _cid_from_tag}


def decode(data: bytes) -> Any:
    """Decode one DAG-CBOR item that fills ``data``."""
    items = decode_all(data)
    if len(items) != 1:
        raise DagCborError(f"expected one DAG-CBOR item, found {len(items)}")
    return items[0]


def decode_all(data: bytes) -> list[Any]:
    """Decode consecutive DAG-CBOR items (a firehose frame is a header then a body)."""
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream, semantic_decoders=_DECODERS)
    items = []
    try:
        while stream.tell() < len(data):
            items.append(decoder.decode())
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise DagCborError(f"invalid CBOR at byte {stream.tell()}: {exc}") from None
    return items


def encode(value: Any) -> bytes:
    """Encode ``value`` as canonical DAG-CBOR."""
    out = bytearray()
    _encode(value, out)
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
        if value >= 0:
            _head(0, value, out)
        else:
            _head(1, -1 - value, out)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise DagCborError("DAG-CBOR has no NaN or infinity")
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
                raise DagCborError(f"DAG-CBOR map keys must be strings, got {key!r}")
            keys.append((len(key.encode()), key.encode(), key))
        _head(5, len(keys), out)
        for _, _, key in sorted(keys):
            _encode(key, out)
            _encode(value[key], out)
    else:
        raise DagCborError(f"cannot encode {type(value).__name__} as DAG-CBOR")


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
