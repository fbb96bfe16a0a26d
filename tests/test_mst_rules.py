"""MST verification: canonical trees walk, and each rule of the tree is refused on its own.

The broken trees are assembled node by node here, with keys picked for their
height, so that each test breaks exactly one rule.
"""

from __future__ import annotations

import itertools
import json
import os
import random

import pytest

from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.car import BlockError
from atproto_bdd.protocol.mst import MstError, build, key_height, walk
from atproto_bdd.protocol.multiformats import CID, RAW

VALUE = CID.compute(dagcbor.encode({"text": "a record"}))


def keys_at(height: int, count: int = 1, collection: str = "com.example.record") -> list[str]:
    """The first ``count`` keys ``<collection>/<n>`` of ``height``, in order."""
    found = (f"{collection}/{n:05d}" for n in itertools.count())
    return list(itertools.islice((key for key in found if key_height(key) == height), count))


class Tree:
    """Blocks of a hand-made tree: ``node`` stores a node and returns its CID."""

    def __init__(self) -> None:
        self.blocks: dict[CID, bytes] = {}

    def store(self, value) -> CID:
        data = dagcbor.encode(value)
        cid = CID.compute(data)
        self.blocks[cid] = data
        return cid

    def node(self, keys: list[str], *, left: CID | None = None, rights: dict[str, CID] | None = None) -> CID:
        """A node holding ``keys`` in the given order, prefix-compressed as atproto requires."""
        return self.store({"l": left, "e": entries(keys, rights or {})})

    def keys(self, root: CID) -> list[str]:
        return [key for key, _ in walk(self.blocks, root)]


def entries(keys: list[str], rights: dict[str, CID] | None = None) -> list[dict]:
    out, previous = [], b""
    for key in keys:
        raw = key.encode()
        prefix = len(os.path.commonprefix([previous, raw]))
        out.append({"p": prefix, "k": raw[prefix:], "v": VALUE, "t": (rights or {}).get(key)})
        previous = raw
    return out


# Valid trees.


def test_build_matches_the_interop_commit_proof_roots(interop_testdata) -> None:
    """Our builder against the MST roots of the atproto interop fixtures (an independent reference)."""
    path = interop_testdata["data"].parent.parent / "repo" / "testdata" / "commit-proof-fixtures.json"
    fixtures = json.loads(path.read_text())
    assert fixtures
    for fixture in fixtures:
        leaf = CID.parse(fixture["leafValue"])
        before = {key: leaf for key in fixture["keys"]}
        after = {key: leaf for key in [*fixture["keys"], *fixture["adds"]] if key not in fixture["dels"]}
        for keys, expected in ((before, fixture["rootBeforeCommit"]), (after, fixture["rootAfterCommit"])):
            root, blocks = build(keys)
            assert str(root) == expected, fixture["comment"]
            assert [key for key, _ in walk(blocks, root)] == sorted(keys), fixture["comment"]


def test_built_trees_of_many_layers_walk_in_key_order() -> None:
    rng = random.Random(7)
    keys = {f"com.example.record/{rng.getrandbits(40):010x}": CID.compute(bytes([n % 256])) for n in range(500)}
    root, blocks = build(keys)
    assert len(blocks) > 50  # many nodes, several layers
    assert list(walk(blocks, root)) == sorted(keys.items())


def test_intermediate_nodes_without_entries_are_kept() -> None:
    """A key of height 2 over keys of height 0: the layer between is a node with only a left link."""
    (top,) = keys_at(2)
    low = [key for key in keys_at(0, 3) if key < top]
    assert low
    root, blocks = build(dict.fromkeys([top, *low], VALUE))
    middle = dagcbor.decode(blocks[dagcbor.decode(blocks[root])["l"]])
    assert middle["e"] == [] and middle["l"] is not None
    assert [key for key, _ in walk(blocks, root)] == sorted([top, *low])


