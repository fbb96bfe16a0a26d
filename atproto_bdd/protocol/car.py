"""CAR v1 files: a DAG-CBOR header with root CIDs, then length-prefixed blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import AtprotoBddError
from . import dagcbor
from .multiformats import CID, DAG_CBOR, SHA2_256, MultiformatError, decode_varint


class CarError(AtprotoBddError):
    """A CAR file that cannot be read, or a block whose bytes do not match its CID."""


class BlockError(CarError, dagcbor.DagCborError):
    """A block that is not strict DAG-CBOR; the message names its CID.

    Both a :class:`CarError` and a :class:`~atproto_bdd.protocol.dagcbor.DagCborError`,
    so code that caught either from :meth:`Car.decode` still does.
    """

    def __init__(self, cid: CID, problem: str) -> None:
        super().__init__(f"block {cid}: {problem}")
        self.cid = cid


def decode_block(cid: CID, data: bytes) -> Any:
    """Block ``data`` (stored under ``cid``) decoded as strict DAG-CBOR; :class:`BlockError` if it is not."""
    if cid.codec != DAG_CBOR:
        raise BlockError(cid, f"has codec 0x{cid.codec:x}, not DAG-CBOR (0x71)")
    try:
        return dagcbor.decode(data)
    except dagcbor.DagCborError as exc:
        raise BlockError(cid, str(exc)) from None


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
        """Block ``cid`` decoded as strict DAG-CBOR (:class:`BlockError`, naming the CID, if it is not)."""
        return decode_block(cid, self.block(cid))


def parse_car(data: bytes, *, verify: bool = True) -> Car:
    """Parse CAR v1 ``data``.

    With ``verify``, every block must hash (sha2-256) to its CID, and every
    DAG-CBOR block must be strict DAG-CBOR; the error names the block's CID.
    """
    view = memoryview(data)
    try:
        header_length, offset = decode_varint(view, 0)
        header = dagcbor.decode(bytes(view[offset : offset + header_length]))
        offset += header_length
        if not isinstance(header, dict) or type(header.get("version")) is not int or header["version"] != 1:
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
            if verify:
                _verify_block(cid, block)
            blocks[cid] = block
            offset = end
    except MultiformatError as exc:
        raise CarError(f"malformed CAR: {exc}") from None
    except BlockError:
        raise
    except dagcbor.DagCborError as exc:
        raise CarError(f"malformed CAR header: {exc}") from None
    return Car(roots=list(roots), blocks=blocks)


def _verify_block(cid: CID, block: bytes) -> None:
    if cid.hash_code != SHA2_256:
        raise CarError(f"block {cid} is addressed by multihash 0x{cid.hash_code:x}; atproto uses sha2-256 (0x12)")
    if not cid.verifies(block):
        raise CarError(f"block {cid} does not match its CID (its bytes hash to something else)")
    if cid.codec == DAG_CBOR:
        decode_block(cid, block)  # checked here so that no block of a verified CAR is silently malformed


def write_car(roots: list[CID], blocks: dict[CID, bytes]) -> bytes:
    """Serialise roots and blocks as CAR v1 (the inverse of :func:`parse_car`)."""
    from .multiformats import encode_varint

    header = dagcbor.encode({"version": 1, "roots": roots})
    out = bytearray(encode_varint(len(header)) + header)
    for cid, block in blocks.items():
        raw_cid = cid.encode()
        out += encode_varint(len(raw_cid) + len(block)) + raw_cid + block
    return bytes(out)
