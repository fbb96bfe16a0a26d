"""The Docker runtime, proven against a real container engine (podman), in CI.

1. install and configure podman and start its Docker-compatible API socket;
2. build images equivalent to the official ones from the pinned npm packages
   and the relay build (``local_images``);
3. run the core, firehose and relay features with ``-D runtime=docker``, the
   images pointed at through the runtime's image overrides;
4. stop the service and delete its storage.

Usage: ``python docker/run_target.py [behave args]`` (``./dev docker-test``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from local_images import build  # noqa: E402
from podman_service import PodmanService, ensure_podman  # noqa: E402

from atproto_bdd.services.go_install import ensure_relay  # noqa: E402
from atproto_bdd.services.node_install import ensure_node_services  # noqa: E402
from atproto_bdd.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FEATURES = [
    "features/accounts.feature",
    "features/records.feature",
    "features/xrpc.feature",
    "features/shared_network.feature",
    "features/firehose.feature",
    "features/repo_sync.feature",
    "features/relay.feature",
]


def main(argv: list[str]) -> int:
    """Set up podman, build the images, run the features on the Docker runtime."""
    settings = Settings.load()
    node_install = ensure_node_services(settings.cache_dir)
    relay = ensure_relay(settings.cache_dir)
    ensure_podman()
    with PodmanService() as podman:
        started = time.monotonic()
        images = build(podman, node_install.root, relay)
        print(f"atproto-bdd: local images built in {time.monotonic() - started:.0f}s: {', '.join(images.values())}")
        env = {
            **os.environ,
            "DOCKER_HOST": podman.docker_host,
            "ATPROTO_BDD_RUNTIME": "docker",
            "ATPROTO_BDD_PDS_IMAGE": images["pds"],
            "ATPROTO_BDD_PLC_IMAGE": images["plc"],
            "ATPROTO_BDD_PLC_COMMAND": "node dist/bin.js",
            "ATPROTO_BDD_RELAY_IMAGE": images["relay"],
            "ATPROTO_BDD_REPORT_DIR": str(ROOT / "reports" / "docker"),
        }
        faults = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__).parent)]
        if not argv and subprocess.run(faults, cwd=ROOT, env=env, check=False).returncode != 0:
            return 1
        command = [sys.executable, "-m", "behave", "--format", "progress", *(argv or FEATURES)]
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
