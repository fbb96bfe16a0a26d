"""Varints, multibase (base32, base58btc) and CIDs, as atproto uses them."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from ..errors import AtprotoBddError

DAG_CBOR = 0x71
RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class MultiformatError(AtprotoBddError):
    """Bytes or text that are not a valid varint, multibase string or CID."""


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, as multiformats and CAR files use."""
    if value < 0:
        raise MultiformatError(f"varints are unsigned, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Read a varint at ``offset``; return ``(value, offset after it)``."""
    value = shift = 0
    for index in range(offset, min(len(data), offset + 9)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    raise MultiformatError(f"truncated or oversized varint at byte {offset}")


def base32_encode(data: bytes) -> str:
    """RFC 4648 base32, lower case, no padding (multibase ``b``)."""
    return base64.b32encode(data).decode().lower().rstrip("=")


def base32_decode(text: str) -> bytes:
    """Inverse of :func:`base32_encode`."""
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError as exc:
        raise MultiformatError(f"{text!r} is not base32: {exc}") from None


def base58_encode(data: bytes) -> str:
    """Bitcoin base58 (multibase ``z`` without the prefix)."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _BASE58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58_decode(text: str) -> bytes:
    """Inverse of :func:`base58_encode`."""
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise MultiformatError(f"{text!r} is not base58btc (bad character {char!r})")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multibase_decode(text: str) -> bytes:
    """Decode a multibase string (``b`` base32 or ``z`` base58btc)."""
    if text.startswith("b"):
        return base32_decode(text[1:])
    if text.startswith("z"):
        return base58_decode(text[1:])
    raise MultiformatError(f"unsupported multibase prefix in {text[:12]!r} (expected b or z)")


@dataclass(frozen=True)
class CID:
    """A content identifier: version, content codec and sha2-256 multihash."""

    version: int
    codec: int
    hash_code: int
    digest: bytes

    @classmethod
    def decode(cls, data: bytes) -> CID:
        """Parse a binary CID that fills ``data`` exactly."""
        cid, end = cls.read(data, 0)
        if end != len(data):
            raise MultiformatError(f"{len(data) - end} trailing bytes after a CID")
        return cid

    @classmethod
    def read(cls, data: bytes | memoryview, offset: int) -> tuple[CID, int]:
        """Parse the binary CID starting at ``offset``; return it and the offset after it."""
        if len(data) >= offset + 34 and data[offset] == SHA2_256 and data[offset + 1] == 32:
            return cls(0, DAG_PB, SHA2_256, bytes(data[offset + 2 : offset + 34])), offset + 34
        version, offset = decode_varint(data, offset)
        if version != 1:
            raise MultiformatError(f"unsupported CID version {version}")
        codec, offset = decode_varint(data, offset)
        hash_code, offset = decode_varint(data, offset)
        length, offset = decode_varint(data, offset)
        digest = bytes(data[offset : offset + length])
        if len(digest) != length:
            raise MultiformatError("truncated CID digest")
        return cls(version, codec, hash_code, digest), offset + length

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse the string form atproto uses: base32 CIDv1 (``bafy...``)."""
        if not text.startswith("b"):
            raise MultiformatError(f"{text[:16]!r} is not a base32 CID (expected b...)")
        return cls.decode(base32_decode(text[1:]))

    @classmethod
    def compute(cls, data: bytes, codec: int = DAG_CBOR) -> CID:
        """The CIDv1 (sha2-256) of ``data`` with ``codec``."""
        return cls(1, codec, SHA2_256, hashlib.sha256(data).digest())

    def encode(self) -> bytes:
        """The binary form."""
        multihash = encode_varint(self.hash_code) + encode_varint(len(self.digest)) + self.digest
        if self.version == 0:
            return multihash
        return encode_varint(1) + encode_varint(self.codec) + multihash

    def verifies(self, data: bytes) -> bool:
        """True if ``data`` hashes to this CID's digest."""
        return self.hash_code == SHA2_256 and hashlib.sha256(data).digest() == self.digest

    def __str__(self) -> str:
        if self.version == 0:
            return base58_encode(self.encode())
        return "b" + base32_encode(self.encode())

    def __repr__(self) -> str:
        return f"CID({self})"
