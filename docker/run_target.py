"""The Docker runtime, proven against a real container engine (podman), in CI.

1. install and configure podman and start its Docker-compatible API socket;
2. build images equivalent to the official ones from the pinned npm packages
   and the relay build (``local_images``);
3. run every feature (``features/*.feature``) with ``-D runtime=docker``,
   after the runtime's fault tests, the images pointed at through the
   runtime's image overrides;
4. stop the service and delete its storage.

Usage: ``python docker/run_target.py [behave args]`` (``./dev docker-test``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from local_images import build, ensure_mailpit  # noqa: E402
from podman_service import PodmanService, ensure_podman  # noqa: E402

from atproto_bdd.services.go_install import ensure_relay  # noqa: E402
from atproto_bdd.services.node_install import ensure_node_services  # noqa: E402
from atproto_bdd.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Features that need what only the local runtime has, and why (docs/guide.md lists them too).
LOCAL_ONLY = {
    "features/appview.feature": "the AppView runs on the local runtime only (its official image cannot be pulled "
    "or proven here); on Docker `Given an AppView` fails at once, saying so (docker/test_docker_faults.py)",
    "features/appview_any_order.feature": "the AppView runs on the local runtime only (see appview.feature)",
    "features/appview_in_scenario.feature": "the AppView runs on the local runtime only (see appview.feature)",
    "features/jetstream.feature": "Jetstream runs on the local runtime only (no official image can be pulled "
    "here); on Docker `Given Jetstream on the relay` fails at once, saying so (docker/test_docker_faults.py)",
    "features/tap.feature": "Tap runs on the local runtime only (no official image can be pulled here); on Docker "
    "the Tap steps fail at once, saying so (docker/test_docker_faults.py)",
    "features/tap_webhook.feature": "Tap runs on the local runtime only (see tap.feature)",
    "features/faults.feature": "faults between an app and the network (Toxiproxy) are made on the local runtime "
    "only for now; on Docker an app with faults = true fails to start, saying so",
    "features/faults_relay.feature": "faults between an app and the relay: the local runtime only (see faults.feature)",
    "features/lexicons.feature": "lexicons are checked by the reference libraries in the embedded runtime's Node host; "
    "on Docker the steps fail at once, saying so (tests/test_lexicons.py)",
    "features/moderation.feature": "Ozone runs beside the AppView, on the local runtime only; on Docker `Given Ozone "
    "moderated by ...` fails at once, saying so (docker/test_docker_faults.py)",
    "features/plc_outage.feature": "the PLC directory goes down and comes back with its DIDs on the local runtime "
    "only (its container keeps them in memory); on Docker the steps fail at once, saying so",
    "features/restarts.feature": "Jetstream and Tap run on the local runtime only (see jetstream.feature)",
}
#: Every other feature: the Docker runtime runs the suite the embedded one does.
FEATURES = sorted(
    name
    for name in (str(path.relative_to(ROOT)) for path in (ROOT / "features").glob("*.feature"))
    if name not in LOCAL_ONLY
)
#: Scenarios left out, and why: they check the embedded runtime's own start-up messages (its Node.js
#: install and its network host), which the Docker runtime does not have. docs/guide.md lists them.
NOT_ON_DOCKER = {
    "A missing Node.js is named, with what to install": "checks the embedded runtime's Node.js lookup (-D node)",
    "Services that miss their start-up deadline say so, with the host's log": (
        "expects the embedded runtime's network-host message (the Docker runtime names the service instead)"
    ),
}


def main(argv: list[str]) -> int:
    """Set up podman, build the images, run the features on the Docker runtime."""
    settings = Settings.load()
    node_install = ensure_node_services(
        settings.cache_dir, line=settings.pds_version, node=settings.node, npm=settings.npm
    )
    relay = ensure_relay(settings.cache_dir)
    mailpit = ensure_mailpit(settings.cache_dir)
    installed = ensure_podman()
    if installed:
        print(f"atproto-bdd: installed {' '.join(installed)}", flush=True)
    with PodmanService() as podman:
        started = time.monotonic()
        images = build(podman, node_install.root, relay, mailpit, node=node_install.node, line=settings.pds_version)
        print(f"atproto-bdd: local images built in {time.monotonic() - started:.0f}s: {', '.join(images.values())}")
        env = {
            **os.environ,
            "DOCKER_HOST": podman.docker_host,
            "ATPROTO_BDD_RUNTIME": "docker",
            "ATPROTO_BDD_PDS_VERSION": settings.pds_version,
            "ATPROTO_BDD_PDS_IMAGE": images["pds"],
            "ATPROTO_BDD_PLC_IMAGE": images["plc"],
            "ATPROTO_BDD_PLC_COMMAND": "node dist/bin.js",
            "ATPROTO_BDD_RELAY_IMAGE": images["relay"],
            "ATPROTO_BDD_MAILPIT_IMAGE": images["mailpit"],
            "ATPROTO_BDD_REPORT_DIR": str(ROOT / "reports" / "docker"),
        }
        faults = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__).parent)]
        if not argv and subprocess.run(faults, cwd=ROOT, env=env, check=False).returncode != 0:
            return 1
        selection = argv or [_excluding(NOT_ON_DOCKER), *FEATURES]
        if not argv:
            for name, why in LOCAL_ONLY.items():
                print(f"atproto-bdd: not run on the Docker runtime: {name}: {why}", flush=True)
            for name, why in NOT_ON_DOCKER.items():
                print(f"atproto-bdd: not run on the Docker runtime: {name!r}: {why}", flush=True)
        command = [sys.executable, "-m", "behave", "--format", "progress", *selection]
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def _excluding(names: dict[str, str]) -> str:
    """A behave ``--name`` option selecting every scenario except those named."""
    alternatives = "|".join(re.escape(name) + "$" for name in names)
    return f"--name=^(?!(?:{alternatives}))"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