def test_the_empty_tree_is_one_empty_root() -> None:
    root, blocks = build({})
    assert dagcbor.decode(blocks[root]) == {"l": None, "e": []}
    assert list(walk(blocks, root)) == []


# Node shape and empty nodes.


def test_a_root_with_no_entries_must_not_link_a_subtree() -> None:
    tree = Tree()
    child = tree.node(keys_at(0))
    root = tree.node([], left=child)
    with pytest.raises(MstError, match=f"MST root {root} has no entries but links a subtree"):
        tree.keys(root)


def test_a_non_root_node_must_not_be_empty() -> None:
    tree = Tree()
    (key,) = keys_at(1)
    empty = tree.node([])
    root = tree.node([key], rights={key: empty})
    with pytest.raises(MstError, match=f"MST node {empty} is empty"):
        tree.keys(root)


# Heights.


def test_all_keys_of_a_node_have_the_same_height() -> None:
    tree = Tree()
    keys = sorted([*keys_at(0), *keys_at(1)])
    root = tree.node(keys)
    first, second = keys  # the first key sets the node's height; the second has the other one
    with pytest.raises(MstError, match=f"MST node {root}: key '{second}' has height .* but the node is at height"):
        tree.keys(root)


def test_a_subtree_is_exactly_one_layer_lower() -> None:
    tree = Tree()
    (top,) = keys_at(2)
    (low,) = [key for key in keys_at(0, 5) if key < top][:1]
    child = tree.node([low])  # height 0 linked from height 2: layer 1 skipped
    root = tree.node([top], left=child)
    with pytest.raises(MstError, match=f"MST node {child}: key '{low}' has height 0, but the node is at height 1"):
        tree.keys(root)


def test_a_subtree_may_not_be_higher_than_its_parent_allows() -> None:
    tree = Tree()
    (top,) = keys_at(1)
    (high,) = [key for key in keys_at(2, 5) if key > top][:1]
    child = tree.node([high])
    root = tree.node([top], rights={top: child})
    with pytest.raises(MstError, match=f"MST node {child}: key '{high}' has height 2, but the node is at height 0"):
        tree.keys(root)


def test_a_layer_zero_node_links_no_subtree() -> None:
    tree = Tree()
    first, second = keys_at(0, 2)
    child = tree.node([second])
    root = tree.node([first], rights={first: child})
    with pytest.raises(MstError, match=f"MST node {root} is at height 0 but links a subtree"):
        tree.keys(root)


# Key order.


def test_keys_in_a_node_are_increasing() -> None:
    tree = Tree()
    first, second = keys_at(0, 2)
    root = tree.node([second, first])
    with pytest.raises(MstError, match=f"MST node {root}: key '{first}' sorts before the previous key '{second}'"):
        tree.keys(root)


def test_keys_are_increasing_across_subtrees() -> None:
    tree = Tree()
    (top,) = keys_at(1)
    (after,) = [key for key in keys_at(0, 10) if key > top][:1]
    child = tree.node([after])  # a key greater than its parent's, on the parent's left
    root = tree.node([top], left=child)
    with pytest.raises(MstError, match=f"MST node {root}: key '{top}' sorts before the previous key '{after}'"):
        tree.keys(root)


def test_a_key_appears_once() -> None:
    tree = Tree()
    (key,) = keys_at(0)
    root = tree.store({"l": None, "e": [*entries([key]), {"p": len(key), "k": b"", "v": VALUE, "t": None}]})
    with pytest.raises(MstError, match=f"MST node {root}: key '{key}' repeats the previous key"):
        tree.keys(root)


# Prefix compression.


def test_the_first_entry_holds_the_full_key() -> None:
    tree = Tree()
    (key,) = keys_at(0)
    root = tree.store({"l": None, "e": [{"p": 3, "k": key.encode()[3:], "v": VALUE, "t": None}]})
    with pytest.raises(MstError, match=f"MST node {root}, entry 0: the first entry has prefix length 3"):
        tree.keys(root)


