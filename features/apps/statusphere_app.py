"""A Statusphere-like app fed by Tap's webhook, for features/tap_webhook.feature (Python standard library only).

The official Statusphere example reads the network through Tap in webhook
mode: Tap POSTs every event of the accounts that write an
``xyz.statusphere.status`` record to ``/api/webhook``, with basic auth
``admin:TAP_ADMIN_PASSWORD``, and the app asks Tap (``TAP_URL``) to resolve
DIDs it has no handle for. This app does the same and logs what a person
would see: ``@alice.test set their status to 👍``. It serves the statuses it
saw, newest first, as ``xyz.statusphere.getStatuses`` (``lexicons/``).
"""

import base64
import json
import os
import signal
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ["PORT"])
TAP_URL = os.environ["TAP_URL"]
PASSWORD = os.environ["TAP_ADMIN_PASSWORD"]
EXPECTED = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
handles: dict[str, str] = {}  # DID -> handle, from Tap's identity events
statuses: list[dict] = []  # xyz.statusphere.getStatuses#statusView, newest first


def handle_of(did: str) -> str:
    """The handle Tap told us, else the one Tap's /resolve/<did> document claims."""
    if did not in handles:
        request = urllib.request.Request(f"{TAP_URL}/resolve/{did}", headers={"authorization": EXPECTED})
        with urllib.request.urlopen(request, timeout=5) as response:
            document = json.load(response)
        claimed = [aka[len("at://") :] for aka in document.get("alsoKnownAs", []) if aka.startswith("at://")]
        handles[did] = claimed[0] if claimed else did
    return handles[did]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/xrpc/xyz.statusphere.getStatuses":
            limit = int(urllib.parse.parse_qs(url.query).get("limit", ["50"])[0])
            return self.answer(200, {"statuses": statuses[:limit]})
        self.answer(200 if self.path == "/health" else 404, {"ok": self.path == "/health"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if self.path != "/api/webhook":
            return self.answer(404, {"error": "NotFound"})
        if self.headers.get("authorization") != EXPECTED:
            print("webhook refused: wrong basic auth", flush=True)
            return self.answer(401, {"error": "Unauthorized"})
        event = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        if event.get("type") == "identity":
            identity = event["identity"]
            handles[identity["did"]] = identity["handle"]
            print(f"identity {identity['did']} is @{identity['handle']}", flush=True)
        elif event.get("type") == "record":
            record = event["record"]
            if record["action"] == "create" and record["collection"] == "xyz.statusphere.status":
                status = record["record"]["status"]
                uri = f"at://{record['did']}/{record['collection']}/{record['rkey']}"
                created = record["record"]["createdAt"]
                statuses.insert(0, {"uri": uri, "author": record["did"], "status": status, "createdAt": created})
                print(f"@{handle_of(record['did'])} set their status to {status}", flush=True)
        self.answer(200, {"ok": True})

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"statusphere listening on {PORT}", flush=True)
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
