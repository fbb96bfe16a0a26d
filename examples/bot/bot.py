"""pingbot: a small AT Protocol bot on the MarshalX ``atproto`` SDK.

It reads its PDS's firehose (com.atproto.sync.subscribeRepos) from the current
head and reacts to new posts that mention it:

* "ping" (any case) -> replies "pong" in the same thread and likes the ping;
* "follow me"       -> follows the author.

Everything else, its own posts included, is ignored. An HTTP server on
127.0.0.1:$PORT answers ``GET /`` ("ok" once the firehose is connected) and
``GET /cursor`` (the sequence number of the last event fully handled), so a
test can wait for the bot instead of sleeping.

Configuration (environment only): BOT_HANDLE, BOT_PASSWORD, PDS_URL,
FIREHOSE_URL (ws://host:port; "/xrpc" is added if missing), PORT.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from atproto import CAR, Client, FirehoseSubscribeReposClient, firehose_models, models, parse_subscribe_repos_message


def log(line: str) -> None:
    print(f"pingbot: {line}", flush=True)  # flushed: a test reads the log while the bot runs


class Firehose(FirehoseSubscribeReposClient):
    """The SDK's client, telling when its websocket is open.

    Without a cursor the PDS only sends what happens after the connection, so the
    bot must not report ready before it: the SDK has no public hook for that.
    """

    def __init__(self, base_uri: str) -> None:
        super().__init__(base_uri=base_uri)
        self.connected = threading.Event()

    def _get_client(self) -> Any:
        connection = super()._get_client()  # the handshake is done when this returns
        self.connected.set()
        return connection


def text_without_mentions(post: models.AppBskyFeedPost.Record) -> str:
    """The post's text with its mentions cut out: facets index UTF-8 bytes, not characters."""
    data, kept, pos = post.text.encode(), [], 0
    for facet in sorted(post.facets or [], key=lambda facet: facet.index.byte_start):
        if any(isinstance(feature, models.AppBskyRichtextFacet.Mention) for feature in facet.features):
            kept.append(data[pos : facet.index.byte_start])
            pos = max(pos, facet.index.byte_end)
    kept.append(data[pos:])
    return b" ".join(kept).decode(errors="replace")


class PingBot:
    def __init__(self, client: Client, firehose: Firehose) -> None:
        self.client = client
        self.firehose = firehose
        assert client.me is not None, "signed in without a profile"  # send_post/like/follow need client.me
        self.did = client.me.did
        self.cursor = 0  # the seq of the last event handled; read by the HTTP thread

    def on_message(self, message: firehose_models.MessageFrame) -> None:
        event = parse_subscribe_repos_message(message)
        seq = getattr(event, "seq", None)  # #info frames have none
        try:
            if isinstance(event, models.ComAtprotoSyncSubscribeRepos.Commit) and event.repo != self.did:
                self.on_commit(event)
        except Exception as error:  # one bad event must not stop the bot, nor hold its cursor back
            log(f"error at seq {seq}: {error!r}")
        if seq is not None:
            self.cursor = seq
            # On a reconnect the SDK re-subscribes with these params: resume after this event.
            self.firehose.update_params(models.ComAtprotoSyncSubscribeRepos.Params(cursor=seq))

    def on_commit(self, commit: models.ComAtprotoSyncSubscribeRepos.Commit) -> None:
        if not commit.blocks:
            return
        blocks = CAR.from_bytes(commit.blocks).blocks  # the commit's new blocks, records among them, by CID
        for op in commit.ops:
            if op.action != "create" or not op.path.startswith(f"{models.ids.AppBskyFeedPost}/") or not op.cid:
                continue
            record = models.get_or_create(blocks.get(op.cid), strict=False)
            if record is None or not models.is_record_type(record, models.AppBskyFeedPost):
                continue
            ref = models.ComAtprotoRepoStrongRef.Main(uri=f"at://{commit.repo}/{op.path}", cid=str(op.cid))
            self.on_post(commit.repo, ref, record)

    def mentions_me(self, post: models.AppBskyFeedPost.Record) -> bool:
        features = [feature for facet in post.facets or [] for feature in facet.features]
        return any(isinstance(f, models.AppBskyRichtextFacet.Mention) and f.did == self.did for f in features)

    def on_post(
        self, author: str, ref: models.ComAtprotoRepoStrongRef.Main, post: models.AppBskyFeedPost.Record
    ) -> None:
        if not self.mentions_me(post):
            return
        text = text_without_mentions(post).lower()  # "@pingbot.test hello" is no ping
        if "ping" in text:
            # A reply's root is the thread's first post: the parent's own root if it is a reply itself.
            root = post.reply.root if post.reply else ref
            reply = self.client.send_post("pong", reply_to=models.AppBskyFeedPost.ReplyRef(root=root, parent=ref))
            log(f"replied pong to {ref.uri}: {reply.uri}")
            like = self.client.like(ref.uri, ref.cid)
            log(f"liked {ref.uri}: {like.uri}")
        if "follow me" in text:
            follow = self.client.follow(author)
            log(f"followed {author}: {follow.uri}")


def serve(bot: PingBot, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/" and bot.firehose.connected.is_set():
                self.reply(200, "text/plain", b"ok")
            elif self.path == "/":
                self.reply(503, "text/plain", b"connecting")
            elif self.path == "/cursor":
                self.reply(200, "application/json", json.dumps({"cursor": bot.cursor}).encode())
            else:
                self.reply(404, "text/plain", b"not found")

        def reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep stdout to one line per action

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server


def main() -> None:
    handle, password = os.environ["BOT_HANDLE"], os.environ["BOT_PASSWORD"]
    base = os.environ["FIREHOSE_URL"].rstrip("/")
    firehose = Firehose(base if base.endswith("/xrpc") else f"{base}/xrpc")  # the SDK wants the XRPC root

    client = Client(base_url=os.environ["PDS_URL"])
    client.login(handle, password)  # also fetches the profile (app.bsky.actor.getProfile): needs an AppView
    bot = PingBot(client, firehose)
    port = int(os.environ["PORT"])
    server = serve(bot, port)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    # The firehose runs in a daemon thread: its reconnect back-off sleeps, which stop() cannot cut short.
    reader = threading.Thread(target=firehose.start, args=(bot.on_message,), name="firehose", daemon=True)
    reader.start()
    ready = False
    while not stopping.wait(0.1):
        if not ready and firehose.connected.is_set():
            log(f"listening on http://127.0.0.1:{port} as {handle} ({bot.did})")
            ready = True
        if not reader.is_alive():  # the SDK gave up (an error frame, a bad URL): exit, don't hang
            log("firehose client stopped")
            break

    firehose.stop()
    server.shutdown()
    reader.join(timeout=1)
    log("stopped")


if __name__ == "__main__":
    main()
