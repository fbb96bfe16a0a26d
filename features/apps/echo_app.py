"""A tiny app under test for features/apps.feature: an HTTP/XRPC service in the standard library only.

It binds the port atproto-bdd gives it (PORT), serves its DID document, and
answers app.bsky.feed.getFeedSkeleton only with a service-auth JWT whose
audience is its own DID and whose method is that query: the cursor tells who
asked. It prints what it was configured with, so steps can check its log.
"""

import base64
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORT = int(os.environ["PORT"])
DID = os.environ.get("APP_DID", "")
SKELETON = "app.bsky.feed.getFeedSkeleton"


def claims(header: str) -> dict:
    """The payload of a Bearer JWT (the signature is the PDS's; this fixture only reads the claims)."""
    token = header.removeprefix("Bearer ").strip()
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        path = urlsplit(self.path).path
        if path == "/.well-known/did.json":
            return self.reply(
                200, {"id": DID, "service": [{"id": "#bsky_fg", "serviceEndpoint": f"http://127.0.0.1:{PORT}"}]}
            )
        if path == f"/xrpc/{SKELETON}":
            auth = self.headers.get("authorization", "")
            if not auth.startswith("Bearer "):
                return self.reply(401, {"error": "AuthRequired", "message": "service auth is required"})
            seen = claims(auth)
            if seen.get("aud") != DID or seen.get("lxm") != SKELETON:
                return self.reply(401, {"error": "BadJwt", "message": f"aud {seen.get('aud')} lxm {seen.get('lxm')}"})
            print(f"skeleton for {seen.get('iss')}", flush=True)
            return self.reply(200, {"feed": [], "cursor": seen.get("iss")})
        return self.reply(404, {"error": "NotFound", "message": path})

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's API
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on 127.0.0.1:{PORT} as {DID}", flush=True)
    print(f"firehose {os.environ.get('PDS_WS', '-')}", flush=True)
    if os.environ.get("GREETING"):
        print(os.environ["GREETING"], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
