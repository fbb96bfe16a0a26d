"""App benchmarks (issue 11): the framework's overhead on an app start, and how soon eventual steps see a change.

Run with ``./dev bench apps``. Writes ``bench/results/apps.json``. Targets:

* app start overhead: ``App.start()`` until ready, minus the same app's own
  start (the command run directly, until its port accepts a connection), on
  ``apps/minimal_app.py``, which binds at once: median <= 50 ms. Measured with
  ``did = "none"`` (process handling and readiness only) and ``did = "plc"``
  (plus registering a did:plc in the network's PLC directory);
* eventual steps notice a change within 50 ms of it being visible (p50):
  ``apps/flip_feed.py`` shows a post from a moment it reports (random delays
  of 0.1-1 s), and the feed check ("shows ...'s latest post", through the
  generator record, the PLC directory and getFeedSkeleton) returns; the
  latency is its return minus that moment, on the same monotonic clock.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time

from common import BENCH_DIR, load_average, summary, write_results

from atproto_bdd.protocol.http import new_client
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.app_config import AppConfig, AppSpec
from atproto_bdd.services.child_env import app_path
from atproto_bdd.services.ports import free_port
from atproto_bdd.world import World

PYTHON = sys.executable


def spec(name: str, script: str, did: str, env: dict[str, str]) -> AppSpec:
    return AppSpec(name=name, command=(PYTHON, str(BENCH_DIR / "apps" / script)), cwd=BENCH_DIR, env=env, did=did)


def direct_start() -> float:
    """Seconds from spawning the minimal app to its port accepting a connection (polled every 0.5 ms)."""
    port = free_port()
    env = {"PORT": str(port), "PATH": app_path(os.environ.get("PATH", ""))}
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, str(BENCH_DIR / "apps" / "minimal_app.py")], env=env)
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.0005)
    finally:
        process.terminate()
        process.wait()


def framework_start(world: World, did: str) -> float:
    """Seconds ``App.start()`` takes for the minimal app (ready_tcp), a new App (new port, new DID) each time."""
    app = world.app(f"minimal-{did}")
    started = time.perf_counter()
    app.start()
    elapsed = time.perf_counter() - started
    world.end_scenario()  # stops it and forgets it
    return elapsed


def start_overhead(world: World, rounds: int) -> dict:
    """Interleaved rounds of the three starts; overhead = framework median - direct median."""
    samples: dict[str, list[float]] = {"direct": [], "none": [], "plc": []}
    for _ in range(3):  # warm-up: imports, the PLC's first request
        direct_start(), framework_start(world, "none"), framework_start(world, "plc")
    load = [load_average()]
    for _ in range(rounds):
        samples["direct"].append(direct_start())
        samples["none"].append(framework_start(world, "none"))
        samples["plc"].append(framework_start(world, "plc"))
    load.append(load_average())
    direct = statistics.median(samples["direct"])
    return {
        "rounds": rounds,
        "load_average": load,
        "direct": summary(samples["direct"]),
        "framework_did_none": summary(samples["none"]),
        "framework_did_plc": summary(samples["plc"]),
        "overhead_did_none_ms": round((statistics.median(samples["none"]) - direct) * 1000, 1),
        "overhead_did_plc_ms": round((statistics.median(samples["plc"]) - direct) * 1000, 1),
    }


def eventual_latency(world: World, rounds: int) -> dict:
    """Seconds between the post becoming visible and the feed check returning."""
    alice = world.create_account("alice.test")
    post = alice.post("the post the feed will show")
    app = world.app("flip").start({"POST_URI": post.uri})
    feed = world.publish_feed("alice.test", "flip", "flip")
    samples = []
    load = [load_average()]
    try:
        with new_client(timeout=5) as client:
            for _ in range(rounds):
                client.get(f"{app.url}/arm", params={"delay": "3600"})  # hidden again
                delay = random.uniform(0.1, 1.0)
                visible_at = client.get(f"{app.url}/arm", params={"delay": str(delay)}).json()["visible_at"]
                feed.expect(lambda skeleton: post.uri in skeleton.posts, "show the post")
                samples.append(time.monotonic() - visible_at)
    finally:
        app.close()
    load.append(load_average())
    return {"rounds": rounds, "load_average": load, "latency": summary(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.app_config = AppConfig(
            {
                "minimal-none": spec("minimal-none", "minimal_app.py", "none", {"PORT": "${app.minimal-none.port}"}),
                "minimal-plc": spec("minimal-plc", "minimal_app.py", "plc", {"PORT": "${app.minimal-plc.port}"}),
                "flip": spec("flip", "flip_feed.py", "plc", {"PORT": "${app.flip.port}"}),
            }
        )
        world.add_pds("A")
        results = {"start": start_overhead(world, args.rounds), "eventual": eventual_latency(world, args.rounds)}
        world.close()
    path = write_results("apps", results)
    start, eventual = results["start"], results["eventual"]
    print(f"results written to {path}")
    print("| measure | result | target |\n|---|---|---|")
    print(f"| the minimal app's own start (direct, median) | {start['direct']['median_ms']} ms | |")
    print(f"| App.start() overhead, did = none (median) | {start['overhead_did_none_ms']} ms | <= 50 ms |")
    print(f"| App.start() overhead, did = plc (median) | {start['overhead_did_plc_ms']} ms | <= 50 ms |")
    latency = eventual["latency"]
    print(f"| feed check sees a change (p50 / p99) | {latency['median_ms']} / {latency['p99_ms']} ms | p50 <= 50 ms |")


if __name__ == "__main__":
    main()
