"""The run's handle DNS: _atproto.<handle> TXT answered from the PDS hosting the handle, seen by one child only.

The server and the mount namespace need root (as CI has); elsewhere these
tests are skipped and the run says once that tools show handle.invalid.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from atproto_bdd.services.handle_dns import HandleDns, handle_dns_unavailable
from atproto_bdd.services.processes import ManagedProcess

pytestmark = pytest.mark.skipif(handle_dns_unavailable() is not None, reason=str(handle_dns_unavailable()))

DID = "did:plc:alicealicealicealicealic"


class WellKnown(BaseHTTPRequestHandler):
    """A PDS's /.well-known/atproto-did: alice.test is ours, nothing else."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        hosted = self.path == "/.well-known/atproto-did" and self.headers.get("host") == "alice.test"
        body = DID.encode() if hosted else b"User not found"
        self.send_response(200 if hosted else 404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dns(tmp_path: Path) -> Iterator[HandleDns]:
    pds = ThreadingHTTPServer(("127.0.0.1", 0), WellKnown)
    threading.Thread(target=pds.serve_forever, daemon=True).start()
    server = HandleDns(lambda: [f"http://127.0.0.1:{pds.server_address[1]}"], directory=tmp_path).start()
    try:
        yield server
    finally:
        server.close()
        pds.shutdown()
        pds.server_close()


def ask(dns: HandleDns, name: str, kind: str = "TXT", tcp: bool = False) -> tuple[str, list[str]]:
    from dnslib import QTYPE, RCODE, DNSRecord

    reply = DNSRecord.parse(DNSRecord.question(name, kind).send(dns.address, 53, tcp=tcp, timeout=5))
    return RCODE.get(reply.header.rcode), [str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.TXT]


def test_a_handle_a_pds_hosts_resolves_and_nothing_else_does(dns: HandleDns) -> None:
    assert ask(dns, "_atproto.alice.test") == ("NOERROR", [f'"did={DID}"'])
    assert ask(dns, "_atproto.ALICE.test", tcp=True) == ("NOERROR", [f'"did={DID}"'])  # DNS names ignore case
    assert ask(dns, "_atproto.bob.test") == ("NXDOMAIN", [])
    assert ask(dns, "example.com", "A") == ("NXDOMAIN", [])  # nothing is forwarded off the machine
    assert "'_atproto.alice.test.' (TXT)" in Path(dns.log_path).read_text()


def test_only_the_child_sees_the_resolv_conf(dns: HandleDns, tmp_path: Path) -> None:
    machine = Path("/etc/resolv.conf").read_text()
    log = tmp_path / "cat.log"
    child = ManagedProcess.start(["cat", "/etc/resolv.conf"], log_path=log, resolv_conf=dns.resolv_conf())
    assert child.wait(10) == 0
    assert log.read_text() == f"nameserver {dns.address}\noptions timeout:2 attempts:1\n"
    assert Path("/etc/resolv.conf").read_text() == machine  # the machine's namespace is untouched


def test_two_runtimes_never_share_an_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from atproto_bdd.services import handle_dns

    picks = iter([9, 9, 9, 9, 9, 10])  # the second server draws the first one's address, then another
    monkeypatch.setattr(handle_dns.random, "randint", lambda low, high: next(picks))
    first = HandleDns(list, directory=tmp_path / "one").start()
    second = HandleDns(list, directory=tmp_path / "two").start()
    try:
        assert (first.address, second.address) == ("127.53.9.9", "127.53.9.10")
    finally:
        first.close()
        second.close()
