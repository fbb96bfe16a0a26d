"""no-spam: a small labeler, the app under test of this example.

It reads a PDS's (or relay's) firehose from its saved cursor and labels:

* every post whose text mentions "spam" with ``spam`` (the label names the
  record's CID);
* every account with two or more such posts with ``spam``;
* and withdraws those labels (a negation, ``neg: true``) when the posts are
  deleted.

Labels are signed with the labeler's secp256k1 key (the ``#atproto_label``
key of its DID document) over their DAG-CBOR encoding without ``sig``, and
served as a labeler serves them: ``com.atproto.label.queryLabels`` (JSON)
and ``com.atproto.label.subscribeLabels`` (a websocket of ``#labels``
frames, replayed from a cursor). ``GET /cursor`` answers the firehose
sequence number it has processed, so tests can tell when it has caught up.

Configured through the environment (see ``atproto-bdd.toml``):
LABELER_PORT, LABELER_DID, LABELER_SIGNING_KEY (hex), LABELER_FIREHOSE,
LABELER_DB. Needs websockets, cbor2 and cryptography; one asyncio loop does
everything.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import signal
import sqlite3
from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

PORT = int(os.environ["LABELER_PORT"])
DID = os.environ["LABELER_DID"]
KEY = ec.derive_private_key(int(os.environ["LABELER_SIGNING_KEY"], 16), ec.SECP256K1())
FIREHOSE = os.environ["LABELER_FIREHOSE"].rstrip("/")
DB_PATH = os.environ.get("LABELER_DB", "labeler.sqlite")
POST = "app.bsky.feed.post"
SPAM = "spam"
#: Posts about spam an account may make before the account itself is labelled.
ACCOUNT_THRESHOLD = 2
_K256_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# -- labels ----------------------------------------------------------------------------


def sign(label: dict) -> bytes:
    """The labeler's signature of ``label``: low-S ECDSA over SHA-256 of its DAG-CBOR encoding."""
    # cbor2's canonical mode orders map keys as DAG-CBOR does (shorter first, then bytewise).
    r, s = decode_dss_signature(KEY.sign(cbor2.dumps(label, canonical=True), ec.ECDSA(hashes.SHA256())))
    s = min(s, _K256_ORDER - s)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    """Labels (numbered: the stream's sequence), spam posts, and the firehose cursor, in SQLite."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(
            """
            create table if not exists label (seq integer primary key autoincrement, body blob not null);
            create table if not exists spam_post (uri text primary key, author text not null);
            create table if not exists cursor (id integer primary key check (id = 1), seq integer);
            """
        )

    def cursor(self) -> int:
        row = self.db.execute("select seq from cursor where id = 1").fetchone()
        return row[0] if row else 0

    def labels(self, after: int = 0, limit: int = -1) -> list[tuple[int, dict]]:
        rows = self.db.execute("select seq, body from label where seq > ? order by seq limit ?", (after, limit))
        return [(seq, cbor2.loads(body)) for seq, body in rows]

    def head(self) -> int:
        return self.db.execute("select coalesce(max(seq), 0) from label").fetchone()[0]

    def active(self, uri: str) -> bool:
        """Whether the latest spam label on ``uri`` is in force."""
        row = self.db.execute("select body from label order by seq desc").fetchall()
        for (body,) in row:
            label = cbor2.loads(body)
            if label["uri"] == uri and label["val"] == SPAM:
                return not label.get("neg", False)
        return False


STORE = Store(DB_PATH)
SUBSCRIBERS: set[asyncio.Queue] = set()


def issue(db_changes: list[tuple[str, tuple]], uri: str, cid: str | None = None, neg: bool = False) -> tuple[int, dict]:
    """Sign and store a label (with ``db_changes`` in the same transaction); tell the subscribers."""
    label = {"ver": 1, "src": DID, "uri": uri, "val": SPAM, "cts": now()}
    if cid:
        label["cid"] = cid
    if neg:
        label["neg"] = True
    label["sig"] = sign(label)
    STORE.db.execute("begin")
    for statement, parameters in db_changes:
        STORE.db.execute(statement, parameters)
    seq = STORE.db.execute("insert into label (body) values (?)", (cbor2.dumps(label),)).lastrowid
    STORE.db.execute("commit")
    for queue in SUBSCRIBERS:
        queue.put_nowait((seq, label))
    print(f"{'withdrew' if neg else 'labelled'} {uri} {SPAM} (#{seq})", flush=True)
    return seq, label


def spam_count(author: str) -> int:
    return STORE.db.execute("select count(*) from spam_post where author = ?", (author,)).fetchone()[0]


def handle_commit(body: dict) -> None:
    """Label what a commit adds, withdraw what it deletes; then move the cursor."""
    repo = body["repo"]
    blocks = read_car(body.get("blocks") or b"")
    for op in body.get("ops") or []:
        if op["path"].split("/")[0] != POST:
            continue
        uri = f"at://{repo}/{op['path']}"
        if op["action"] == "create" and op.get("cid") is not None:
            cid_bytes = op["cid"].value[1:]  # a CID tag holds 0x00 + the CID's bytes
            record = cbor2.loads(blocks[cid_bytes])
            if SPAM in str(record.get("text", "")).lower():
                issue([("insert or ignore into spam_post values (?, ?)", (uri, repo))], uri, cid=cid_string(cid_bytes))
                if spam_count(repo) >= ACCOUNT_THRESHOLD and not STORE.active(repo):
                    issue([], repo)
        elif op["action"] == "delete" and STORE.active(uri):
            issue([("delete from spam_post where uri = ?", (uri,))], uri, neg=True)
            if spam_count(repo) < ACCOUNT_THRESHOLD and STORE.active(repo):
                issue([], repo, neg=True)
    STORE.db.execute("insert or replace into cursor values (1, ?)", (body["seq"],))


def cid_string(cid: bytes) -> str:
    return "b" + base64.b32encode(cid).decode().lower().rstrip("=")


def read_car(data: bytes) -> dict[bytes, bytes]:
    """The blocks of a CAR file, by their CID's bytes."""
    stream = io.BytesIO(data)
    if not data:
        return {}
    stream.read(read_varint(stream))  # the header
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


