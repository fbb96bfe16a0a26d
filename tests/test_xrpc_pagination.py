"""Cursor pagination: every page is read, and a service whose cursor does not advance fails instead of looping."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from atproto_bdd.errors import ServiceError
from atproto_bdd.protocol.xrpc import XrpcClient


class Pages(BaseHTTPRequestHandler):
    """``/xrpc/x.y.advancing`` has three pages; ``/xrpc/x.y.stuck`` answers cursor "1" forever."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        cursor = int(parse_qs(url.query).get("cursor", ["0"])[0])
        if url.path.endswith("advancing"):
            page = {"items": [cursor], "cursor": str(cursor + 1)} if cursor < 3 else {"items": []}
        else:
            page = {"items": [cursor], "cursor": "1"}
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def client() -> Iterator[XrpcClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = XrpcClient(f"http://127.0.0.1:{server.server_address[1]}", name="the app pages", timeout=5)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_every_page_is_read(client: XrpcClient) -> None:
    assert list(client.paginate("x.y.advancing", items="items")) == [0, 1, 2]


def test_a_cursor_that_does_not_advance_fails_instead_of_asking_forever(client: XrpcClient) -> None:
    again = r"the app pages answered x.y.stuck with the cursor '1' again \(after 2 pages\)"
    with pytest.raises(ServiceError, match=again):
        list(client.paginate("x.y.stuck", items="items"))
