"""Core benchmarks (issue: embedded network): cold start, warm PDS, step overhead.

Run with ``./dev bench core``. Writes ``bench/results/core.json`` and prints a
Markdown table. Targets (checked here, never in timed tests):

* cold: Python call to "PLC + one PDS ready" <= 1.0x @atproto/dev-env's
  ``TestNetworkNoAppView.create()`` in its own process;
* warm: a fresh PDS inside a running host, median <= 150 ms;
* 200 posts via the steps vs 200 raw httpx createRecord calls: ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCH_DIR, devenv_install, summary, write_results

from atproto_bdd.services import LocalRuntime, Network, PdsSpec
from atproto_bdd.services.node_install import ensure_node_services
from atproto_bdd.settings import Settings


def cold_ours() -> float:
    """Seconds from a Python call to a ready PLC + PDS on a new runtime (Node start included)."""
    started = time.perf_counter()
    runtime = LocalRuntime(Settings.load())
    runtime.start()
    network = Network(runtime)
    network.add_pds(PdsSpec(name="A"))
    elapsed = time.perf_counter() - started
    runtime.close()
    return elapsed


def cold_devenv(node_modules: Path) -> float:
    """Seconds from spawning dev-env's TestNetworkNoAppView.create() to its ready line."""
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    started = time.perf_counter()
    process = subprocess.Popen(
        ["node", str(BENCH_DIR / "devenv" / "network.js")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=node_modules.parent,
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    if not json.loads(line or "{}").get("ready"):
        raise RuntimeError(f"dev-env did not start: {line!r}")
    process.stdin.close()
    process.wait(timeout=30)
    return elapsed


def warm(rounds: int) -> tuple[list[float], list[float]]:
    """Per round: seconds for a fresh PDS in a running host, and for a whole fresh network."""
    pds_times, network_times = [], []
    with LocalRuntime(Settings.load()) as runtime:
        for _ in range(3):  # let the host's JIT settle
            with Network(runtime) as network:
                network.add_pds(PdsSpec(name="A"))
        for _ in range(rounds):
            started = time.perf_counter()
            network = Network(runtime)
            before_pds = time.perf_counter()
            network.add_pds(PdsSpec(name="A"))
            done = time.perf_counter()
            pds_times.append(done - before_pds)
            network_times.append(done - started)
            network.close(wait=True)
    return pds_times, network_times


RAW_STEP = '''
import json, os, time
import httpx
from behave import when
from atproto_bdd.world.bsky import post_record

@when("{count:d} raw createRecord calls are made as {handle:Handle}")
def raw_calls(context, count, handle):
    """Times COUNT createRecord calls with a bare httpx client on the same PDS."""
    account = context.atproto.account(handle)
    headers = {"authorization": f"Bearer {account.session.access_jwt}"}
    with httpx.Client(base_url=account.pds.url, headers=headers, timeout=15) as client:
        started = time.perf_counter()
        for i in range(count):
            body = {"repo": account.did, "collection": "app.bsky.feed.post", "record": post_record(f"raw {i}")}
            client.post("/xrpc/com.atproto.repo.createRecord", json=body).raise_for_status()
        elapsed = time.perf_counter() - started
    with open(os.environ["RAW_RESULTS"], "a") as out:
        out.write(json.dumps(elapsed) + "\\n")
'''


def step_overhead(posts: int) -> dict[str, float]:
    """200 posts through the steps vs 200 raw createRecord calls, in one behave run on one PDS."""
    with tempfile.TemporaryDirectory(prefix="atproto-bdd-bench-") as tmp:
        root = Path(tmp)
        (root / "features").mkdir()
        (root / "steps").mkdir()
        (root / "environment.py").write_text("from atproto_bdd.hooks import *\n")
        (root / "steps" / "lib.py").write_text("from atproto_bdd.steps import *\n")
        (root / "steps" / "raw.py").write_text(RAW_STEP)
        lines = ["Feature: overhead", "  Scenario: posts", "    Given an account alice.test"]
        lines.append(f"    When {posts} raw createRecord calls are made as alice.test")
        lines += [f'    When alice.test posts "post {i}"' for i in range(posts)]
        lines.append(f"    When {posts} raw createRecord calls are made as alice.test")
        (root / "features" / "overhead.feature").write_text("\n".join(lines) + "\n")
        raw_file = root / "raw.jsonl"
        subprocess.run(
            [sys.executable, "-m", "behave", "-f", "json", "-o", "report.json", "--no-summary"],
            cwd=root,
            env={**os.environ, "RAW_RESULTS": str(raw_file)},
            check=True,
        )
        report = json.loads((root / "report.json").read_text())
        steps = report[0]["elements"][0]["steps"]
        step_seconds = sum(s["result"]["duration"] for s in steps if s["name"].startswith("alice.test posts"))
        raw = [json.loads(line) for line in raw_file.read_text().splitlines()]
    raw_seconds = sum(raw) / len(raw)
    return {
        "posts": posts,
        "steps_total_ms": round(step_seconds * 1000, 1),
        "raw_total_ms": round(raw_seconds * 1000, 1),
        "steps_per_post_ms": round(step_seconds * 1000 / posts, 2),
        "raw_per_post_ms": round(raw_seconds * 1000 / posts, 2),
        "ratio": round(step_seconds / raw_seconds, 3),
    }


def main() -> None:
    """Run every core benchmark and write results/core.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold-rounds", type=int, default=5)
    parser.add_argument("--warm-rounds", type=int, default=40)
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()

    devenv = devenv_install()
    ensure_node_services(Settings.load().cache_dir)  # installs are not part of any measurement
    ours, theirs = [], []
    for _ in range(args.cold_rounds):  # interleaved, so both see the same machine state
        ours.append(cold_ours())
        theirs.append(cold_devenv(devenv.node_modules))
    pds_times, network_times = warm(args.warm_rounds)
    overhead = step_overhead(args.posts)

    cold = {"atproto_bdd": summary(ours), "dev_env": summary(theirs)}
    cold["ratio"] = round(cold["atproto_bdd"]["median_ms"] / cold["dev_env"]["median_ms"], 3)
    results = {
        "cold_plc_plus_pds": cold,
        "warm_fresh_pds": summary(pds_times),
        "warm_fresh_network": summary(network_times),
        "step_overhead": overhead,
    }
    path = write_results("core", results)
    print(f"\nwrote {path}\n")
    print("| measure | atproto-bdd | reference | target |")
    print("|---|---|---|---|")
    print(
        f"| cold: PLC + 1 PDS ready (median of {args.cold_rounds}) | {cold['atproto_bdd']['median_ms']} ms "
        f"| dev-env {cold['dev_env']['median_ms']} ms (ratio {cold['ratio']}) | <= 1.0x |"
    )
    warm_pds, warm_network = results["warm_fresh_pds"]["median_ms"], results["warm_fresh_network"]["median_ms"]
    print(f"| warm: fresh PDS in running host (median of {args.warm_rounds}) | {warm_pds} ms | | <= 150 ms |")
    print(f"| warm: fresh PLC + PDS (median of {args.warm_rounds}) | {warm_network} ms | | |")
    print(
        f"| {args.posts} posts via steps vs raw httpx | {overhead['steps_total_ms']} ms "
        f"| raw {overhead['raw_total_ms']} ms (ratio {overhead['ratio']}) | <= 1.2 |"
    )


if __name__ == "__main__":
    main()
