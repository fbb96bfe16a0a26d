"""CAR parsing, MST walks and commit signatures on repositories built here."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.car import CarError, parse_car, write_car
from atproto_bdd.protocol.crypto import CryptoError, PublicKey
from atproto_bdd.protocol.mst import MstError, walk
from atproto_bdd.protocol.multiformats import CID, base58_encode, encode_varint
from atproto_bdd.protocol.repo import Repo, RepoError

K256_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def block(value) -> tuple[CID, bytes]:
    data = dagcbor.encode(value)
    return CID.compute(data), data


def sign(private: ec.EllipticCurvePrivateKey, message: bytes, *, high_s: bool = False) -> bytes:
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
    if (s > K256_ORDER // 2) != high_s:
        s = K256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def multikey(private: ec.EllipticCurvePrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = private.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return "z" + base58_encode(encode_varint(0xE7) + point)


def build_repo(private: ec.EllipticCurvePrivateKey, records: dict[str, dict]) -> bytes:
    """A one-node MST over ``records`` (keys sorted, prefix-compressed) under a signed commit."""
    blocks: dict[CID, bytes] = {}
    entries, previous = [], b""
    for path in sorted(records):
        cid, data = block(records[path])
        blocks[cid] = data
        key = path.encode()
        prefix = len(os.path.commonprefix([previous, key]))
        entries.append({"p": prefix, "k": key[prefix:], "v": cid, "t": None})
        previous = key
    mst_cid, mst_data = block({"l": None, "e": entries})
    blocks[mst_cid] = mst_data
    unsigned = {"did": "did:plc:test", "version": 3, "data": mst_cid, "rev": "3kabc", "prev": None}
    commit = {**unsigned, "sig": sign(private, dagcbor.encode(unsigned))}
    commit_cid, commit_data = block(commit)
    return write_car([commit_cid], {commit_cid: commit_data, **blocks})


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256K1())


RECORDS = {
    "app.bsky.feed.post/3kaaa": {"$type": "app.bsky.feed.post", "text": "one"},
    "app.bsky.feed.post/3kaab": {"$type": "app.bsky.feed.post", "text": "two"},
    "app.bsky.graph.follow/3kaac": {"$type": "app.bsky.graph.follow", "subject": "did:plc:x"},
}


def test_repo_records_and_signature(key) -> None:
    repo = Repo.from_car(build_repo(key, RECORDS))
    assert repo.records == RECORDS
    assert list(repo.collection("app.bsky.feed.post")) == ["3kaaa", "3kaab"]
    assert repo.verify_signature(PublicKey.from_multibase(multikey(key)))


def test_signature_by_another_key_does_not_verify(key) -> None:
    repo = Repo.from_car(build_repo(key, RECORDS))
    other = ec.generate_private_key(ec.SECP256K1())
    assert not repo.verify_signature(PublicKey.from_multibase(multikey(other)))


def test_tampered_or_high_s_signatures_do_not_verify(key) -> None:
    public = PublicKey.from_multibase(multikey(key))
    signature = sign(key, b"message")
    assert public.verify(b"message", signature)
    assert not public.verify(b"messagE", signature)
    assert not public.verify(b"message", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not public.verify(b"message", sign(key, b"message", high_s=True))
    assert not public.verify(b"message", signature[:63])


def test_block_that_does_not_match_its_cid_is_refused(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    victim = next(cid for cid, data in car.blocks.items() if b"one" in data)
    tampered = {cid: (data.replace(b"one", b"two") if cid == victim else data) for cid, data in car.blocks.items()}
    with pytest.raises(CarError, match=f"block {victim} does not match its CID"):
        parse_car(write_car(car.roots, tampered))
    assert parse_car(write_car(car.roots, tampered), verify=False).blocks[victim] != car.blocks[victim]


def test_truncated_and_garbage_cars_are_refused(key) -> None:
    data = build_repo(key, RECORDS)
    with pytest.raises(CarError, match="runs past the end"):
        parse_car(data[:-5])
    with pytest.raises(CarError):
        parse_car(b"\x05hello")


def test_missing_mst_node_is_reported(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    repo = Repo(car)
    del car.blocks[repo.commit.data]
    with pytest.raises(MstError, match="is missing from the repository"):
        list(walk(car.blocks, repo.commit.data))


def test_convenience_module_exposes_the_same_objects() -> None:
    import atproto_bdd.car as car_module

    assert car_module.parse_car is parse_car and car_module.Repo is Repo


def test_car_without_a_commit_root_is_refused() -> None:
    cid, data = block({"not": "a commit"})
    with pytest.raises(RepoError, match="not a repository commit"):
        Repo.from_car(write_car([cid], {cid: data}))


def test_mst_walk_visits_subtrees_in_key_order() -> None:
    blocks: dict[CID, bytes] = {}

    def leaf(value):
        cid, data = block(value)
        blocks[cid] = data
        return cid

    left = leaf({"l": None, "e": [{"p": 0, "k": b"a/1", "v": leaf({"n": 1}), "t": None}]})
    right = leaf({"l": None, "e": [{"p": 0, "k": b"c/3", "v": leaf({"n": 3}), "t": None}]})
    root = leaf({"l": left, "e": [{"p": 0, "k": b"b/2", "v": leaf({"n": 2}), "t": right}]})
    assert [key for key, _ in walk(blocks, root)] == ["a/1", "b/2", "c/3"]


def test_unknown_key_types_are_named() -> None:
    with pytest.raises(CryptoError, match="unsupported key type"):
        PublicKey.from_multibase("z" + base58_encode(encode_varint(0xED) + b"\x01" * 32))
    with pytest.raises(CryptoError, match="unsupported verification method type 'Ed25519VerificationKey2020'"):
        PublicKey.from_verification_method("Ed25519VerificationKey2020", "z111")
