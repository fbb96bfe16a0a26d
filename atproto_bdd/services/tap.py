"""Tap (indigo ``cmd/tap``) as a local process on the network's relay: its environment and its start.

Tap follows the relay's firehose for the repositories it is told to track
(``POST /repos/add``), backfills each one from its PDS (``getRepo``), and
delivers verified record and identity events on ``/channel`` with acks. It is
built with ``go install`` from the indigo version the relay comes from, runs
unpatched, bound to 127.0.0.1, with HTTP basic auth (user ``admin``) on every
route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..masking import masker
from ..protocol.http import basic_auth
from ..settings import Settings
from .go_install import INDIGO_MODULE, INDIGO_VERSION, GoTool, ensure_tool
from .processes import ManagedProcess
from .relay import launch_program
from .specs import RelayService

#: Tap's build: from the indigo version the relay comes from.
TAP = GoTool("tap", f"{INDIGO_MODULE}/cmd/tap", INDIGO_MODULE, INDIGO_VERSION, "Tap (indigo cmd/tap)")

#: Seconds Tap gets to exit after SIGTERM before it is killed.
TAP_STOP_GRACE = 2.0


@dataclass(frozen=True)
class TapSpec:
    """Tap to start on the network's relay: a random admin password (masked) and how it runs.

    ``collection_filters`` keeps only those collections' records;
    ``signal_collection`` tracks every account that writes that collection;
    ``webhook_url`` sends the events there as POSTs instead of to ``/channel``.
    """

    name: str = "tap"
    admin_password: str = field(default_factory=masker.new_secret, repr=False)
    collection_filters: tuple[str, ...] = ()
    signal_collection: str = ""
    webhook_url: str = ""

    def mode(self) -> str:
        """How this Tap runs, in words: its filters, and where its events go (two Taps differ if these do)."""
        filters = "unfiltered"
        if self.collection_filters:
            filters = f"with collection filters {list(self.collection_filters)}"
        target = f" sending them to {self.webhook_url}" if self.webhook_url else ""
        return filters + target


@dataclass(frozen=True)
class TapService:
    """A running Tap: its URL (``/channel``, ``/repos/add``, ``/info/<did>``, ...)."""

    id: str
    spec: TapSpec
    url: str
    data_dir: Path
    log_path: Path | None = None
    pid: int | None = None

    @property
    def name(self) -> str:
        """The service's name (``tap``)."""
        return self.spec.name


def tap_environment(spec: TapSpec, relay: RelayService, *, data_dir: Path, port: int) -> dict[str, str]:
    """The ``TAP_*`` variables for a Tap reading ``relay`` and resolving DIDs in the relay's PLC."""
    env = {
        "TAP_RELAY_URL": relay.url,
        "TAP_PLC_URL": relay.plc_url,
        "TAP_BIND": f"127.0.0.1:{port}",
        "TAP_DATABASE_URL": f"sqlite://{data_dir / 'tap.db'}",
        "TAP_ADMIN_PASSWORD": spec.admin_password,
        # One firehose worker: events are then handled in the relay's order, so the cursor Tap reports
        # (/stats/cursors) proves every earlier relay event was handled - what "delivers no" checks rely on.
        "TAP_FIREHOSE_PARALLELISM": "1",
    }
    if spec.collection_filters:
        env["TAP_COLLECTION_FILTERS"] = ",".join(spec.collection_filters)
    if spec.signal_collection:
        # Tap tracks every account that writes a record of this collection (no /repos/add).
        env["TAP_SIGNAL_COLLECTION"] = spec.signal_collection
    if spec.webhook_url:
        # Events go to the app as POSTs (basic auth admin:TAP_ADMIN_PASSWORD), not to /channel.
        env["TAP_WEBHOOK_URL"] = spec.webhook_url
    return env


def launch_tap(
    binary: Path,
    spec: TapSpec,
    relay: RelayService,
    *,
    service_id: str,
    data_dir: Path,
    log_path: Path,
    port: int,
    timeout: float,
    resolv_conf: Path | None = None,
) -> tuple[ManagedProcess, TapService]:
    """Start Tap on ``port`` and wait until ``/health`` answers; stopped again on failure.

    It runs in its own empty data directory: Tap loads a ``.env`` file from its
    working directory, and a stray one must not configure it. With
    ``resolv_conf`` (the network's handle DNS) it verifies the network's
    handles, as it would real ones.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    process = launch_program(
        [str(binary), "run"],
        tap_environment(spec, relay, data_dir=data_dir, port=port),
        cwd=data_dir,
        log_path=log_path,
        health_url=f"{url}/health",
        what="Tap",
        timeout=timeout,
        grace=TAP_STOP_GRACE,
        headers=basic_auth("admin", spec.admin_password),
        resolv_conf=resolv_conf,
    )
    return process, TapService(service_id, spec, url, data_dir, log_path, process.pid)


def prepare(settings: Settings) -> str:
    """Build Tap (``go install``, once per version); where it is."""
    return f"{TAP.title} ready: {ensure_tool(settings.cache_dir, TAP, go=settings.go)}"