async def follow_firehose() -> None:
    """Read the firehose from the saved cursor for ever, reconnecting when the stream ends."""
    while True:
        url = f"{FIREHOSE}/xrpc/com.atproto.sync.subscribeRepos?cursor={STORE.cursor()}"
        try:
            async with connect(url, max_size=None, open_timeout=10) as socket:
                print(f"subscribed to {url}", flush=True)
                async for message in socket:
                    decoder = cbor2.CBORDecoder(io.BytesIO(message))
                    header, body = decoder.decode(), decoder.decode()
                    if header.get("op") != 1 or not isinstance(body.get("seq"), int):
                        continue
                    if header.get("t") == "#commit":
                        handle_commit(body)
                    else:
                        STORE.db.execute("insert or replace into cursor values (1, ?)", (body["seq"],))
        except (OSError, ConnectionClosed) as exc:
            print(f"firehose: {exc}; reconnecting", flush=True)
        await asyncio.sleep(0.5)


# -- serving labels --------------------------------------------------------------------


def as_json(label: dict) -> dict:
    return {**label, "sig": {"$bytes": base64.b64encode(label["sig"]).decode().rstrip("=")}}


def query_labels(params: dict[str, list[str]]) -> tuple[int, dict]:
    patterns = params.get("uriPatterns") or []
    if not patterns:
        return 400, {"error": "InvalidRequest", "message": "uriPatterns is required"}
    sources = params.get("sources") or []
    try:
        limit = min(max(int(params.get("limit", ["50"])[0]), 1), 250)
        after = int(params.get("cursor", ["0"])[0])
    except ValueError:
        return 400, {"error": "InvalidRequest", "message": "limit and cursor are numbers"}

    def wanted(label: dict) -> bool:
        if sources and label["src"] not in sources:
            return False
        return any(label["uri"].startswith(p[:-1]) if p.endswith("*") else label["uri"] == p for p in patterns)

    found, last = [], after
    for seq, label in STORE.labels(after):
        last = seq
        if wanted(label):
            found.append(as_json(label))
            if len(found) == limit:
                break
    body: dict = {"labels": found}
    if len(found) == limit:
        body["cursor"] = str(last)
    return 200, body


def http_answer(connection: ServerConnection, request: Request) -> Response | None:
    """Plain HTTP requests; None lets the websocket handshake of subscribeLabels go on."""
    url = urlsplit(request.path)
    params = parse_qs(url.query)
    if url.path == "/xrpc/com.atproto.label.subscribeLabels":
        return None
    if url.path == "/xrpc/com.atproto.label.queryLabels":
        status, body = query_labels(params)
    elif url.path == "/cursor":
        status, body = 200, {"cursor": STORE.cursor()}
    elif url.path == "/xrpc/_health":
        status, body = 200, {"version": "no-spam 1"}
    else:
        status, body = 404, {"error": "NotFound", "message": url.path}
    data = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, HTTPStatus(status).phrase, headers, data)


def frame(kind: str, body: dict) -> bytes:
    op = -1 if kind == "error" else 1
    header = {"op": op} if op == -1 else {"op": 1, "t": f"#{kind}"}
    return cbor2.dumps(header, canonical=True) + cbor2.dumps(body, canonical=True)


async def subscribe_labels(connection: ServerConnection) -> None:
    """Replay the labels after the cursor, then send new ones as they are made."""
    query = parse_qs(urlsplit(connection.request.path).query)
    cursor = int(query.get("cursor", ["0"])[0] or 0)
    if cursor > STORE.head():
        await connection.send(frame("error", {"error": "FutureCursor", "message": "cursor is ahead of the stream"}))
        return
    queue: asyncio.Queue = asyncio.Queue()
    SUBSCRIBERS.add(queue)  # before the replay: a label made meanwhile is queued, not lost
    try:
        sent = cursor
        for seq, label in STORE.labels(cursor):
            await connection.send(frame("labels", {"seq": seq, "labels": [label]}))
            sent = seq
        closed = asyncio.create_task(connection.wait_closed())
        while True:
            # Wait for a new label or the subscriber leaving, whichever comes first: a handler
            # blocked on the queue alone would outlive its connection and hold up shutdown.
            new = asyncio.create_task(queue.get())
            await asyncio.wait({new, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not new.done():
                new.cancel()
                return
            seq, label = new.result()
            if seq > sent:
                await connection.send(frame("labels", {"seq": seq, "labels": [label]}))
                sent = seq
    except ConnectionClosed:
        pass
    finally:
        SUBSCRIBERS.discard(queue)


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(subscribe_labels, "127.0.0.1", PORT, process_request=http_answer):
        print(f"no-spam listening on 127.0.0.1:{PORT} as {DID} (cursor {STORE.cursor()})", flush=True)
        firehose = asyncio.create_task(follow_firehose())
        await stop
        firehose.cancel()


if __name__ == "__main__":
    asyncio.run(main())
