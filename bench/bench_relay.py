"""Relay benchmarks (issue: relay aggregating several PDSes).

Run with ``./dev bench relay``. Measures:

* relay start (binary cached) to healthy and subscribed to two PDSes;
* commit propagation latency, PDS -> relay firehose, p50/p99 over 200 posts:
  from createRecord's HTTP response to the commit being in the relay's
  recorded stream;
* the cold build of the relay (``go install`` into an empty cache), with
  ``--cold-build`` only: it downloads every module and compiles, minutes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import post_latencies, summary, write_results

from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.go_install import ensure_relay
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def relay_start(runtime: LocalRuntime, rounds: int) -> list[float]:
    """Seconds to start a relay crawling two fresh PDSes, per round (template and binary cached)."""
    samples = []
    for _ in range(rounds + 1):
        world = World(runtime)
        world.add_pds("A")
        world.add_pds("B")
        started = time.perf_counter()
        world.add_relay("A", "B")
        samples.append(time.perf_counter() - started)
        world.close(wait=True)
    return samples[1:]  # the first round may build the database template


def propagation(runtime: LocalRuntime, posts: int) -> list[float]:
    """Seconds from each post's HTTP response to its commit on the relay's firehose."""
    world = World(runtime)
    world.add_pds("A")
    world.add_relay("A")
    samples = post_latencies(world.create_account("alice.test"), world.relay.firehose, posts)
    world.close(wait=True)
    return samples


def cold_build() -> float:
    """Seconds for ``go install`` of the relay into an empty cache directory."""
    with tempfile.TemporaryDirectory(prefix="atproto-bdd-cold-relay-") as tmp:
        started = time.perf_counter()
        ensure_relay(Path(tmp), quiet=True)
        return time.perf_counter() - started


def main() -> None:
    """Run the relay benchmarks and write results/relay.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--cold-build", action="store_true", help="also time a relay build into an empty cache")
    args = parser.parse_args()
    settings = Settings.load()
    ensure_relay(settings.cache_dir)
    with LocalRuntime(settings) as runtime:
        start = summary(relay_start(runtime, args.rounds))
        latency = summary(propagation(runtime, args.posts))
    results = {"relay_start": start, "propagation_latency": latency}
    if args.cold_build:
        results["cold_build_seconds"] = round(cold_build(), 1)
    path = write_results("relay", results)
    print(f"\nwrote {path}\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| relay start to healthy and subscribed to 2 PDSes (median of {args.rounds}) | {start['median_ms']} ms |")
    print(
        f"| commit propagation PDS -> relay firehose over {args.posts} posts | p50 {latency['median_ms']} ms, "
        f"p99 {latency['p99_ms']} ms |"
    )
    if args.cold_build:
        print(f"| cold relay build (go install into an empty cache) | {results['cold_build_seconds']} s |")


if __name__ == "__main__":
    main()
