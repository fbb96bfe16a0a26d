"""whats-alf: a small feed generator, the app under test of this example.

It does what the official TypeScript feed-generator starter does, in Python:

* it reads a PDS's (or relay's) firehose, ``com.atproto.sync.subscribeRepos``,
  from its saved cursor, and indexes every post whose text mentions "alf";
* it serves ``app.bsky.feed.describeFeedGenerator`` and
  ``app.bsky.feed.getFeedSkeleton`` for the feed
  ``at://<publisher>/app.bsky.feed.generator/whats-alf``: newest first,
  without the viewer's own posts. A request with a service-auth JWT is
  verified against the signing key in the viewer's DID document (from the
  PLC directory); an invalid token is refused with 401;
* it answers ``GET /cursor`` with the firehose sequence number it has
  indexed, so tests can tell when it has caught up.

Everything is configured through the environment (see ``atproto-bdd.toml``):
FEEDGEN_PORT, FEEDGEN_SUBSCRIPTION_ENDPOINT, FEEDGEN_PUBLISHER_DID,
FEEDGEN_SERVICE_DID, FEEDGEN_PLC_URL, FEEDGEN_DB. It needs httpx, websockets,
cbor2 and cryptography.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import cbor2
import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

PORT = int(os.environ["FEEDGEN_PORT"])
FIREHOSE = os.environ["FEEDGEN_SUBSCRIPTION_ENDPOINT"].rstrip("/")
PUBLISHER = os.environ["FEEDGEN_PUBLISHER_DID"]
SERVICE_DID = os.environ["FEEDGEN_SERVICE_DID"]
PLC_URL = os.environ["FEEDGEN_PLC_URL"].rstrip("/")
DB_PATH = os.environ.get("FEEDGEN_DB", "feedgen.sqlite")
FEED_URI = f"at://{PUBLISHER}/app.bsky.feed.generator/whats-alf"
POST = "app.bsky.feed.post"
SKELETON = "app.bsky.feed.getFeedSkeleton"


# -- storage ---------------------------------------------------------------------------


class Index:
    """The posts the feed shows and the firehose cursor, in SQLite (kept across restarts)."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        self.db.execute("create table if not exists post (uri text primary key, author text, indexed_at real)")
        self.db.execute("create table if not exists cursor (id integer primary key check (id = 1), seq integer)")

    def cursor(self) -> int:
        with self.lock:
            row = self.db.execute("select seq from cursor where id = 1").fetchone()
        return row[0] if row else 0

    def apply(self, seq: int, added: list[tuple[str, str]], removed: list[str]) -> None:
        """One firehose event: its posts in and out, and the cursor, in one transaction."""
        with self.lock:
            self.db.execute("begin")
            for uri, author in added:
                self.db.execute("insert or ignore into post values (?, ?, ?)", (uri, author, time.time()))
            for uri in removed:
                self.db.execute("delete from post where uri = ?", (uri,))
            self.db.execute("insert or replace into cursor values (1, ?)", (seq,))
            self.db.execute("commit")

    def page(self, viewer: str | None, limit: int, offset: int) -> list[str]:
        with self.lock:
            rows = self.db.execute(
                "select uri from post where author != ? order by indexed_at desc, uri limit ? offset ?",
                (viewer or "", limit, offset),
            ).fetchall()
        return [row[0] for row in rows]


INDEX = Index(DB_PATH)


# -- the firehose ----------------------------------------------------------------------


def read_car(data: bytes) -> dict[bytes, bytes]:
    """The blocks of a CAR file, by their CID's bytes."""
    stream = io.BytesIO(data)
    header_length = read_varint(stream)
    stream.read(header_length)
    blocks = {}
    while stream.tell() < len(data):
        length = read_varint(stream)
        start = stream.tell()
        for _ in range(3):  # CIDv1: version, codec, hash function; then the digest's size and the digest
            read_varint(stream)
        stream.read(read_varint(stream))
        cid_size = stream.tell() - start
        stream.seek(start)
        cid = stream.read(cid_size)
        blocks[cid] = stream.read(length - cid_size)
    return blocks


def read_varint(stream: io.BytesIO) -> int:
    value, shift = 0, 0
    while True:
        byte = stream.read(1)[0]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7


