"""The Merkle Search Tree of an atproto repository: walking it and key heights."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

from ..errors import AtprotoBddError
from . import dagcbor
from .multiformats import CID


class MstError(AtprotoBddError):
    """An MST node that is missing or malformed."""


def key_height(key: str | bytes) -> int:
    """The tree layer of ``key``: leading zero bits of sha256(key), counted in pairs."""
    digest = hashlib.sha256(key.encode() if isinstance(key, str) else key).digest()
    zeros = 0
    for byte in digest:
        if byte == 0:
            zeros += 8
            continue
        zeros += 8 - byte.bit_length()
        break
    return zeros // 2


def walk(blocks: Mapping[CID, bytes], root: CID) -> Iterator[tuple[str, CID]]:
    """Every ``(key, value CID)`` of the tree rooted at ``root``, in key order."""
    yield from _walk(blocks, root, depth=0)


def _walk(blocks: Mapping[CID, bytes], cid: CID, depth: int) -> Iterator[tuple[str, CID]]:
    if depth > 128:
        raise MstError("MST deeper than 128 layers: a cycle?")
    try:
        node = dagcbor.decode(blocks[cid])
    except KeyError:
        raise MstError(f"MST node {cid} is missing from the repository") from None
    if not isinstance(node, dict) or "e" not in node:
        raise MstError(f"block {cid} is not an MST node")
    if node.get("l") is not None:
        yield from _walk(blocks, node["l"], depth + 1)
    previous = b""
    for entry in node["e"]:
        key = previous[: entry["p"]] + entry["k"]
        previous = key
        yield key.decode("utf-8"), entry["v"]
        if entry.get("t") is not None:
            yield from _walk(blocks, entry["t"], depth + 1)
