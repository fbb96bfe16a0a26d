"""A ping/pong bot for features/bots.feature: it acts as its own account, as bots do.

It signs in with its handle and app password (``${app.pingbot.handle}``,
``${app.pingbot.app_password}``), reads its PDS's firehose, and answers a
post that mentions it (a ``#mention`` facet with its DID) and says "ping"
with a reply "pong" (root and parent refs as clients set them) and a like;
"follow me" gets a follow. When its firehose connection breaks, it
subscribes again from the last event it handled (features/faults.feature). ``GET /cursor`` is the sequence number of the
last event it has fully handled, so "does not reply" can be proved. The
firehose is decoded with atproto-bdd's own protocol layer (layer 1 needs
none of the others); XRPC calls are plain HTTP.
"""

import json
import os
import re
import signal
import threading
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from websockets.sync.client import connect

from atproto_bdd.protocol.firehose import decode_frame

PORT = int(os.environ["PORT"])
PDS = os.environ["PDS_URL"].rstrip("/")
cursor = 0


def xrpc(nsid: str, body: dict | None = None, token: str = "") -> dict:
    """A procedure (with ``body``) or a query on the PDS; the decoded answer."""
    request = urllib.request.Request(
        f"{PDS}/xrpc/{nsid}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


session = xrpc(
    "com.atproto.server.createSession", {"identifier": os.environ["BOT_HANDLE"], "password": os.environ["BOT_PASSWORD"]}
)
ME, TOKEN = session["did"], session["accessJwt"]


def write(collection: str, record: dict) -> None:
    """Create a record; while the PDS cannot be reached (a fault), try again for up to 10 s."""
    record = {"$type": collection, "createdAt": datetime.now(timezone.utc).isoformat(), **record}
    deadline = time.monotonic() + 10
    while True:
        try:
            xrpc("com.atproto.repo.createRecord", {"repo": ME, "collection": collection, "record": record}, TOKEN)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def mentions_me(post: dict) -> bool:
    features = [feature for facet in post.get("facets") or [] for feature in facet.get("features") or []]
    return any(f.get("$type") == "app.bsky.richtext.facet#mention" and f.get("did") == ME for f in features)


def handle(event) -> None:
    """Answer the posts of one commit that mention the bot."""
    if event.type != "commit" or event.did == ME:
        return
    for op in event.ops:
        if op.action != "create" or op.collection != "app.bsky.feed.post":
            continue
        post = event.blocks.decode(op.cid)
        if not mentions_me(post):
            continue
        parent = {"uri": f"at://{event.did}/{op.path}", "cid": str(op.cid)}
        words = re.sub(r"@\S+", " ", post.get("text", "")).lower().split()  # what it says, not whom it names
        if "ping" in words:
            root = (post.get("reply") or {}).get("root") or parent
            write("app.bsky.feed.post", {"text": "pong", "reply": {"root": root, "parent": parent}})
            write("app.bsky.feed.like", {"subject": parent})
            print(f"pong to {parent['uri']}", flush=True)
        if " ".join(words).endswith("follow me"):
            write("app.bsky.graph.follow", {"subject": event.did})
            print(f"followed {event.did}", flush=True)


def subscribe():
    """A firehose subscription: from the last event handled when there is one (a reconnect loses nothing)."""
    url = PDS.replace("http", "ws", 1) + "/xrpc/com.atproto.sync.subscribeRepos"
    resume = cursor and os.environ.get("RESUME", "yes") == "yes"  # RESUME=no: the bug tests/test_faults.py shows
    return connect(url + (f"?cursor={cursor}" if resume else ""), max_size=None, open_timeout=5)


def read_firehose(stream) -> None:
    global cursor
    while True:
        try:
            for frame in stream:
                event = decode_frame(frame)
                handle(event)
                cursor = event.seq or cursor  # handled, replies written: what /cursor may say
        except Exception as exc:  # the connection broke (a fault, a restart): again, from the cursor
            print(f"firehose lost ({type(exc).__name__}); resuming from {cursor}", flush=True)
        while True:
            time.sleep(0.1)
            try:
                stream = subscribe()
                break
            except Exception:  # not reachable yet
                continue


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        data = json.dumps({"cursor": cursor} if self.path == "/cursor" else {"ok": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
# Subscribed before it says it is ready: a post made right after the start is seen.
threading.Thread(target=read_firehose, args=(subscribe(),), daemon=True).start()
print(f"pingbot listening on {PORT} as {os.environ['BOT_HANDLE']} ({ME})", flush=True)
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
