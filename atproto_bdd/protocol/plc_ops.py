"""Creating and updating a did:plc: a secp256k1 signing key, signed genesis and update operations.

An app under test (a feed generator, a labeler) needs an identity of its own
in the network's PLC directory. :class:`SigningKey` is a private secp256k1
("K-256") key that signs the low-S compact signatures atproto requires;
:func:`genesis_operation` builds and signs the first operation of a DID and
computes the DID from it (``did:plc:`` + the first 24 characters of the
base32 SHA-256 of the signed operation, as the PLC spec defines);
:func:`update_operation` signs a later operation that points at the one
before it (``prev``: the CID of its DAG-CBOR).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from . import dagcbor
from .multiformats import CID, base32_encode, base58_encode, encode_varint

#: The secp256k1 curve order; signatures with s above half of it are not "low-S".
_K256_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_K256_MULTICODEC = 0xE7


@dataclass(frozen=True)
class SigningKey:
    """A secp256k1 private key."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(ec.generate_private_key(ec.SECP256K1()))

    @classmethod
    def from_hex(cls, text: str) -> SigningKey:
        """The key whose 32-byte private scalar is ``text`` in hex."""
        return cls(ec.derive_private_key(int(text, 16), ec.SECP256K1()))

    @property
    def hex(self) -> str:
        """The private scalar as 64 hex digits (what ``${app.NAME.signing_key}`` gives an app)."""
        return f"{self.key.private_numbers().private_value:064x}"

    @property
    def did_key(self) -> str:
        """The public key as a ``did:key`` (multicodec secp256k1-pub, compressed point, base58btc)."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        return "did:key:z" + base58_encode(encode_varint(_K256_MULTICODEC) + point)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte compact low-S ECDSA signature of SHA-256(``message``)."""
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        if s > _K256_ORDER // 2:
            s = _K256_ORDER - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def genesis_operation(
    *,
    rotation_keys: Sequence[str],
    verification_methods: Mapping[str, str],
    services: Mapping[str, Mapping[str, str]],
    also_known_as: Sequence[str] = (),
    signer: SigningKey,
) -> tuple[str, dict[str, Any]]:
    """The DID and the signed genesis operation for it (``signer`` must hold one of ``rotation_keys``)."""
    unsigned: dict[str, Any] = {
        "type": "plc_operation",
        "rotationKeys": list(rotation_keys),
        "verificationMethods": dict(verification_methods),
        "alsoKnownAs": list(also_known_as),
        "services": {name: dict(service) for name, service in services.items()},
        "prev": None,
    }
    signature = signer.sign(dagcbor.encode(unsigned))
    signed = {**unsigned, "sig": base64.urlsafe_b64encode(signature).decode().rstrip("=")}
    digest = hashlib.sha256(dagcbor.encode(signed)).digest()
    return "did:plc:" + base32_encode(digest)[:24], signed


def update_operation(
    prev: Mapping[str, Any],
    *,
    rotation_keys: Sequence[str],
    verification_methods: Mapping[str, str],
    services: Mapping[str, Mapping[str, str]],
    also_known_as: Sequence[str] = (),
    signer: SigningKey,
) -> dict[str, Any]:
    """An operation that replaces the DID document ``prev`` (the DID's latest signed operation) made.

    ``signer`` must hold one of ``prev``'s rotation keys.
    """
    unsigned: dict[str, Any] = {
        "type": "plc_operation",
        "rotationKeys": list(rotation_keys),
        "verificationMethods": dict(verification_methods),
        "alsoKnownAs": list(also_known_as),
        "services": {name: dict(service) for name, service in services.items()},
        "prev": str(CID.compute(dagcbor.encode(dict(prev)))),
    }
    signature = signer.sign(dagcbor.encode(unsigned))
    return {**unsigned, "sig": base64.urlsafe_b64encode(signature).decode().rstrip("=")}
