from __future__ import annotations

import http.server
import socket
import threading

import pytest

from atproto_bdd.errors import ServiceError
from atproto_bdd.services.health import wait_until_healthy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unhealthy_service_fails_at_its_deadline_with_its_log() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(ServiceError) as caught:
        wait_until_healthy(
            "PDS X", f"http://127.0.0.1:{port}/xrpc/_health", timeout=0.2, log_tail=lambda: "boot failed"
        )
    message = str(caught.value)
    assert message.startswith(
        f"PDS X did not become healthy within 0.2s (GET http://127.0.0.1:{port}/xrpc/_health: ConnectError"
    )
    assert message.endswith("its log ends with:\nboot failed")


def test_healthy_service_passes() -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        wait_until_healthy("svc", f"http://127.0.0.1:{server.server_port}/_health", timeout=5)
    finally:
        server.shutdown()
