"""Docker runtime vs local runtime, side by side (issue: Docker runtime).

Run with ``./dev bench docker``: it starts podman's Docker-compatible API and
builds the local images as the docker test target does (``docker/``), then
measures on both runtimes:

* network ready: a fresh PLC directory + one PDS, healthy;
* per-scenario cost: fresh network, 2 accounts, 3 posts, one firehose assertion,
  network stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import summary, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docker"))

from local_images import build, ensure_mailpit  # noqa: E402
from podman_service import PodmanService, ensure_podman  # noqa: E402

from atproto_bdd.services import LocalRuntime, Network, PdsSpec, Runtime  # noqa: E402
from atproto_bdd.services.docker_runtime import DockerRuntime  # noqa: E402
from atproto_bdd.services.go_install import ensure_relay  # noqa: E402
from atproto_bdd.services.node_install import ensure_node_services  # noqa: E402
from atproto_bdd.settings import Settings  # noqa: E402
from atproto_bdd.world import World  # noqa: E402
from atproto_bdd.world.events import expect_event  # noqa: E402


def network_ready(runtime: Runtime) -> float:
    """Seconds to a healthy PLC + PDS; the network is stopped afterwards (not timed)."""
    started = time.perf_counter()
    network = Network(runtime)
    network.add_pds(PdsSpec(name="A"))
    elapsed = time.perf_counter() - started
    network.close(wait=True)
    return elapsed


def scenario(runtime: Runtime) -> float:
    """Seconds for a typical scenario, network start and stop included."""
    started = time.perf_counter()
    world = World(runtime)
    world.add_pds("A")
    alice = world.create_account("alice.test")
    world.create_account("bob.test")
    for index in range(3):
        alice.post(f"post {index}")
    query = world.event_query("commit", "alice.test", action="create", collection="app.bsky.feed.post")
    expect_event(world.pds("A").firehose, query, timeout=10)
    world.close(wait=True)
    return time.perf_counter() - started


def measure(runtime: Runtime, rounds: int) -> dict[str, dict[str, float]]:
    """Both measures on one runtime (one warm-up round each, not counted)."""
    network_ready(runtime)
    ready = [network_ready(runtime) for _ in range(rounds)]
    scenario(runtime)
    scenarios = [scenario(runtime) for _ in range(rounds)]
    return {"network_ready": summary(ready), "scenario": summary(scenarios)}


def main() -> None:
    """Run the comparison and write results/docker.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings.load()
    node_install = ensure_node_services(
        settings.cache_dir, line=settings.pds_version, node=settings.node, npm=settings.npm
    )
    relay = ensure_relay(settings.cache_dir)
    with LocalRuntime(settings) as local:
        local_results = measure(local, args.rounds)
    ensure_podman()
    with PodmanService() as podman:
        images = build(
            podman,
            node_install.root,
            relay,
            ensure_mailpit(settings.cache_dir),
            node=node_install.node,
            line=settings.pds_version,
        )
        os.environ["DOCKER_HOST"] = podman.docker_host
        docker_settings = Settings.load(
            {"pds_image": images["pds"], "plc_image": images["plc"], "plc_command": "node dist/bin.js"}
        )
        with DockerRuntime(docker_settings) as docker:
            docker_results = measure(docker, args.rounds)
    path = write_results("docker", {"local": local_results, "docker_podman": docker_results})
    print(f"\nwrote {path}\n")
    print(f"| measure (median of {args.rounds}) | local runtime | Docker runtime (podman) |")
    print("|---|---|---|")
    for key, label in (
        ("network_ready", "fresh PLC + PDS ready"),
        ("scenario", "scenario: 2 accounts, 3 posts, 1 firehose check"),
    ):
        print(f"| {label} | {local_results[key]['median_ms']} ms | {docker_results[key]['median_ms']} ms |")


if __name__ == "__main__":
    main()
