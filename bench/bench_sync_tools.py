"""Delivery latency of the relay firehose, Jetstream and Tap side by side, and each tool's first build.

Run with ``./dev bench sync_tools``. One network (PDS A, the relay, Jetstream
and Tap tracking alice.test), all three streams recorded at once; for each of
``--posts`` posts: from ``createRecord``'s HTTP response to the post's commit
in each recorder (0 if it came first), p50/p99.

``--cold-build`` also times ``go install`` of Jetstream and of Tap into an
empty cache directory (modules downloaded and compiled: minutes each).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import summary, write_results

from atproto_bdd.protocol.firehose import FirehoseRecorder
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.go_install import RELAY, GoTool, ensure_tool
from atproto_bdd.services.jetstream import JETSTREAM
from atproto_bdd.services.tap import TAP
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def latencies(runtime: LocalRuntime, posts: int) -> dict[str, list[float]]:
    """Seconds from each post's HTTP response to its commit in the relay's, Jetstream's and Tap's recorder."""
    world = World(runtime)
    world.add_pds("A")
    world.add_relay("A")
    alice = world.create_account("alice.test")
    jetstream = world.add_jetstream()
    tap = world.add_tap()
    tap.track(alice.did)
    streams: dict[str, FirehoseRecorder] = {
        "relay": world.relay.firehose,
        "jetstream": jetstream.recorder,
        "tap": tap.recorder,
    }
    samples: dict[str, list[float]] = {name: [] for name in streams}
    for index in range(posts + 5):
        ref = alice.post(f"post {index}")
        responded = time.perf_counter()
        for name, recorder in streams.items():
            event = recorder.wait_for(lambda e, cid=ref.cid: any(str(op.cid) == cid for op in e.ops), timeout=10)
            if event is None:
                raise RuntimeError(f"post {index} never reached {name}")
            if index >= 5:  # the first posts warm the connections up
                samples[name].append(max(0.0, event.received_at - responded))
    world.close(wait=True)
    return samples


def cold_build(tool: GoTool) -> float:
    """Seconds for ``go install`` of ``tool`` into an empty cache directory."""
    with tempfile.TemporaryDirectory(prefix=f"atproto-bdd-cold-{tool.binary}-") as tmp:
        started = time.perf_counter()
        ensure_tool(Path(tmp), tool, quiet=True)
        return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and write results/sync_tools.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--cold-build", action="store_true", help="also time each tool's build into an empty cache")
    args = parser.parse_args()
    settings = Settings.load()
    for tool in (RELAY, JETSTREAM, TAP):
        ensure_tool(settings.cache_dir, tool, go=settings.go)
    with LocalRuntime(settings) as runtime:
        results: dict = {"posts": args.posts}
        results["delivery_latency"] = {name: summary(values) for name, values in latencies(runtime, args.posts).items()}
    if args.cold_build:
        results["cold_build_seconds"] = {tool.binary: round(cold_build(tool), 1) for tool in (JETSTREAM, TAP)}
    path = write_results("sync_tools", results)
    print(f"\nwrote {path}\n")
    print("| stream | delivery p50 | p99 |")
    print("|---|---|---|")
    for name, values in results["delivery_latency"].items():
        print(f"| {name} | {values['median_ms']} ms | {values['p99_ms']} ms |")
    for name, seconds in results.get("cold_build_seconds", {}).items():
        print(f"| first build of {name} (empty cache) | {seconds} s | |")


if __name__ == "__main__":
    main()
