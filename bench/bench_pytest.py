"""The pytest plugin against behave, on the scale benchmark's generated workload.

The same 50 units of work as ``bench_scale.py``'s generated suite - a fresh
network, PDS A, two accounts, three posts, one firehose check - written once
as a feature file (behave, our hooks) and once as 50 pytest tests using the
fixtures (``atproto_world``, ``atproto_account``). Interleaved rounds:

* per unit: behave from before_scenario's start to after_scenario's end (the
  hooks' work included); pytest from the setup phase's start to the teardown
  phase's end (a ``conftest.py`` hook wrapper times it);
* whole process: ``behave`` vs ``pytest`` vs ``pytest -n 2``.

Targets: pytest's per-test median within 1.1x of behave's per-scenario median;
``-n 2`` at least 1.6x faster than sequential pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_scale import behave_scenarios, generated_feature, median_ms, project
from common import load_average, results_name, write_results

# Times each test from the start of its setup to the end of its teardown, one JSON number per line.
TIMED_CONFTEST = """
import json, os, time
import pytest

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        with open(os.environ["BENCH_TIMES"], "a") as out:
            out.write(json.dumps(time.perf_counter() - started) + "\\n")
"""

TEST = """
def test_s{index}(atproto_world, atproto_accounts):
    atproto_world.ensure_pds("A")
    alice, _ = atproto_accounts("alice.test", "bob.test")  # together, as behave's consecutive account steps
    atproto_world.open_window()
    alice.post("one")
    alice.post("two")
    alice.post("three")
    query = atproto_world.event_query("commit", "alice.test", action="create", collection="app.bsky.feed.post")
    atproto_world.expect_on_pds("A", query)
"""


def pytest_run(root: Path, workers: int) -> dict[str, Any]:
    """One pytest process over the generated tests: its wall clock and each test's time."""
    times = root / f"times-{time.monotonic_ns()}.jsonl"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if workers > 1:
        argv += ["-n", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env={**os.environ, "BENCH_TIMES": str(times)}, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pytest failed:\n{done.stdout.decode()[-3000:]}")
    samples = [json.loads(line) for line in times.read_text().splitlines()]
    times.unlink()
    return {"wall": elapsed, "scenarios": samples}


def main() -> None:
    """Run the comparison and write results/pytest.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    behave_root = project({"g.feature": generated_feature(args.count)})
    pytest_root = project({})
    (pytest_root / "conftest.py").write_text(TIMED_CONFTEST)
    (pytest_root / "test_generated.py").write_text("".join(TEST.format(index=i) for i in range(args.count)))
    sides = {
        "behave": lambda: behave_scenarios(behave_root),
        "pytest": lambda: pytest_run(pytest_root, 1),
        "pytest_n2": lambda: pytest_run(pytest_root, 2),
    }
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    load_start = load_average()
    for _ in range(args.rounds):
        for side, run in sides.items():
            runs[side].append(run())
    results: dict[str, Any] = {"units": args.count, "rounds": args.rounds, "load_start": load_start}
    for side, side_runs in runs.items():
        results[side] = {
            "wall_median_s": round(statistics.median(r["wall"] for r in side_runs), 2),
            "unit_median_ms": median_ms([t for r in side_runs for t in r["scenarios"]]),
            "walls_s": [round(r["wall"], 2) for r in side_runs],
        }
    results["load_end"] = load_average()
    results["per_unit_ratio_pytest_vs_behave"] = round(
        results["pytest"]["unit_median_ms"] / results["behave"]["unit_median_ms"], 3
    )
    results["speedup_n2_vs_sequential"] = round(
        results["pytest"]["wall_median_s"] / results["pytest_n2"]["wall_median_s"], 2
    )
    path = write_results(results_name("pytest"), results)
    print(json.dumps({k: v for k, v in results.items() if k not in ("load_start", "load_end")}, indent=1))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
