"""A small web app for the browser features: a guestbook page with a form, and an about page.

Standard library only. PORT is the app's port (``${app.guestbook.port}``);
it binds 127.0.0.1. Each person's name lives in a cookie, so two people in
their own browser contexts see their own pages.
"""

from __future__ import annotations

import html
import os
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ENTRIES: list[str] = []

PAGE = """<!doctype html><html><head><title>Guestbook</title></head><body>
<h1>Guestbook</h1>{signed}
<form method="post" action="/sign">
  <label for="name">Name</label> <input id="name" name="name" placeholder="your handle">
  <button type="submit">Sign the book</button>
</form>
<ul>{entries}</ul>
<p><a href="/about">About</a></p>
</body></html>"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/about":
            self._send(200, "<!doctype html><title>About</title><p>About this guestbook</p><a href='/'>Back</a>")
        elif self.path == "/":
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            me = cookie["signed"].value if "signed" in cookie else ""
            signed = f"<p>Signed by {html.escape(me)}</p>" if me else ""
            entries = "".join(f"<li>{html.escape(name)}</li>" for name in ENTRIES)
            self._send(200, PAGE.format(signed=signed, entries=entries))
        else:
            self._send(404, "<!doctype html><title>Not found</title><p>No such page</p>")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        name = parse_qs(self.rfile.read(length).decode()).get("name", [""])[0].strip()
        if self.path != "/sign" or not name:
            self._send(400, "<!doctype html><title>Bad request</title><p>A name, please</p>")
            return
        ENTRIES.append(name)
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Set-Cookie", f"signed={name}; Path=/; HttpOnly")
        self.end_headers()

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        print(format % args, flush=True)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
