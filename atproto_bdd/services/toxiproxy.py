"""Toxiproxy as a local process: the TCP proxies that put faults between an app and the network's services.

Toxiproxy (``github.com/Shopify/toxiproxy/v2``, :data:`TOXIPROXY_VERSION`) is
built with ``go install`` on first use and runs unpatched, bound to
127.0.0.1, driven over its HTTP API: a proxy per upstream an app talks to,
and *toxics* on a proxy (latency, bandwidth) or the proxy switched off and
on (its connections dropped, new ones refused). It is one service of the
network, started when a scenario first puts an app behind a fault; the
framework's own checks never go through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..errors import ServiceError
from ..protocol.http import new_client
from ..settings import Settings
from .go_install import GoTool, ensure_tool
from .processes import ManagedProcess
from .relay import launch_program

TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2"
TOXIPROXY_VERSION = "v2.12.0"
#: Its server is the package ``cmd/server``: the binary is called ``server``.
TOXIPROXY = GoTool("server", f"{TOXIPROXY_MODULE}/cmd/server", TOXIPROXY_MODULE, TOXIPROXY_VERSION, "Toxiproxy")
#: Seconds Toxiproxy gets to exit after SIGTERM before it is killed.
TOXIPROXY_STOP_GRACE = 2.0


@dataclass(frozen=True)
class ToxiproxySpec:
    """Toxiproxy to start in the network."""

    name: str = "toxiproxy"


@dataclass(frozen=True)
class ToxiproxyService:
    """A running Toxiproxy: its API's URL."""

    id: str
    spec: ToxiproxySpec
    url: str
    log_path: Path | None = None
    pid: int | None = None

    @property
    def name(self) -> str:
        """The service's name (``toxiproxy``)."""
        return self.spec.name


def launch_toxiproxy(
    binary: Path,
    spec: ToxiproxySpec,
    *,
    service_id: str,
    data_dir: Path,
    log_path: Path,
    port: int,
    timeout: float,
) -> tuple[ManagedProcess, ToxiproxyService]:
    """Start Toxiproxy's API on ``port`` and wait until it answers; stopped again on failure."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    process = launch_program(
        [str(binary), "-host", "127.0.0.1", "-port", str(port)],
        {"LOG_LEVEL": "info"},  # a line per connection accepted: "reconnected" is read from them
        cwd=data_dir,
        log_path=log_path,
        health_url=f"{url}/version",
        what="Toxiproxy",
        timeout=timeout,
        grace=TOXIPROXY_STOP_GRACE,
    )
    return process, ToxiproxyService(service_id, spec, url, log_path, process.pid)


class ToxiproxyApi:
    """Toxiproxy's HTTP API: proxies (``/proxies``), their toxics, on and off."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self._client = new_client(base_url=url, timeout=timeout)

    def create_proxy(self, name: str, upstream: str) -> int:
        """A proxy ``name`` from a free loopback port to ``upstream`` (``host:port``); the port it listens on."""
        answer = self._call("POST", "/proxies", {"name": name, "listen": "127.0.0.1:0", "upstream": upstream})
        return int(str(answer["listen"]).rsplit(":", 1)[1])

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Switch the proxy on or off: off closes its connections and refuses new ones."""
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def add_toxic(self, proxy: str, kind: str, attributes: Mapping[str, Any], *, stream: str = "downstream") -> str:
        """Add a toxic (``latency``, ``bandwidth``, ``reset_peer``...) to ``proxy``; its name."""
        name = f"{kind}_{stream}"
        body = {"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": dict(attributes)}
        self._call("POST", f"/proxies/{proxy}/toxics", body)
        return name

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        """Remove the toxic ``toxic`` from ``proxy``."""
        self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic}")

    def delete_proxy(self, name: str) -> None:
        """Delete the proxy (its connections close)."""
        self._call("DELETE", f"/proxies/{name}")

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ServiceError(f"Toxiproxy ({self.url}) did not answer {method} {path}: {exc}") from None
        if response.status_code >= 400:
            raise ServiceError(f"Toxiproxy refused {method} {path}: {response.status_code} {response.text.strip()}")
        return response.json() if response.content else None


def prepare(settings: Settings) -> str:
    """Build Toxiproxy (``go install``, once per version); where it is."""
    return f"{TOXIPROXY.title} ready: {ensure_tool(settings.cache_dir, TOXIPROXY, go=settings.go)}"
