"""The Merkle Search Tree of an atproto repository: walking and verifying it, building it, key heights.

A node is ``{"l": <left subtree or null>, "e": [entries]}``, each entry
``{"p": <prefix length>, "k": <key suffix>, "v": <value CID>, "t": <right
subtree or null>}``. The tree is deterministic: the keys and values fix
every node, so :func:`walk` refuses any tree that is not the one atproto
implementations would build (the rules are listed there).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..errors import AtprotoBddError
from . import dagcbor
from .car import decode_block
from .multiformats import CID, DAG_CBOR, SHA2_256

_NODE_FIELDS = frozenset({"l", "e"})
_ENTRY_FIELDS = frozenset({"p", "k", "v", "t"})


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


def is_blessed_link(cid: CID) -> bool:
    """True if ``cid`` has the one form atproto allows for links to commits and MST nodes.

    That is CIDv1, dag-cbor, sha2-256 with a 32-byte digest (the repository
    spec, "CID Formats").
    """
    return cid.version == 1 and cid.codec == DAG_CBOR and cid.hash_code == SHA2_256 and len(cid.digest) == 32


def walk(blocks: Mapping[CID, bytes], root: CID) -> Iterator[tuple[str, CID]]:
    """Every ``(key, value CID)`` of the tree rooted at ``root``, in key order, verifying the tree on the way.

    Raises :class:`MstError` (naming the node and the key) unless:

    - every node is strict DAG-CBOR with only the fields ``l`` and ``e``, and
      every entry only ``p`` (integer >= 0), ``k`` (bytes), ``v`` (CID) and
      ``t`` (CID or null); ``l`` and ``t`` are CIDv1 dag-cbor sha2-256 links;
    - the first entry of a node has ``p == 0``, and every ``p`` is exactly the
      number of bytes the key shares with the previous key of the node (no
      more than that key's length; the compression is mandatory);
    - keys are non-empty UTF-8 and strictly increasing over the whole walk;
    - all keys of a node have the same height, and the root is at the height
      of its keys; a subtree is exactly one layer below the node linking it,
      and a layer-0 node links no subtree;
    - only the root of an empty tree is an empty node: a root without entries
      links no subtree, and any other node has entries or a left subtree.

    Errors in a block's bytes are raised as
    :class:`~atproto_bdd.protocol.car.BlockError`, naming the block.
    """
    if not is_blessed_link(root):
        raise MstError(f"MST root {root} is not a CIDv1 dag-cbor sha2-256 link")
    yield from _Walker(blocks).visit(root, None)


@dataclass(frozen=True)
class _Entry:
    key: bytes
    text: str
    value: CID
    right: CID | None


@dataclass(frozen=True)
class _Node:
    left: CID | None
    entries: list[_Entry]


class _Walker:
    """One in-order walk; remembers the last key so that order is checked across nodes."""

    def __init__(self, blocks: Mapping[CID, bytes]) -> None:
        self.blocks = blocks
        self.last: _Entry | None = None

    def visit(self, cid: CID, height: int | None) -> Iterator[tuple[str, CID]]:
        """Walk the subtree at ``cid``, expected at ``height`` (None for the root: its keys decide)."""
        node = _load(self.blocks, cid)
        if height is None:
            if not node.entries:
                if node.left is not None:
                    raise MstError(f"MST root {cid} has no entries but links a subtree (the top must be pruned)")
                return
            height = key_height(node.entries[0].key)
            why = "the height of its first key"
        elif not node.entries and node.left is None:
            raise MstError(f"MST node {cid} is empty (only the root of an empty tree may be)")
        else:
            why = "one below the node linking it"
        for entry in node.entries:
            if key_height(entry.key) != height:
                raise MstError(
                    f"MST node {cid}: key {entry.text!r} has height {key_height(entry.key)}, "
                    f"but the node is at height {height} ({why})"
                )
        if height == 0 and (node.left is not None or any(entry.right is not None for entry in node.entries)):
            raise MstError(f"MST node {cid} is at height 0 but links a subtree")
        if node.left is not None:
            yield from self.visit(node.left, height - 1)
        for entry in node.entries:
            if self.last is not None and entry.key <= self.last.key:
                relation = "repeats" if entry.key == self.last.key else "sorts before"
                raise MstError(f"MST node {cid}: key {entry.text!r} {relation} the previous key {self.last.text!r}")
            self.last = entry
            yield entry.text, entry.value
            if entry.right is not None:
                yield from self.visit(entry.right, height - 1)


def _load(blocks: Mapping[CID, bytes], cid: CID) -> _Node:
    """Decode node ``cid`` and check its fields, types and key compression."""
    try:
        data = blocks[cid]
    except KeyError:
        raise MstError(f"MST node {cid} is missing from the repository") from None
    node = decode_block(cid, data)
    if not isinstance(node, dict) or "e" not in node:
        raise MstError(f"block {cid} is not an MST node")
    if set(node) - _NODE_FIELDS:
        raise MstError(f"MST node {cid} has unknown fields {sorted(set(node) - _NODE_FIELDS)}")
    left = _link(cid, node.get("l"), "its left link 'l'")
    if not isinstance(node["e"], list):
        raise MstError(f"MST node {cid}: 'e' is not an array")
    entries: list[_Entry] = []
    previous = b""
    for index, entry in enumerate(node["e"]):
        where = f"MST node {cid}, entry {index}"
        if not isinstance(entry, dict):
            raise MstError(f"{where} is not a map")
        if set(entry) - _ENTRY_FIELDS or not {"p", "k", "v"} <= set(entry):
            raise MstError(f"{where} has fields {sorted(entry)}; an entry has p, k, v and t")
        prefix, suffix, value = entry["p"], entry["k"], entry["v"]
        if type(prefix) is not int or prefix < 0:
            raise MstError(f"{where}: the prefix length 'p' is {prefix!r}, not an integer >= 0")
        if not isinstance(suffix, bytes):
            raise MstError(f"{where}: the key suffix 'k' is {type(suffix).__name__}, not bytes")
        if not isinstance(value, CID):
            raise MstError(f"{where}: the value 'v' is {type(value).__name__}, not a CID")
        right = _link(cid, entry.get("t"), f"entry {index}'s right link 't'")
        if index == 0 and prefix != 0:
            raise MstError(f"{where}: the first entry has prefix length {prefix}; it must be 0 (the full key)")
        if prefix > len(previous):
            raise MstError(f"{where}: prefix length {prefix} is longer than the previous key {_text(previous)!r}")
        key = previous[:prefix] + suffix
        shared = len(os.path.commonprefix([previous, key]))
        if shared != prefix:
            raise MstError(
                f"{where}: key {_text(key)!r} shares {shared} bytes with the previous key, "
                f"but its prefix length is {prefix} (the compression is mandatory)"
            )
        if not key:
            raise MstError(f"{where}: the key is empty")
        try:
            text = key.decode("utf-8")
        except UnicodeDecodeError:
            raise MstError(f"{where}: key {key!r} is not UTF-8") from None
        entries.append(_Entry(key, text, value, right))
        previous = key
    return _Node(left, entries)


def _link(node: CID, value: object, what: str) -> CID | None:
    if value is None:
        return None
    if not isinstance(value, CID):
        raise MstError(f"MST node {node}: {what} is {type(value).__name__}, not a CID or null")
    if not is_blessed_link(value):
        raise MstError(f"MST node {node}: {what} {value} is not a CIDv1 dag-cbor sha2-256 link")
    return value


def _text(key: bytes) -> str:
    return key.decode("utf-8", "replace")


def build(entries: Mapping[str, CID]) -> tuple[CID, dict[CID, bytes]]:
    """The canonical MST of ``entries`` (key -> value CID): its root CID and its node blocks.

    The inverse of :func:`walk`: the same keys and values always give the
    same tree, as in every atproto implementation.
    """
    items = sorted((key.encode(), value) for key, value in entries.items())
    if any(not key for key, _ in items):
        raise MstError("MST keys cannot be empty")
    heights = {key: key_height(key) for key, _ in items}
    blocks: dict[CID, bytes] = {}
    if not items:
        return _store({"l": None, "e": []}, blocks), blocks
    return _build(items, max(heights.values()), heights, blocks), blocks


def _build(items: list[tuple[bytes, CID]], height: int, heights: dict[bytes, int], blocks: dict[CID, bytes]) -> CID:
    """The node at ``height`` over ``items`` (sorted, none higher): keys of this height, the rest in subtrees."""
    left: list[tuple[bytes, CID]] = []
    here: list[tuple[bytes, CID, list[tuple[bytes, CID]]]] = []
    for key, value in items:
        if heights[key] == height:
            here.append((key, value, []))
        elif here:
            here[-1][2].append((key, value))
        else:
            left.append((key, value))

    def subtree(group: list[tuple[bytes, CID]]) -> CID | None:
        return _build(group, height - 1, heights, blocks) if group else None

    node_entries = []
    previous = b""
    for key, value, right in here:
        prefix = len(os.path.commonprefix([previous, key]))
        node_entries.append({"p": prefix, "k": key[prefix:], "v": value, "t": subtree(right)})
        previous = key
    return _store({"l": subtree(left), "e": node_entries}, blocks)


def _store(node: dict, blocks: dict[CID, bytes]) -> CID:
    data = dagcbor.encode(node)
    cid = CID.compute(data)
    blocks[cid] = data
    return cid
