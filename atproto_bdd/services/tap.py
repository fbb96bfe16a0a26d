"""Tap (indigo ``cmd/tap``) as a local process on the network's relay: its environment and its start.

Tap follows the relay's firehose for the repositories it is told to track
(``POST /repos/add``), backfills each one from its PDS (``getRepo``), and
delivers verified record and identity events on ``/channel`` with acks. It is
built with ``go install`` from the indigo version the relay comes from, runs
unpatched, bound to 127.0.0.1, with HTTP basic auth (user ``admin``) on every
route.
"""

from __future__ import annotations

from pathlib import Path

from ..protocol.http import basic_auth
from ..settings import Settings
from .go_install import INDIGO_MODULE, INDIGO_VERSION, GoTool, ensure_tool
from .processes import ManagedProcess
from .relay import launch_program
from .specs import RelayService, TapService, TapSpec

#: Tap's build: from the indigo version the relay comes from.
TAP = GoTool("tap", f"{INDIGO_MODULE}/cmd/tap", INDIGO_MODULE, INDIGO_VERSION, "Tap (indigo cmd/tap)")

#: Seconds Tap gets to exit after SIGTERM before it is killed.
TAP_STOP_GRACE = 2.0


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
