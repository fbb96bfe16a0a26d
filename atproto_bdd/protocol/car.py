"""CAR v1 files: a DAG-CBOR header with root CIDs, then length-prefixed blocks."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AtprotoBddError
from . import dagcbor
from .multiformats import CID, MultiformatError, decode_varint


class CarError(AtprotoBddError):
    """A CAR file that cannot be read, or a block whose bytes do not match its CID."""


@dataclass(frozen=True)
class Car:
    """The roots and blocks of a CAR file (blocks keyed by CID, in file order)."""

    roots: list[CID]
    blocks: dict[CID, bytes] = field(repr=False)

    def block(self, cid: CID) -> bytes:
        """The bytes of block ``cid``."""
        try:
            return self.blocks[cid]
        except KeyError:
            raise CarError(f"the CAR has no block {cid}") from None

    def decode(self, cid: CID) -> object:
        """Block ``cid`` decoded as DAG-CBOR."""
        return dagcbor.decode(self.block(cid))


def parse_car(data: bytes, *, verify: bool = True) -> Car:
    """Parse CAR v1 ``data``; with ``verify``, check every block hashes to its CID."""
    view = memoryview(data)
    try:
        header_length, offset = decode_varint(view, 0)
        header = dagcbor.decode(bytes(view[offset : offset + header_length]))
        offset += header_length
        if not isinstance(header, dict) or header.get("version") != 1:
            raise CarError(f"not a CAR v1 header: {header!r}")
        roots = header.get("roots") or []
        if not all(isinstance(root, CID) for root in roots):
            raise CarError("CAR roots must be CIDs")
        blocks: dict[CID, bytes] = {}
        while offset < len(view):
            length, offset = decode_varint(view, offset)
            end = offset + length
            if end > len(view):
                raise CarError(f"block at byte {offset} runs past the end of the CAR")
            cid, data_start = CID.read(view, offset)
            block = bytes(view[data_start:end])
            if verify and not cid.verifies(block):
                raise CarError(f"block {cid} does not match its CID (its bytes hash to something else)")
            blocks[cid] = block
            offset = end
    except MultiformatError as exc:
        raise CarError(f"malformed CAR: {exc}") from None
    except dagcbor.DagCborError as exc:
        raise CarError(f"malformed CAR header: {exc}") from None
    return Car(roots=list(roots), blocks=blocks)


def write_car(roots: list[CID], blocks: dict[CID, bytes]) -> bytes:
    """Serialise roots and blocks as CAR v1 (the inverse of :func:`parse_car`)."""
    from .multiformats import encode_varint

    header = dagcbor.encode({"version": 1, "roots": roots})
    out = bytearray(encode_varint(len(header)) + header)
    for cid, block in blocks.items():
        raw_cid = cid.encode()
        out += encode_varint(len(raw_cid) + len(block)) + raw_cid + block
    return bytes(out)