def handle_commit(body: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """The posts about alf a commit creates, and the posts it deletes."""
    added, removed = [], []
    repo = body["repo"]
    blocks = read_car(body.get("blocks") or b"") if body.get("ops") else {}
    for op in body.get("ops") or []:
        collection = op["path"].split("/")[0]
        if collection != POST:
            continue
        uri = f"at://{repo}/{op['path']}"
        if op["action"] == "delete":
            removed.append(uri)
        elif op["action"] == "create" and op.get("cid") is not None:
            record = cbor2.loads(blocks[op["cid"].value[1:]])  # a CID tag holds 0x00 + the CID's bytes
            if "alf" in str(record.get("text", "")).lower():
                added.append((uri, repo))
                print(f"indexed {uri}", flush=True)
    return added, removed


def follow_firehose() -> None:
    """Read the firehose from the saved cursor for ever, reconnecting when the stream ends."""
    while True:
        url = f"{FIREHOSE}/xrpc/com.atproto.sync.subscribeRepos?cursor={INDEX.cursor()}"
        try:
            with connect(url, max_size=None, open_timeout=10) as socket:
                print(f"subscribed to {url}", flush=True)
                for message in socket:
                    decoder = cbor2.CBORDecoder(io.BytesIO(message))
                    header, body = decoder.decode(), decoder.decode()
                    if header.get("op") != 1 or not isinstance(body.get("seq"), int):
                        continue
                    added, removed = handle_commit(body) if header.get("t") == "#commit" else ([], [])
                    INDEX.apply(body["seq"], added, removed)
        except (OSError, ConnectionClosed) as exc:
            print(f"firehose: {exc}; reconnecting", flush=True)
        time.sleep(0.5)


# -- service auth ----------------------------------------------------------------------


class Unauthorized(Exception):
    pass


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def base58(text: str) -> bytes:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number = 0
    for char in text:
        number = number * 58 + alphabet.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def signing_key(did: str) -> ec.EllipticCurvePublicKey:
    """The #atproto key of ``did``'s document in the PLC directory."""
    document = httpx.get(f"{PLC_URL}/{did}", timeout=5).raise_for_status().json()
    for method in document.get("verificationMethod", []):
        if method["id"] in ("#atproto", f"{did}#atproto"):
            raw = base58(method["publicKeyMultibase"][1:])
            if method["type"] == "Multikey":  # multicodec prefix, then the compressed point
                curve, point = {b"\xe7\x01": ec.SECP256K1(), b"\x80\x24": ec.SECP256R1()}[raw[:2]], raw[2:]
            else:  # older PLC directories: the curve is in the type's name, the point is bare
                curve = ec.SECP256K1() if "Secp256k1" in method["type"] else ec.SECP256R1()
                point = raw
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    raise Unauthorized(f"{did} has no #atproto key")


def viewer_of(authorization: str) -> str | None:
    """The DID a service-auth JWT speaks for (None without one); Unauthorized if it is not valid for us."""
    if not authorization:
        return None
    if not authorization.startswith("Bearer "):
        raise Unauthorized("expected a Bearer token")
    try:
        header_b64, payload_b64, signature_b64 = authorization.removeprefix("Bearer ").split(".")
        claims = json.loads(b64url(payload_b64))
        signature = b64url(signature_b64)
    except ValueError as exc:
        raise Unauthorized(f"malformed token: {exc}") from None
    if claims.get("aud") != SERVICE_DID:
        raise Unauthorized(f"the token is for {claims.get('aud')}, not {SERVICE_DID}")
    if claims.get("lxm") not in (None, SKELETON):
        raise Unauthorized(f"the token is for {claims.get('lxm')}")
    if claims.get("exp", 0) < time.time():
        raise Unauthorized("the token has expired")
    issuer = str(claims.get("iss", "")).split("#")[0]
    key = signing_key(issuer)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Unauthorized("bad signature") from None
    return issuer


# -- HTTP ------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        url = urlsplit(self.path)
        params = {name: values[0] for name, values in parse_qs(url.query).items()}
        if url.path == "/cursor":
            return self.reply(200, {"cursor": INDEX.cursor()})
        if url.path == "/.well-known/did.json":
            service = {"id": "#bsky_fg", "type": "BskyFeedGenerator", "serviceEndpoint": f"http://127.0.0.1:{PORT}"}
            document = {"@context": ["https://www.w3.org/ns/did/v1"], "id": SERVICE_DID, "service": [service]}
            return self.reply(200, document)
        if url.path == "/xrpc/app.bsky.feed.describeFeedGenerator":
            return self.reply(200, {"did": SERVICE_DID, "feeds": [{"uri": FEED_URI}]})
        if url.path == f"/xrpc/{SKELETON}":
            return self.skeleton(params)
        return self.reply(404, {"error": "NotFound", "message": url.path})

    def skeleton(self, params: dict[str, str]) -> None:
        if params.get("feed") != FEED_URI:
            return self.reply(400, {"error": "UnsupportedAlgorithm", "message": f"unknown feed {params.get('feed')}"})
        try:
            viewer = viewer_of(self.headers.get("authorization", ""))
        except Unauthorized as exc:
            return self.reply(401, {"error": "AuthenticationRequired", "message": str(exc)})
        try:
            limit = min(max(int(params.get("limit", 50)), 1), 100)
            offset = int(params.get("cursor", 0))
        except ValueError:
            return self.reply(400, {"error": "InvalidRequest", "message": "limit and cursor are numbers"})
        uris = INDEX.page(viewer, limit, offset)
        body: dict = {"feed": [{"post": uri} for uri in uris]}
        if len(uris) == limit:
            body["cursor"] = str(offset + limit)
        return self.reply(200, body)

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's API
        pass  # one line per request would drown the log the tests read


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=follow_firehose, name="firehose", daemon=True).start()
    print(f"whats-alf listening on 127.0.0.1:{PORT} as {SERVICE_DID} (cursor {INDEX.cursor()})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
