"""Core benchmarks (issue: embedded network): cold start, warm PDS, step overhead.

Run with ``./dev bench core``. Writes ``bench/results/core.json`` and prints a
Markdown table. Targets (checked here, never in timed tests):

* cold: Python call to "PLC + one PDS ready" <= 1.0x @atproto/dev-env's
  ``TestNetworkNoAppView.create()`` in its own process, with the same service modules
  loaded (dev-env's network-no-appview module: PDS and PLC, no bsky or ozone); the whole
  package (``require('@atproto/dev-env')``) is measured too, for reference, and module
  loading and network creation are reported separately for both;
* warm: a fresh PDS inside a running host, median <= 150 ms;
* 200 posts via the steps vs 200 raw httpx createRecord calls: ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    devenv_install,
    devenv_versions,
    load_average,
    reference_env,
    results_name,
    summary,
    write_results,
)

from atproto_bdd.services import LocalRuntime, Network, PdsSpec
from atproto_bdd.services.node_host import NodeHost
from atproto_bdd.services.node_install import NodeInstall, ensure_node_services
from atproto_bdd.settings import Settings


@contextmanager
def host_call_times() -> Iterator[dict[str, float]]:
    """perf_counter() when each host command (``hello``, ``warm``) answered, while inside."""
    answered: dict[str, float] = {}
    # Every command's answer passes through _result (start() submits hello and warm at once and
    # waits for each there; call() does the same for one command).
    original = NodeHost._result

    def result(self: NodeHost, cmd: str, future: Future[dict[str, Any]], timeout: float) -> dict[str, Any]:
        value = original(self, cmd, future, timeout)
        answered.setdefault(cmd, time.perf_counter())
        return value

    NodeHost._result = result  # type: ignore[method-assign]
    try:
        yield answered
    finally:
        NodeHost._result = original  # type: ignore[method-assign]


def cold_ours() -> dict[str, float]:
    """A ready PLC + PDS on a new runtime, from a Python call (Node start included), and its parts.

    ``boot_and_load``: spawning the host until it answers ``warm`` (Node start, host.js, then
    requiring @atproto/pds and @did-plc/server; the host reads both commands before it answers
    ``hello``, so the two are no longer told apart); ``create``: a PLC directory and a PDS
    started and healthy.
    """
    with host_call_times() as answered:
        started = time.perf_counter()
        runtime = LocalRuntime(Settings.load())
        runtime.start()
        loaded = time.perf_counter()
        network = Network(runtime)
        network.add_pds(PdsSpec(name="A"))
        done = time.perf_counter()
    runtime.close()
    return {
        "total": done - started,
        "boot_and_load": answered["warm"] - started,
        "create": done - loaded,
    }


def cold_devenv(devenv: NodeInstall, mode: str, compile_cache: Path | None = None) -> dict[str, float]:
    """Spawning dev-env's TestNetworkNoAppView.create() until its ready line, and its parts.

    ``mode`` ``pds`` requires only dev-env's network-no-appview module (PDS and PLC, as our
    host), ``full`` the whole package (bsky and ozone too). ``load`` and ``create`` are
    measured inside the script (its require() and create()); ``total`` from here, so it
    also holds Node's own start. With ``compile_cache`` it runs with ``NODE_COMPILE_CACHE``
    there, as our host does (Node.js 22.1+), so the comparison stays equal.
    """
    node_modules = devenv.node_modules
    env = reference_env(NODE_PATH=str(node_modules))
    env.pop("NODE_COMPILE_CACHE", None)
    if compile_cache is not None:
        env["NODE_COMPILE_CACHE"] = str(compile_cache)
    started = time.perf_counter()
    process = subprocess.Popen(
        [devenv.node, str(BENCH_DIR / "devenv" / "network.js"), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=node_modules.parent,
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    ready = json.loads(line or "{}")
    if not ready.get("ready"):
        raise RuntimeError(f"dev-env did not start: {line!r}")
    process.stdin.close()
    process.wait(timeout=30)
    if mode == "pds" and (ready["modules"]["bsky"] or ready["modules"]["ozone"]):
        raise RuntimeError(f"dev-env loaded bsky/ozone modules in pds mode: {ready['modules']}")
    return {
        "total": elapsed,
        "load": ready["loadMs"] / 1000,
        "create": ready["createMs"] / 1000,
        "modules": ready["modules"],
    }


def cold(rounds: int, devenv: NodeInstall) -> dict[str, Any]:
    """Ours vs dev-env (PDS/PLC modules only) vs dev-env (whole package), interleaved."""
    sides: dict[str, list[dict[str, Any]]] = {
        "atproto_bdd": [],
        "dev_env_pds_only": [],
        "dev_env_pds_only_compile_cache": [],
        "dev_env_full": [],
    }
    load_start = load_average()
    compile_cache = Path(tempfile.mkdtemp(prefix="atproto-bdd-devenv-compile-cache-"))
    cold_devenv(devenv, "pds", compile_cache)  # fills it, as our host's first run fills ours
    for _ in range(rounds):  # interleaved (ABCABC...), so every side sees the same machine state
        sides["atproto_bdd"].append(cold_ours())
        sides["dev_env_pds_only"].append(cold_devenv(devenv, "pds"))
        sides["dev_env_pds_only_compile_cache"].append(cold_devenv(devenv, "pds", compile_cache))
        sides["dev_env_full"].append(cold_devenv(devenv, "full"))
    load_end = load_average()
    result: dict[str, Any] = {"rounds": rounds, "load_start": load_start, "load_end": load_end}
    for side, samples in sides.items():
        parts = [key for key in samples[0] if key != "modules"]
        result[side] = {part: summary([sample[part] for sample in samples]) for part in parts}
        if "modules" in samples[0]:
            result[side]["modules_loaded"] = samples[0]["modules"]
    references = ("dev_env_pds_only", "dev_env_pds_only_compile_cache", "dev_env_full")
    for reference in references:  # per round: the sides ran back to back
        pairs = zip(sides["atproto_bdd"], sides[reference], strict=True)
        ratios = [a["total"] / b["total"] for a, b in pairs]
        result[f"paired_ratio_median_vs_{reference.removeprefix('dev_env_')}"] = round(statistics.median(ratios), 3)
    ours = result["atproto_bdd"]["total"]["median_ms"]
    result["ratio_vs_pds_only"] = round(ours / result["dev_env_pds_only"]["total"]["median_ms"], 3)
    result["ratio_vs_full"] = round(ours / result["dev_env_full"]["total"]["median_ms"], 3)
    cached = result["dev_env_pds_only_compile_cache"]["total"]["median_ms"]
    result["ratio_vs_pds_only_compile_cache"] = round(ours / cached, 3)
    return result


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


def ms(side: dict[str, Any], part: str = "total") -> float:
    """A side's median for one part, in ms."""
    return side[part]["median_ms"]


