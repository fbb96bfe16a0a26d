"""DPoP proofs and PKCE challenges (pure logic; the OAuth features use them against the PDS)."""

from __future__ import annotations

import base64
import hashlib
import re

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from atproto_bdd.protocol.dpop import DPoPKey, PKCEChallenge, token_hash
from atproto_bdd.protocol.oauth import _BrowserCookies, loopback_client_id


def decode(proof: str, key: DPoPKey) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(proof)
    claims = jwt.decode(proof, key.private_key.public_key(), algorithms=["ES256"])
    return header, claims


def test_proof_names_method_url_and_key() -> None:
    key = DPoPKey()
    header, claims = decode(key.proof("post", "http://localhost:1234/oauth/par?x=1#frag"), key)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256" and header["jwk"] == key.public_jwk
    assert claims["htm"] == "POST" and claims["htu"] == "http://localhost:1234/oauth/par"
    assert "nonce" not in claims and "ath" not in claims and claims["jti"]


def test_each_proof_has_a_fresh_jti() -> None:
    key = DPoPKey()
    jtis = {decode(key.proof("GET", "http://a/x"), key)[1]["jti"] for _ in range(5)}
    assert len(jtis) == 5


def test_nonces_are_kept_per_origin() -> None:
    key = DPoPKey()
    key.remember_nonce("http://localhost:1234/oauth/token", "n-1")
    assert decode(key.proof("GET", "http://localhost:1234/xrpc/x"), key)[1]["nonce"] == "n-1"
    assert "nonce" not in decode(key.proof("GET", "http://localhost:9999/xrpc/x"), key)[1]
    key.remember_nonce("http://localhost:1234/", None)  # a response without a nonce keeps the old one
    assert decode(key.proof("GET", "http://localhost:1234/"), key)[1]["nonce"] == "n-1"


def test_ath_is_the_hash_of_the_access_token() -> None:
    # The example of RFC 9449, section 4.3.
    assert token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    key = DPoPKey()
    assert decode(key.proof("GET", "http://a/x", access_token="tok"), key)[1]["ath"] == token_hash("tok")


def test_thumbprint_changes_with_the_key() -> None:
    assert DPoPKey().thumbprint != DPoPKey().thumbprint
    key = DPoPKey(private_key=ec.generate_private_key(ec.SECP256R1()))
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key.thumbprint)


def test_pkce_s256() -> None:
    pkce = PKCEChallenge.generate()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", pkce.verifier)
    expected = base64.urlsafe_b64encode(hashlib.sha256(pkce.verifier.encode()).digest()).rstrip(b"=").decode()
    assert (pkce.challenge, pkce.method) == (expected, "S256")
    assert PKCEChallenge.generate().verifier != pkce.verifier


def test_loopback_client_id_declares_redirect_and_scope() -> None:
    assert loopback_client_id() == (
        "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=atproto%20transition%3Ageneric"
    )


@pytest.mark.parametrize(
    "set_cookie,expected",
    [
        (["csrf-token=abc; Path=/; Secure", "dev-id=d1; HttpOnly"], {"csrf-token": "abc", "dev-id": "d1"}),
        (["dev-id=; Max-Age=0"], {}),
    ],
)
def test_browser_cookies_keep_secure_cookies_on_http(set_cookie, expected) -> None:
    import httpx

    cookies = _BrowserCookies()
    cookies.values = {"dev-id": "old"} if not expected else {}
    cookies.update(httpx.Response(200, headers=[("set-cookie", value) for value in set_cookie]))
    assert cookies.values == expected
