"""CAR parsing, MST walks and commit signatures on repositories built here."""

from __future__ import annotations

import libipld
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.car import BlockError, CarError, parse_car, write_car
from atproto_bdd.protocol.crypto import CryptoError, PublicKey
from atproto_bdd.protocol.dagcbor import DagCborError
from atproto_bdd.protocol.mst import MstError, key_height, walk
from atproto_bdd.protocol.mst import build as build_mst
from atproto_bdd.protocol.multiformats import CID, RAW, base58_encode, encode_varint
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


def build_repo(private: ec.EllipticCurvePrivateKey, records: dict[str, dict], **commit_fields) -> bytes:
    """The canonical MST over ``records`` under a commit signed over every field but ``sig``.

    ``commit_fields`` replace or add commit fields (a field set to ``...`` is left out).
    """
    blocks: dict[CID, bytes] = {}
    values = {}
    for path, record in records.items():
        cid, data = block(record)
        blocks[cid] = data
        values[path] = cid
    mst_root, mst_blocks = build_mst(values)
    blocks.update(mst_blocks)
    unsigned = {"did": "did:plc:test", "version": 3, "data": mst_root, "rev": "3kabc", "prev": None, **commit_fields}
    unsigned = {name: value for name, value in unsigned.items() if value is not ...}
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

    def stored(value):
        cid, data = block(value)
        blocks[cid] = data
        return cid

    # "b/10" has height 1, so it sits above the height-0 keys on either side of it.
    assert [key_height(key) for key in ("a/1", "b/10", "c/3")] == [0, 1, 0]
    left = stored({"l": None, "e": [{"p": 0, "k": b"a/1", "v": stored({"n": 1}), "t": None}]})
    right = stored({"l": None, "e": [{"p": 0, "k": b"c/3", "v": stored({"n": 3}), "t": None}]})
    root = stored({"l": left, "e": [{"p": 0, "k": b"b/10", "v": stored({"n": 2}), "t": right}]})
    assert [key for key, _ in walk(blocks, root)] == ["a/1", "b/10", "c/3"]
    assert root == build_mst({key: cid for key, cid in walk(blocks, root)})[0]  # it is the canonical tree


def test_unknown_key_types_are_named() -> None:
    with pytest.raises(CryptoError, match="unsupported key type"):
        PublicKey.from_multibase("z" + base58_encode(encode_varint(0xED) + b"\x01" * 32))
    with pytest.raises(CryptoError, match="unsupported verification method type 'Ed25519VerificationKey2020'"):
        PublicKey.from_verification_method("Ed25519VerificationKey2020", "z111")


def test_a_commit_field_the_library_does_not_name_is_signed_over(key) -> None:
    repo = Repo.from_car(build_repo(key, RECORDS, note="an extra field"))
    assert repo.commit.raw["note"] == "an extra field"
    assert repo.verify_signature(PublicKey.from_multibase(multikey(key)))


def test_a_signature_over_the_named_fields_only_does_not_cover_an_extra_one(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    commit = dagcbor.decode(car.blocks[car.roots[0]])
    five = {name: commit[name] for name in ("did", "version", "data", "rev", "prev")}
    tampered = {**commit, "note": "added after signing", "sig": sign(key, dagcbor.encode(five))}
    cid, data = block(tampered)
    repo = Repo.from_car(write_car([cid], {**car.blocks, cid: data}))
    assert not repo.verify_signature(PublicKey.from_multibase(multikey(key)))


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"version": 2}, "has version 2; atproto repositories are version 3"),
        ({"version": "3"}, "has version '3'"),
        ({"did": "alice"}, "the commit's did 'alice' is not a DID"),
        ({"data": "bafyreia"}, "the commit's data 'bafyreia' is not a CIDv1"),
        ({"data": CID.compute(b"x", codec=RAW)}, "the commit's data .* is not a CIDv1 dag-cbor sha2-256 link"),
        ({"rev": 5}, "the commit's rev 5 is not a non-empty string"),
        ({"prev": "none"}, "the commit's prev 'none' is neither null nor"),
        ({"prev": ...}, r"not a repository commit \(no prev\)"),
    ],
)
def test_commits_that_are_not_version_3_commits_are_refused(key, fields, message) -> None:
    data = build_repo(key, RECORDS, **fields)
    root = parse_car(data).roots[0]
    with pytest.raises(RepoError, match=f"commit {root}: .*{message}"):
        Repo.from_car(data)


def test_a_commit_whose_sig_is_not_bytes_is_refused(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    commit = {**dagcbor.decode(car.blocks[car.roots[0]]), "sig": "c2lnbmF0dXJl"}
    cid, data = block(commit)
    with pytest.raises(RepoError, match="the commit's sig is str, not"):
        Repo.from_car(write_car([cid], {**car.blocks, cid: data}))


def test_a_non_canonical_block_is_refused_naming_its_cid(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    # {"$type": "ok", "text": "one"} with "$type" first: DAG-CBOR puts the shorter "text" first
    record = bytes.fromhex("a2 652474797065 626f6b 6474657874 636f6e65".replace(" ", ""))
    cid = CID.compute(record)  # the hash is right: only the encoding is wrong
    expected = f"block {cid}: map key '\\$type' at byte 1 is out of DAG-CBOR order"
    with pytest.raises(BlockError, match=expected) as caught:
        parse_car(write_car(car.roots, {**car.blocks, cid: record}))
    assert isinstance(caught.value, CarError) and isinstance(caught.value, DagCborError)
    assert caught.value.cid == cid
    unverified = parse_car(write_car(car.roots, {**car.blocks, cid: record}), verify=False)
    with pytest.raises(BlockError, match=expected):
        unverified.decode(cid)
    with pytest.raises(ValueError):
        libipld.decode_dag_cbor(record)  # libipld refuses the same bytes


def test_blocks_of_other_codecs_are_kept_but_not_decoded(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    blob = CID.compute(b"\x89PNG not cbor", codec=RAW)
    parsed = parse_car(write_car(car.roots, {**car.blocks, blob: b"\x89PNG not cbor"}))
    assert parsed.block(blob) == b"\x89PNG not cbor"
    with pytest.raises(BlockError, match=f"block {blob}: has codec 0x55, not DAG-CBOR"):
        parsed.decode(blob)


def test_a_block_addressed_by_another_hash_function_is_refused(key) -> None:
    car = parse_car(build_repo(key, RECORDS))
    odd = CID(1, 0x71, 0x13, bytes(64))  # sha2-512
    with pytest.raises(CarError, match=f"block {odd} is addressed by multihash 0x13"):
        parse_car(write_car(car.roots, {**car.blocks, odd: dagcbor.encode({})}))


def test_mst_keys_must_be_repository_paths(key) -> None:
    repo = Repo.from_car(build_repo(key, {**RECORDS, "no-slash": {"text": "x"}}))
    with pytest.raises(RepoError, match="MST key 'no-slash' is not a repository path"):
        _ = repo.records


def test_libipld_reads_our_cars_alike(key) -> None:
    data = build_repo(key, RECORDS)
    car = parse_car(data)
    header, blocks = libipld.decode_car(data)
    assert header == {"version": 1, "roots": [root.encode() for root in car.roots]}
    assert set(blocks) == {cid.encode() for cid in car.blocks}
    for cid, raw in car.blocks.items():
        assert libipld.encode_dag_cbor(blocks[cid.encode()]) == raw