def test_a_prefix_is_no_longer_than_the_previous_key() -> None:
    tree = Tree()
    first, second = keys_at(0, 2)
    bad = {"p": len(first) + 1, "k": b"x", "v": VALUE, "t": None}
    root = tree.store({"l": None, "e": [*entries([first]), bad]})
    with pytest.raises(MstError, match=f"MST node {root}, entry 1: prefix length {len(first) + 1} is longer"):
        tree.keys(root)


def test_the_prefix_compression_is_maximal() -> None:
    tree = Tree()
    first, second = keys_at(0, 2)
    lazy = {"p": 0, "k": second.encode(), "v": VALUE, "t": None}  # shares "com.example.record/" but says 0
    root = tree.store({"l": None, "e": [*entries([first]), lazy]})
    with pytest.raises(MstError, match=f"MST node {root}, entry 1: key '{second}' shares .* compression is mandatory"):
        tree.keys(root)


# Fields and types.


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda node: node.update(x=1), r"has unknown fields \['x'\]"),
        (lambda node: node.pop("e"), "is not an MST node"),
        (lambda node: node.update(e={}), "'e' is not an array"),
        (lambda node: node.update(l="bafy"), "its left link 'l' is str, not a CID or null"),
        (lambda node: node["e"][0].update(x=1), r"entry 0 has fields \['k', 'p', 't', 'v', 'x'\]"),
        (lambda node: node["e"][0].pop("v"), r"entry 0 has fields \['k', 'p', 't'\]"),
        (lambda node: node["e"][0].update(k="text"), "the key suffix 'k' is str, not bytes"),
        (lambda node: node["e"][0].update(p=-1), "the prefix length 'p' is -1"),
        (lambda node: node["e"][0].update(p=False), "the prefix length 'p' is False"),
        (lambda node: node["e"][0].update(v=str(VALUE)), "the value 'v' is str, not a CID"),
        (lambda node: node["e"][0].update(t=b"\x01"), "entry 0's right link 't' is bytes, not a CID or null"),
        (
            lambda node: node["e"][0].update(t=CID.compute(b"raw", codec=RAW)),
            "entry 0's right link 't' .* is not a CIDv1 dag-cbor sha2-256 link",
        ),
        (lambda node: node["e"].__setitem__(0, [1]), "entry 0 is not a map"),
        (lambda node: node["e"][0].update(k=b""), "the key is empty"),
        (lambda node: node["e"][0].update(k=b"\xff\xfe"), "is not UTF-8"),
    ],
)
def test_node_fields_and_types(change, message) -> None:
    tree = Tree()
    node = {"l": None, "e": entries(keys_at(0))}
    change(node)
    root = tree.store(node)
    with pytest.raises(MstError, match=f"(MST node|block) {root}.*{message}"):
        tree.keys(root)


def test_a_node_that_is_not_canonical_dag_cbor_names_the_node() -> None:
    tree = Tree()
    canonical = dagcbor.encode({"e": [], "l": None})
    assert canonical.hex() == "a2616580616cf6"
    data = bytes.fromhex("a2616cf6616580")  # the same node with "l" before "e"
    root = CID.compute(data)
    tree.blocks[root] = data
    with pytest.raises(BlockError, match=f"block {root}: map key 'l' at byte 1 is out of DAG-CBOR order"):
        tree.keys(root)


def test_the_root_link_has_the_blessed_cid_form() -> None:
    root = CID.compute(dagcbor.encode({"l": None, "e": []}), codec=RAW)
    with pytest.raises(MstError, match=f"MST root {root} is not a CIDv1 dag-cbor sha2-256 link"):
        list(walk({}, root))


def test_missing_subtree_is_reported() -> None:
    tree = Tree()
    (key,) = keys_at(1)
    absent = CID.compute(b"not stored")
    root = tree.node([key], rights={key: absent})
    with pytest.raises(MstError, match=f"MST node {absent} is missing from the repository"):
        tree.keys(root)
