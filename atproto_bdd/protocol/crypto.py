"""atproto signing keys: did:key / multibase decoding and signature checks.

Supports the two curves atproto uses: secp256k1 ("K-256", ES256K) and NIST
P-256 (ES256). Signatures are the 64-byte compact ``r || s`` form and must be
"low-S", as the atproto cryptography spec requires.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..errors import AtprotoBddError
from .multiformats import MultiformatError, decode_varint, multibase_decode

#: multicodec code -> (curve, JWT algorithm, curve order)
_CURVES: dict[int, tuple[ec.EllipticCurve, str, int]] = {
    0xE7: (ec.SECP256K1(), "ES256K", 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141),
    0x1200: (ec.SECP256R1(), "ES256", 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
}


_LEGACY_SUITES = {"EcdsaSecp256k1VerificationKey2019": 0xE7, "EcdsaSecp256r1VerificationKey2019": 0x1200}


class CryptoError(AtprotoBddError):
    """A key that cannot be decoded (unknown curve, bad encoding)."""


@dataclass(frozen=True)
class PublicKey:
    """An atproto public key on K-256 or P-256."""

    algorithm: str
    key: ec.EllipticCurvePublicKey
    order: int

    @classmethod
    def from_multibase(cls, text: str) -> PublicKey:
        """Decode ``z...`` multikey (multicodec-prefixed compressed point), as in DID documents."""
        try:
            raw = multibase_decode(text)
            code, offset = decode_varint(raw)
        except MultiformatError as exc:
            raise CryptoError(f"{text[:20]!r} is not a multibase public key: {exc}") from None
        if code not in _CURVES:
            raise CryptoError(f"unsupported key type (multicodec 0x{code:x}); atproto uses K-256 and P-256")
        curve, algorithm, order = _CURVES[code]
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, raw[offset:])
        except ValueError as exc:
            raise CryptoError(f"invalid {algorithm} public key: {exc}") from None
        return cls(algorithm, key, order)

    @classmethod
    def from_verification_method(cls, method_type: str, multibase: str) -> PublicKey:
        """Decode a DID document's verification method.

        ``Multikey`` carries a multicodec prefix; the legacy suites (still served
        by older PLC directories) carry the bare curve point.
        """
        if method_type == "Multikey":
            return cls.from_multibase(multibase)
        curve_code = _LEGACY_SUITES.get(method_type)
        if curve_code is None:
            known = ", ".join(["Multikey", *_LEGACY_SUITES])
            raise CryptoError(f"unsupported verification method type {method_type!r}; known: {known}")
        curve, algorithm, order = _CURVES[curve_code]
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, multibase_decode(multibase))
        except (ValueError, MultiformatError) as exc:
            raise CryptoError(f"invalid {algorithm} public key: {exc}") from None
        return cls(algorithm, key, order)

    @classmethod
    def from_did_key(cls, did: str) -> PublicKey:
        """Decode a ``did:key:z...`` identifier."""
        if not did.startswith("did:key:"):
            raise CryptoError(f"{did[:24]!r} is not a did:key")
        return cls.from_multibase(did[len("did:key:") :])

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if ``signature`` (64-byte compact, low-S) signs sha256(``message``)."""
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < self.order and 0 < s <= self.order // 2):  # high-S is malleable: refused
            return False
        try:
            self.key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True
