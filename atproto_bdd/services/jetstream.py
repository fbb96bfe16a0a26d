"""Jetstream as a local process on the network's relay: its environment and its start.

Jetstream (``github.com/bluesky-social/jetstream``, the line that reads
``JETSTREAM_WS_URL``; see :data:`JETSTREAM_VERSION`) turns the
relay's CBOR firehose into JSON events on ``/subscribe``. It is built with
``go install`` on first use and runs unpatched, bound to 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..settings import Settings
from .go_install import GoTool, ensure_tool
from .network import ws_url
from .processes import ManagedProcess
from .relay import launch_program
from .specs import RelayService

JETSTREAM_MODULE = "github.com/bluesky-social/jetstream"
#: Jetstream's last release of the line that reads ``JETSTREAM_WS_URL`` (commit 7d7efa58d7f1, 2025-10-09).
#: The v0.2 line (``jetstream serve``) backfills every repository first and refuses loopback PDSes, and
#: its signature check reads only ``Multikey`` documents, which the PLC on npm does not serve: see the guide.
JETSTREAM_VERSION = "v0.0.0-20251009222037-7d7efa58d7f1"
#: Jetstream's build: its module is served to ``go install`` from a local proxy directory (go_install.py).
JETSTREAM = GoTool(
    "jetstream", f"{JETSTREAM_MODULE}/cmd/jetstream", JETSTREAM_MODULE, JETSTREAM_VERSION, "Jetstream", True
)

#: Seconds Jetstream gets to exit after SIGTERM before it is killed.
JETSTREAM_STOP_GRACE = 2.0


@dataclass(frozen=True)
class JetstreamSpec:
    """Jetstream to start on the network's relay."""

    name: str = "jetstream"


@dataclass(frozen=True)
class JetstreamService:
    """A running Jetstream: its HTTP/websocket URL (``/subscribe``) and its metrics URL."""

    id: str
    spec: JetstreamSpec
    url: str
    metrics_url: str
    data_dir: Path
    log_path: Path | None = None
    pid: int | None = None

    @property
    def name(self) -> str:
        """The service's name (``jetstream``)."""
        return self.spec.name


def jetstream_environment(
    relay: RelayService, *, data_dir: Path, port: int, metrics_port: int, resume: bool = False
) -> dict[str, str]:
    """The ``JETSTREAM_*`` variables for a Jetstream reading ``relay``.

    ``resume`` (a restart on its data): Jetstream connects to the relay from
    the cursor it stored in its data directory, not from the relay's first
    event (its override would replay the relay's whole log as new events).
    """
    env = {
        "JETSTREAM_WS_URL": f"{ws_url(relay.url)}/xrpc/com.atproto.sync.subscribeRepos",
        "JETSTREAM_LISTEN_ADDR": f"127.0.0.1:{port}",
        "JETSTREAM_METRICS_LISTEN_ADDR": f"127.0.0.1:{metrics_port}",  # its default listens on every interface
        "JETSTREAM_DATA_DIR": str(data_dir),
        # It exits after this long without a new event ("for docker to restart me"); a quiet test network
        # is not a dead relay.
        "JETSTREAM_LIVENESS_TTL": "87600h",
        # One worker: relay events are handled in the relay's order, so the relay cursor Jetstream stores
        # (the last event handled, on SIGTERM and every 5 s) covers every earlier event; with many workers
        # it is whichever finished last, and a restart from it would replay or skip events.
        "JETSTREAM_WORKER_COUNT": "1",
    }
    if not resume:
        # From the relay's first event, not live: what the network did before Jetstream started is in its
        # stream too, and no event is lost between its start and its connection to the relay. The override
        # wins over the cursor Jetstream stored, so a restart leaves it out.
        env["JETSTREAM_OVERRIDE_RELAY_CURSOR"] = "0"
    return env


def launch_jetstream(
    binary: Path,
    spec: JetstreamSpec,
    relay: RelayService,
    *,
    service_id: str,
    data_dir: Path,
    log_path: Path,
    ports: tuple[int, int],
    timeout: float,
    resume: bool = False,
) -> tuple[ManagedProcess, JetstreamService]:
    """Start Jetstream on ``ports`` (API, metrics) and wait until it answers; stopped again on failure.

    ``resume``: a restart on ``data_dir``, from the relay cursor Jetstream stored there.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{ports[0]}"
    process = launch_program(
        [str(binary)],
        jetstream_environment(relay, data_dir=data_dir, port=ports[0], metrics_port=ports[1], resume=resume),
        cwd=data_dir,
        log_path=log_path,
        health_url=f"{url}/",
        what="Jetstream",
        timeout=timeout,
        grace=JETSTREAM_STOP_GRACE,
    )
    service = JetstreamService(
        service_id, spec, url, f"http://127.0.0.1:{ports[1]}/metrics", data_dir, log_path, process.pid
    )
    return process, service


def prepare(settings: Settings) -> str:
    """Build Jetstream (``go install``, once per version); where it is."""
    return f"{JETSTREAM.title} ready: {ensure_tool(settings.cache_dir, JETSTREAM, go=settings.go)}"
