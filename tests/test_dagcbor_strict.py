"""Strict DAG-CBOR decoding: every rule refused with its own message, checked against libipld.

The broken inputs are written out by hand in hex, so that no encoder (ours or
cbor2's) can quietly fix them. libipld is an independent DAG-CBOR
implementation: where it refuses an input, it must refuse ours too, and on
valid data the two must agree byte for byte.
"""

from __future__ import annotations

import random

import libipld
import pytest

from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.car import CarError, parse_car
from atproto_bdd.protocol.dagcbor import DagCborError
from atproto_bdd.protocol.firehose import FirehoseError, decode_frame
from atproto_bdd.protocol.multiformats import CID, encode_varint

CID_BYTES = CID.compute(b"record").encode()
# tag 42, byte string of 37 bytes: 0x00 then the 36-byte CID
CID_ITEM = "d82a5825" + "00" + CID_BYTES.hex()

# (name, input hex, message, whether libipld refuses it too)
INVALID = [
    # The five defects of the issue.
    ("unsorted map keys", "a2 6162 01 6161 01", r"map key 'b' at byte 1 is out of DAG-CBOR order", True),
    ("longer key first", "a2 626161 01 6162 01", r"map key 'aa' at byte 1 is out of DAG-CBOR order", True),
    ("indefinite-length map", "bf 6161 01 ff", r"indefinite-length map at byte 0", True),
    ("half-precision float", "f9 3c00", r"half-precision float at byte 0 \(DAG-CBOR floats are 64-bit\)", True),
    ("tag 1 (epoch date)", "c1 1a514b67b0", r"tag 1 at byte 0 is not allowed", True),
    ("duplicate map keys", "a2 6161 01 6161 02", r"map at byte 0 repeats a key \(2 entries, only 1 distinct\)", True),
    # More of each kind.
    ("single-precision float", "fa 3f800000", r"single-precision float at byte 0", False),  # libipld accepts it
    ("indefinite-length array", "9f 01 ff", r"indefinite-length array at byte 0", True),
    ("indefinite-length text", "7f 6161 ff", r"indefinite-length text string at byte 0", True),
    ("indefinite-length bytes", "5f 4101 ff", r"indefinite-length byte string at byte 0", True),
    ("tag 2 (bignum)", "c2 49 010000000000000000", r"tag 2 at byte 0 is not allowed", True),
    ("tag 28 (shared value)", "d81c 00", r"tag 28 at byte 0 is not allowed", True),
    ("tag 55799 (self-describe)", "d9d9f7 a0", r"tag 55799 at byte 0 is not allowed", True),
    ("undefined", "f7", r"undefined at byte 0 is not allowed", True),
    ("simple value 16", "f0", r"simple value 16 at byte 0 is not allowed", True),
    ("integer map key", "a1 01 01", r"map at byte 0 has a key that is not a string \(1\)", True),
    ("NaN", "fb 7ff8000000000000", r"NaN at byte 0 is not allowed", True),
    ("infinity", "fb 7ff0000000000000", r"infinity at byte 0 is not allowed", True),
    # Non-minimal heads (libipld accepts these: only our canonical check sees them).
    ("integer 1 in two bytes", "18 01", r"integer 1 at byte 0 is not minimally encoded \(2-byte head", False),
    ("integer 255 in three bytes", "19 00ff", r"integer 255 at byte 0 is not minimally encoded", False),
    ("integer -1 in two bytes", "38 00", r"integer -1 at byte 0 is not minimally encoded", False),
    ("text length in two bytes", "78 01 61", r"text string length 1 at byte 0 is not minimally encoded", False),
    ("map length in two bytes", "b8 01 6161 01", r"map length 1 at byte 0 is not minimally encoded", False),
    ("tag 42 in three bytes", "d9002a 5825 00" + CID_BYTES.hex(), r"tag 42 at byte 0 is not minimally encoded", False),
    # CIDs.
    ("tag 42 over text", "d82a 6161", r"CID at byte 0 must be a byte string starting with 0x00", True),
    (
        "tag 42 without 0x00",
        "d82a 5824" + CID_BYTES.hex(),
        r"CID at byte 0 must be a byte string starting with 0x00",
        True,
    ),
    (
        "padded CID varint",
        "d82a 5826 00 8100" + CID_BYTES[1:].hex(),  # version 1 as the two-byte varint 0x81 0x00
        r"CID at byte 0 is not in canonical binary form",
        False,
    ),
    # Offsets point into nested data.
    ("nested non-minimal integer", "a1 6161 82 01 1801", r"integer 1 at byte 5 is not minimally encoded", False),
    ("nested undefined", "a2 6161 01 6162 81 f7", r"undefined at byte 7 is not allowed", True),
    ("nested unsorted keys", "81 a2 6162 01 6161 01", r"map key 'b' at byte 2 is out of DAG-CBOR order", True),
    # The first broken rule is the one reported.
    ("unsorted before undefined", "a2 6162 01 6161 f7", r"map key 'b' at byte 1 is out of DAG-CBOR order", True),
    # Not CBOR at all.
    ("invalid UTF-8", "61 ff", r"invalid CBOR", True),
    ("truncated", "82 01", r"invalid CBOR", True),
]


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("name,data,message,ipld_refuses", INVALID, ids=[case[0] for case in INVALID])
def test_invalid_dag_cbor_is_refused_naming_the_rule(name, data, message, ipld_refuses) -> None:
    with pytest.raises(DagCborError, match=message):
        dagcbor.decode(unhex(data))


