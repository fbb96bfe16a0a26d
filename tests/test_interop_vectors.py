"""Our parsers against the public AT Protocol interop test vectors (CC0)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from atproto_bdd.protocol import dagcbor, syntax
from atproto_bdd.protocol.crypto import PublicKey
from atproto_bdd.protocol.mst import key_height
from atproto_bdd.protocol.multiformats import CID, base58_decode


def b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "kind,check",
    [("handle", syntax.is_handle), ("nsid", syntax.is_nsid), ("did", syntax.is_did), ("recordkey", syntax.is_rkey)],
)
def test_syntax_vectors(interop_testdata, kind, check) -> None:
    valid = lines(interop_testdata["syntax"] / f"{kind}_syntax_valid.txt")
    invalid = lines(interop_testdata["syntax"] / f"{kind}_syntax_invalid.txt")
    assert valid and invalid
    assert [v for v in valid if not check(v)] == []
    assert [v for v in invalid if check(v)] == []


def test_base32_cid_strings_round_trip(interop_testdata) -> None:
    valid = [v for v in lines(interop_testdata["syntax"] / "cid_syntax_valid.txt") if v.startswith("b")]
    assert valid
    assert [str(CID.parse(v)) for v in valid] == valid


def test_data_model_fixtures(interop_testdata) -> None:
    fixtures = json.loads((interop_testdata["data"] / "data-model-fixtures.json").read_text())
    assert fixtures
    for fixture in fixtures:
        cbor = b64(fixture["cbor_base64"])
        data = dagcbor.from_json(fixture["json"])
        assert dagcbor.encode(data) == cbor
        assert dagcbor.decode(cbor) == data
        assert dagcbor.to_json(dagcbor.decode(cbor)) == fixture["json"]
        assert str(CID.compute(cbor)) == fixture["cid"]


def test_signature_fixtures(interop_testdata) -> None:
    fixtures = json.loads((interop_testdata["crypto"] / "signature-fixtures.json").read_text())
    assert {f["validSignature"] for f in fixtures} == {True, False}
    for fixture in fixtures:
        message, signature = b64(fixture["messageBase64"]), b64(fixture["signatureBase64"])
        from_did = PublicKey.from_did_key(fixture["publicKeyDid"])
        legacy = PublicKey.from_verification_method(fixture["didDocSuite"], fixture["publicKeyMultibase"])
        assert from_did.algorithm == fixture["algorithm"] == legacy.algorithm
        assert from_did.verify(message, signature) is fixture["validSignature"], fixture["comment"]
        assert legacy.verify(message, signature) is fixture["validSignature"], fixture["comment"]


@pytest.mark.parametrize(
    "name,curve,private_key",
    [
        ("w3c_didkey_K256.json", ec.SECP256K1(), lambda f: bytes.fromhex(f["privateKeyBytesHex"])),
        ("w3c_didkey_P256.json", ec.SECP256R1(), lambda f: base58_decode(f["privateKeyBytesBase58"])),
    ],
)
def test_w3c_did_keys(interop_testdata, name, curve, private_key) -> None:
    fixtures = json.loads((interop_testdata["crypto"] / name).read_text())
    assert fixtures
    for fixture in fixtures:
        secret = ec.derive_private_key(int.from_bytes(private_key(fixture), "big"), curve)
        parsed = PublicKey.from_did_key(fixture["publicDidKey"])
        assert parsed.key.public_numbers() == secret.public_key().public_numbers()


@pytest.mark.parametrize(
    "key,height",
    # The examples of the repository spec (atproto.com/specs/repository, "Tree Structure").
    [("2653ae71", 0), ("blue", 1), ("app.bsky.feed.post/454397e440ec", 4), ("app.bsky.feed.post/9adeb165882c", 8)],
)
def test_mst_key_heights(key: str, height: int) -> None:
    assert key_height(key) == height
