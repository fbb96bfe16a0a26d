"""A feed generator whose feed changes at a moment it reports: the baseline of eventual steps.

``GET /arm?delay=S`` makes the feed show one post S seconds from now and
answers that moment on CLOCK_MONOTONIC (the same clock for every process on
Linux); ``getFeedSkeleton`` shows the post from then on. It checks no auth:
the benchmark measures how soon a step sees a change, not the generator.
"""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = int(os.environ["PORT"])
POST = os.environ.get("POST_URI", "at://did:plc:bench/app.bsky.feed.post/1")
visible_at = float("inf")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real generators behind a web server do
    disable_nagle_algorithm = True  # else headers and body in two writes wait for a delayed ACK (40 ms)

    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        global visible_at
        url = urlsplit(self.path)
        if url.path == "/arm":
            visible_at = time.monotonic() + float(parse_qs(url.query)["delay"][0])
            return self.reply({"visible_at": visible_at})
        shown = [{"post": POST}] if time.monotonic() >= visible_at else []
        return self.reply({"feed": shown})

    def reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