def main() -> None:
    """Run every core benchmark and write results/core.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold-rounds", type=int, default=9)
    parser.add_argument("--warm-rounds", type=int, default=40)
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()

    devenv = devenv_install()
    settings = Settings.load()
    # Installs are not part of any measurement.
    ensure_node_services(settings.cache_dir, line=settings.pds_version, node=settings.node, npm=settings.npm)
    with LocalRuntime(Settings.load()) as runtime:
        ours_versions = {k: v for k, v in runtime.versions.items() if k != "pid"}
    versions = {"atproto_bdd_host": ours_versions, "dev_env": devenv_versions(devenv.node_modules)}

    cold_results = cold(args.cold_rounds, devenv)
    warm_load_start = load_average()
    pds_times, network_times = warm(args.warm_rounds)
    warm_load_end = load_average()
    overhead_load_start = load_average()
    overhead = step_overhead(args.posts)
    overhead.update(load_start=overhead_load_start, load_end=load_average())

    results = {
        "versions": versions,
        "cold_plc_plus_pds": cold_results,
        "warm": {"load_start": warm_load_start, "load_end": warm_load_end},
        "warm_fresh_pds": summary(pds_times),
        "warm_fresh_network": summary(network_times),
        "step_overhead": overhead,
    }
    path = write_results(results_name("core"), results)
    ours, pds_only, full = (cold_results[k] for k in ("atproto_bdd", "dev_env_pds_only", "dev_env_full"))
    print(f"\nwrote {path}\n")
    print(f"versions: {json.dumps(versions)}")
    print(f"cold load average {cold_results['load_start']} -> {cold_results['load_end']}")
    print(
        f"cold paired ratios (median over rounds): vs PDS/PLC only {cold_results['paired_ratio_median_vs_pds_only']}, "
        f"vs whole package {cold_results['paired_ratio_median_vs_full']}\n"
    )
    print("| measure | atproto-bdd | reference | target |")
    print("|---|---|---|---|")
    print(
        f"| cold: PLC + 1 PDS ready (median of {args.cold_rounds}) | {ms(ours)} ms "
        f"| dev-env, PDS/PLC modules only: {ms(pds_only)} ms (ratio {cold_results['ratio_vs_pds_only']}) | <= 1.0x |"
    )
    cached = cold_results["dev_env_pds_only_compile_cache"]
    print(
        f"| cold, reference: dev-env PDS/PLC only with NODE_COMPILE_CACHE | | {ms(cached)} ms "
        f"(ratio {cold_results['ratio_vs_pds_only_compile_cache']}) | |"
    )
    print(f"| cold, reference: dev-env whole package | | {ms(full)} ms (ratio {cold_results['ratio_vs_full']}) | |")
    print(
        f"| cold: Node start + module loading | {ms(ours, 'boot_and_load')} ms "
        f"| module loading alone: {ms(pds_only, 'load')} ms (whole package: {ms(full, 'load')} ms) | |"
    )
    print(
        f"| cold: PLC + PDS creation | {ms(ours, 'create')} ms | {ms(pds_only, 'create')} ms "
        f"(whole package: {ms(full, 'create')} ms) | |"
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
