"""DNS for the network's handles: ``_atproto.<handle>`` TXT records, for Go tools that verify handles.

Tap (indigo ``atproto/identity``) verifies an account's handle the way
production does: a DNS TXT record ``_atproto.<handle>`` naming the DID, else
``https://<handle>/.well-known/atproto-did``, through the machine's resolver.
``.test`` handles have neither, so without help Tap says ``handle.invalid``
where a person expects ``alice.test``.

:class:`HandleDns` is a DNS server on a loopback address (port 53: the
resolver asks no other), authoritative for every name: a TXT query for
``_atproto.<handle>`` is answered with ``did=<DID>`` when one of the run's
PDSes hosts the handle - it asks each PDS at its real
``/.well-known/atproto-did`` with the handle as ``Host``, where the HTTPS
method would reach it (the AppView's handle resolver does the same) - and
anything else is NXDOMAIN: nothing is forwarded, nothing leaves the machine.
A tool started with :func:`~atproto_bdd.services.processes.ManagedProcess.start`
``resolv_conf=`` sees only this server, in a mount namespace of its own.
Binding port 53 and making that namespace need root (as CI has); elsewhere
:func:`handle_dns_unavailable` says why, and the tools run as before.
"""

from __future__ import annotations

import errno
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ..notices import say_once
from ..protocol.syntax import is_did, is_handle
from .processes import can_isolate_resolv_conf

#: Seconds one PDS may take to answer a lookup (the tool's own DNS timeout is a few seconds).
LOOKUP_TIMEOUT = 2.0
#: Loopback addresses tried for the server (127.53.x.y: one per runtime, so parallel runs never clash).
ADDRESS_ATTEMPTS = 20


def handle_dns_unavailable() -> str | None:
    """Why this process cannot give a tool the network's handle DNS (None: it can)."""
    if os.geteuid() != 0:
        return "it needs root (a DNS server on port 53, and a mount namespace for the tool's resolv.conf)"
    if not Path("/etc/resolv.conf").exists():
        return "/etc/resolv.conf does not exist to be replaced in the tool's mount namespace"
    if not can_isolate_resolv_conf():
        return "this machine refuses a mount namespace (unshare) even to root, as some containers do"
    return None


class HandleDns:
    """A DNS server answering ``_atproto.<handle>`` TXT queries from the PDSes ``sources()`` returns."""

    def __init__(self, sources: Callable[[], list[str]], *, directory: Path) -> None:
        self.sources = sources
        self.directory = directory
        self.address = ""
        self._servers: list[Any] = []
        self._http = httpx.Client(timeout=LOOKUP_TIMEOUT, trust_env=False)
        self._log_lock = threading.Lock()
        self.log_path = directory / "handle-dns.log"

    def start(self) -> HandleDns:
        """Listen on port 53 (UDP and TCP) of a free 127.53.x.y address; OSError if none could be bound."""
        from dnslib.server import DNSLogger, DNSServer

        self.directory.mkdir(parents=True, exist_ok=True)
        logger = DNSLogger("request,reply,error", prefix=False, logf=self._log)
        last: OSError | None = None
        for _ in range(ADDRESS_ATTEMPTS):
            address = f"127.53.{random.randint(0, 255)}.{random.randint(1, 254)}"
            servers: list[Any] = []
            try:
                # TCP first: a listening TCP socket is exclusive even with SO_REUSEADDR (which dnslib sets), a UDP
                # one is not - so an address another runtime holds fails here, before its UDP port is shared.
                for tcp in (True, False):
                    servers.append(DNSServer(_Resolver(self), address=address, port=53, tcp=tcp, logger=logger))
            except OSError as exc:
                for server in servers:
                    server.server.server_close()
                last = exc
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            for server in servers:
                server.start_thread()
            self.address, self._servers = address, servers
            return self
        raise last or OSError(errno.EADDRINUSE, "no free loopback address for the handle DNS server")

    def resolv_conf(self) -> Path:
        """A resolv.conf naming only this server (short timeouts: an unknown name fails at once)."""
        path = self.directory / "resolv.conf"
        path.write_text(f"nameserver {self.address}\noptions timeout:2 attempts:1\n")
        return path

    def lookup(self, handle: str) -> str | None:
        """The DID of ``handle`` as the PDS hosting it says (``/.well-known/atproto-did``), or None."""
        if not is_handle(handle):
            return None
        for source in self.sources():
            try:
                response = self._http.get(f"{source.rstrip('/')}/.well-known/atproto-did", headers={"host": handle})
            except httpx.HTTPError:
                continue
            did = response.text.strip()
            if response.status_code == 200 and is_did(did):
                return did
        return None

    def close(self) -> None:
        """Stop listening (both sockets closed) and close the HTTP client."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.stop()
            server.server.server_close()
        self._http.close()

    def _log(self, line: str) -> None:
        with self._log_lock, open(self.log_path, "a") as log:
            log.write(line + "\n")


class _Resolver:
    """dnslib's resolver interface: one reply per request."""

    def __init__(self, dns: HandleDns) -> None:
        self.dns = dns

    def resolve(self, request: Any, handler: Any) -> Any:
        """``did=<DID>`` for ``_atproto.<handle>`` TXT when a PDS hosts the handle; NXDOMAIN for everything else."""
        from dnslib import QTYPE, RCODE, RR, TXT

        reply = request.reply()
        question = request.q
        name = str(question.qname).rstrip(".").lower()
        if question.qtype == QTYPE.TXT and name.startswith("_atproto."):
            did = self.dns.lookup(name[len("_atproto.") :])
            if did is not None:
                reply.add_answer(RR(question.qname, QTYPE.TXT, rdata=TXT(f"did={did}"), ttl=0))
                return reply
        reply.header.rcode = RCODE.NXDOMAIN
        return reply


class HandleDnsOnDemand:
    """A runtime's handle DNS: started for the first tool that asks, or said once to be unavailable."""

    def __init__(self, sources: Callable[[], list[str]], directory: Path) -> None:
        self.sources = sources
        self.directory = directory
        self._dns: HandleDns | None = None
        self._problem: str | None = None
        self._lock = threading.Lock()

    def resolv_conf_for(self, tool: str) -> Path | None:
        """The resolv.conf ``tool`` should get (None where the server cannot run: said once, the tool runs as is)."""
        with self._lock:
            if self._dns is None and self._problem is None:
                self._problem = handle_dns_unavailable()
                if self._problem is None:
                    try:
                        self._dns = HandleDns(self.sources, directory=self.directory).start()
                    except OSError as exc:
                        self._problem = f"its DNS server could not listen on port 53: {exc}"
            dns, problem = self._dns, self._problem
        if dns is None:
            say_once(
                f"{tool} cannot verify the network's handles, so its events say handle.invalid (DIDs still match): "
                f"the DNS server that answers _atproto.<handle> for it cannot run here: {problem}",
                key="handle dns unavailable",
            )
            return None
        return dns.resolv_conf()

    def close(self) -> None:
        """Stop the server, if it started."""
        with self._lock:
            dns, self._dns = self._dns, None
        if dns is not None:
            dns.close()