@pytest.mark.parametrize(
    "name,data", [(case[0], case[1]) for case in INVALID if case[3]], ids=[case[0] for case in INVALID if case[3]]
)
def test_libipld_refuses_the_same_bytes(name, data) -> None:
    with pytest.raises(ValueError):
        libipld.decode_dag_cbor(unhex(data))


def test_the_valid_counterparts_decode() -> None:
    assert dagcbor.decode(unhex("a2 6161 01 6162 01")) == {"a": 1, "b": 1}
    assert dagcbor.decode(unhex("a2 6162 01 626161 01")) == {"b": 1, "aa": 1}
    assert dagcbor.decode(unhex("fb 3ff0000000000000")) == 1.0  # a 64-bit float is DAG-CBOR
    assert dagcbor.decode(unhex("18 18")) == 24
    assert dagcbor.decode(unhex(CID_ITEM)) == CID.decode(CID_BYTES)
    assert dagcbor.decode(unhex("1b ffffffffffffffff")) == 2**64 - 1
    assert dagcbor.decode(unhex("3b ffffffffffffffff")) == -(2**64)


def test_offsets_count_from_the_start_of_a_frame() -> None:
    header = dagcbor.encode({"op": 1, "t": "#commit"})
    body = unhex("a2 6162 01 6161 01")
    with pytest.raises(DagCborError, match=f"map key 'b' at byte {len(header) + 1} "):
        dagcbor.decode_all(header + body)
    assert dagcbor.decode_all(header + dagcbor.encode({"a": 1})) == [{"op": 1, "t": "#commit"}, {"a": 1}]


def test_a_firehose_frame_with_a_non_canonical_body_is_malformed() -> None:
    header = dagcbor.encode({"op": 1, "t": "#identity"})
    with pytest.raises(FirehoseError, match="MalformedFrame: .*indefinite-length map"):
        decode_frame(header + unhex("bf 63736571 01 ff"))


def test_a_non_canonical_car_header_is_refused() -> None:
    header = unhex("a2 6776657273696f6e 01 65726f6f7473 80")  # "version" before "roots": unsorted
    with pytest.raises(CarError, match="malformed CAR header: map key 'version' at byte 1 is out of DAG-CBOR order"):
        parse_car(encode_varint(len(header)) + header)


@pytest.mark.parametrize(
    "value,message",
    [
        (float("nan"), "NaN is not allowed"),
        (2**64, "outside the 64-bit range"),
        (-(2**64) - 1, "outside the 64-bit range"),
        ({1: "x"}, "map has a key that is not a string"),
        ({"a": object()}, "cannot be encoded as DAG-CBOR"),
    ],
)
def test_the_encoder_refuses_what_has_no_dag_cbor_form(value, message) -> None:
    with pytest.raises(DagCborError, match=message) as caught:
        dagcbor.encode(value)
    assert type(caught.value) is DagCborError


def to_ipld(value):
    """Our data in libipld's Python form (CIDs as their binary bytes)."""
    if isinstance(value, CID):
        return value.encode()
    if isinstance(value, list):
        return [to_ipld(item) for item in value]
    if isinstance(value, dict):
        return {key: to_ipld(item) for key, item in value.items()}
    return value


CORPUS = [
    None,
    True,
    False,
    0,
    23,
    24,
    255,
    256,
    65535,
    65536,
    2**32 - 1,
    2**32,
    2**64 - 1,
    -1,
    -24,
    -25,
    -256,
    -257,
    -(2**32),
    -(2**64),
    1.5,
    -1e300,
    "",
    "a" * 23,
    "a" * 24,
    "a" * 256,
    "héllo 🦋",
    b"",
    b"\x00" * 300,
    [],
    [[], [[]], {}],
    {},
    {"a": 1, "b": [1, 2], "aa": {"": None}, "ba": b"x", "é": "two bytes", "z": 0},
    CID.compute(b"x"),
    {"$type": "app.bsky.feed.post", "text": "hi", "embed": {"ref": CID.compute(b"blob", codec=0x55), "size": 10}},
]


@pytest.mark.parametrize("value", CORPUS, ids=[f"{i}" for i in range(len(CORPUS))])
def test_valid_values_round_trip_and_agree_with_libipld(value) -> None:
    data = dagcbor.encode(value)
    assert dagcbor.decode(data) == value
    assert libipld.decode_dag_cbor(data) == to_ipld(value)
    assert libipld.encode_dag_cbor(to_ipld(value)) == data


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**64), 2**64 - 1) if rng.random() < 0.3 else rng.randint(-70000, 70000)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind == 3:
        return "".join(rng.choice("ab\u00e9\u4e2d\U0001f98b") for _ in range(rng.randrange(30)))
    if kind == 4:
        return b"\xff" + rng.randbytes(rng.randrange(40))  # 0xff first: libipld would take a CID-shaped one for a CID
    if kind == 5:
        return CID.compute(rng.randbytes(8))
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    keys = ["".join(rng.choice("abc") for _ in range(rng.randrange(4))) for _ in range(rng.randrange(6))]
    return {key: random_value(rng, depth + 1) for key in keys}


def test_random_values_agree_with_libipld() -> None:
    rng = random.Random(20240610)
    for _ in range(300):
        value = random_value(rng)
        data = dagcbor.encode(value)
        assert libipld.encode_dag_cbor(to_ipld(value)) == data, value
        assert dagcbor.decode(data) == value
        assert libipld.decode_dag_cbor(data) == to_ipld(value)
