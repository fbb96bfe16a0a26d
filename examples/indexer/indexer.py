"""bookmarks: a small indexer for its own lexicon, the app under test of this example.

It reads the relay's firehose with the MarshalX SDK (``atproto`` on PyPI,
the version in requirements.txt), keeps every ``com.example.bookmark``
record in SQLite (creates, updates, deletes; records without a ``url`` are
skipped and logged), remembers the firehose cursor across restarts, and
serves two XRPC queries of its own lexicon (``lexicons/``):

* ``com.example.getBookmarks`` (``limit``, ``cursor``): newest first, paged;
* ``com.example.countBookmarks`` (``author``, optional);

and ``GET /cursor`` with the relay sequence number it has indexed, so tests
can tell when it has caught up. Configured through the environment:
INDEXER_PORT, INDEXER_FIREHOSE (the relay's ws:// URL), INDEXER_DB.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from atproto import CAR, FirehoseSubscribeReposClient, models, parse_subscribe_repos_message

PORT = int(os.environ["INDEXER_PORT"])
FIREHOSE = os.environ["INDEXER_FIREHOSE"].rstrip("/")
DB_PATH = os.environ.get("INDEXER_DB", "bookmarks.sqlite")
COLLECTION = "com.example.bookmark"


class Store:
    """Bookmarks and the firehose cursor, in SQLite (kept across restarts)."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        self.db.execute(
            "create table if not exists bookmark (uri text primary key, author text, url text, title text, "
            "created_at text)"
        )
        self.db.execute("create table if not exists cursor (id integer primary key check (id = 1), seq integer)")

    def cursor(self) -> int | None:
        with self.lock:
            row = self.db.execute("select seq from cursor where id = 1").fetchone()
        return row[0] if row else None

    def apply(self, seq: int, upserts: list[tuple], deletes: list[str]) -> None:
        """One firehose event: its bookmarks in and out, and the cursor, in one transaction."""
        with self.lock:
            self.db.execute("begin")
            for row in upserts:
                self.db.execute("insert or replace into bookmark values (?, ?, ?, ?, ?)", row)
            for uri in deletes:
                self.db.execute("delete from bookmark where uri = ?", (uri,))
            self.db.execute("insert or replace into cursor values (1, ?)", (seq,))
            self.db.execute("commit")

    def page(self, limit: int, offset: int) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "select uri, author, url, title, created_at from bookmark order by created_at desc, uri "
                "limit ? offset ?",
                (limit, offset),
            ).fetchall()
        return [
            {"uri": uri, "author": author, "url": url, **({"title": title} if title else {}), "createdAt": created}
            for uri, author, url, title, created in rows
        ]

    def count(self, author: str | None) -> int:
        with self.lock:
            if author:
                return self.db.execute("select count(*) from bookmark where author = ?", (author,)).fetchone()[0]
            return self.db.execute("select count(*) from bookmark").fetchone()[0]


STORE = Store(DB_PATH)


def follow_firehose() -> None:
    """Read the relay's firehose from the saved cursor; the SDK reconnects, resuming from the latest one."""
    cursor = STORE.cursor()
    client = FirehoseSubscribeReposClient(
        params={"cursor": cursor} if cursor is not None else None, base_uri=f"{FIREHOSE}/xrpc"
    )
    print(f"reading {FIREHOSE} from cursor {cursor}", flush=True)

    def on_message(message) -> None:
        event = parse_subscribe_repos_message(message)
        seq = getattr(event, "seq", None)
        if seq is None:
            return
        upserts, deletes = [], []
        if isinstance(event, models.ComAtprotoSyncSubscribeRepos.Commit) and event.blocks:
            blocks = CAR.from_bytes(event.blocks).blocks
            for op in event.ops:
                if not op.path.startswith(COLLECTION + "/"):
                    continue
                uri = f"at://{event.repo}/{op.path}"
                if op.action == "delete":
                    deletes.append(uri)
                    continue
                record = blocks.get(op.cid) or {}
                if not isinstance(record.get("url"), str):  # the lexicon requires it: not a bookmark we can show
                    print(f"skipped invalid record {uri}", flush=True)
                    continue
                created = record.get("createdAt") or datetime.now(timezone.utc).isoformat()
                upserts.append((uri, event.repo, record["url"], record.get("title"), created))
                print(f"indexed {uri}", flush=True)
        STORE.apply(seq, upserts, deletes)
        client.update_params({"cursor": seq})  # a reconnection resumes here, not from the first cursor

    client.start(on_message)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        url = urlsplit(self.path)
        params = {name: values[0] for name, values in parse_qs(url.query).items()}
        if url.path == "/cursor":
            return self.reply(200, {"cursor": STORE.cursor() or 0})
        if url.path == "/xrpc/com.example.getBookmarks":
            try:
                limit = min(max(int(params.get("limit", 50)), 1), 100)
                offset = int(params.get("cursor", 0))
            except ValueError:
                return self.reply(400, {"error": "InvalidRequest", "message": "limit and cursor are numbers"})
            bookmarks = STORE.page(limit, offset)
            body: dict = {"bookmarks": bookmarks}
            if len(bookmarks) == limit:
                body["cursor"] = str(offset + limit)
            return self.reply(200, body)
        if url.path == "/xrpc/com.example.countBookmarks":
            return self.reply(200, {"count": STORE.count(params.get("author"))})
        return self.reply(404, {"error": "NotFound", "message": url.path})

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's API
        pass


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=follow_firehose, name="firehose", daemon=True).start()
    print(f"bookmarks listening on 127.0.0.1:{PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
