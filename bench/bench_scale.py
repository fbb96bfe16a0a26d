"""Speed at scale (issue: parallel runs, isolation cost, benchmarks vs peers).

Run with ``./dev bench scale``. Side by side, in one run on this machine:

* the acceptance suite (``features/``): sequential behave vs ``atproto-bdd run -j 2``;
* isolation cost: 20 scenarios with a fresh network each vs one network shared
  by the feature (``@network:feature``);
* a generated 50-scenario suite (2 accounts, 3 posts, one firehose assertion
  per scenario, each on a fresh network) on atproto-bdd vs the same scenarios
  against @atproto/dev-env with its own network per scenario (devenv/scenarios.js);
* memory: RSS of the Node host running 1, 5 and 20 PDSes.

Targets: a generated scenario <= 0.5 s median; -j 2 speedup >= 1.6x; the
50-scenario ratio (atproto-bdd / dev-env) <= 1.0.
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
from pathlib import Path

from common import BENCH_DIR, devenv_install, write_results

from atproto_bdd.services import LocalRuntime, Network, PdsSpec
from atproto_bdd.settings import Settings

ROOT = BENCH_DIR.parent


def wall(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Seconds a command takes; it must succeed."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def suite_sequential_vs_parallel(rounds: int) -> dict[str, float]:
    """The acceptance suite on one behave process and on two workers."""
    reports = tempfile.mkdtemp(dir=_SCRATCH.name)
    behave = [sys.executable, "-m", "behave", "--format", "null", "-D", f"report_dir={reports}/seq", "features"]
    parallel = [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", "2", "--reports", f"{reports}/par", "features"]
    sequential_times, parallel_times = [], []
    for _ in range(rounds):
        sequential_times.append(wall(behave, ROOT))
        parallel_times.append(wall(parallel, ROOT))
    seq, par = statistics.median(sequential_times), statistics.median(parallel_times)
    return {"sequential_s": round(seq, 1), "parallel_j2_s": round(par, 1), "speedup": round(seq / par, 2)}


_SCRATCH = tempfile.TemporaryDirectory(prefix="atproto-bdd-bench-")  # removed at exit


def project(features: dict[str, str]) -> Path:
    """A throw-away behave project with the given feature files."""
    root = Path(tempfile.mkdtemp(dir=_SCRATCH.name))
    (root / "features").mkdir()
    (root / "steps").mkdir()
    (root / "steps" / "lib.py").write_text("from atproto_bdd.steps import *\n")
    (root / "environment.py").write_text("from atproto_bdd.hooks import *\n")
    for name, text in features.items():
        (root / "features" / name).write_text(text)
    return root


def behave_scenarios(root: Path) -> tuple[float, list[float]]:
    """Wall seconds of a behave run and each scenario's duration (from its JSON report)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "behave", "-f", "json", "-o", "report.json", "-D", "report_dir="],
        cwd=root,
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    report = json.loads((root / "report.json").read_text())
    durations = [
        sum(step["result"]["duration"] for step in element["steps"] if "result" in step)
        for feature in report
        for element in feature["elements"]
        if element["type"] == "scenario"
    ]
    return elapsed, durations


def isolation(count: int) -> dict[str, float]:
    """Per-scenario cost with a fresh network each vs one shared network."""
    lines = [
        "Feature: isolation",
        "  Background:",
        "    Given a PDS named A",
        "    And an account alice.test",
        "    And an account bob.test",
    ]
    for index in range(count):
        lines += [
            f"  Scenario: s{index}",
            f'    When alice.test posts "post {index}"',
            f'    Then alice.test\'s latest post has text "post {index}"',
        ]
    text = "\n".join(lines) + "\n"
    fresh_wall, fresh = behave_scenarios(project({"f.feature": text}))
    shared_wall, shared = behave_scenarios(project({"f.feature": "@network:feature\n" + text}))
    return {
        "scenarios": count,
        "fresh_median_ms": round(statistics.median(fresh) * 1000, 1),
        "shared_median_ms": round(statistics.median(shared) * 1000, 1),
        "fresh_wall_s": round(fresh_wall, 1),
        "shared_wall_s": round(shared_wall, 1),
    }


def generated_vs_devenv(count: int) -> dict[str, float]:
    """The same generated scenarios on atproto-bdd and on @atproto/dev-env."""
    lines = ["Feature: generated"]
    for index in range(count):
        lines += [
            f"  Scenario: s{index}",
            "    Given a PDS named A",
            "    And an account alice.test",
            "    And an account bob.test",
            '    When alice.test posts "one"',
            '    And alice.test posts "two"',
            '    And alice.test posts "three"',
            "    Then the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post",
        ]
    ours_wall, ours = behave_scenarios(project({"g.feature": "\n".join(lines) + "\n"}))
    modules = devenv_install().node_modules
    started = time.perf_counter()
    output = subprocess.run(
        ["node", str(BENCH_DIR / "devenv" / "scenarios.js"), str(count)],
        env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    devenv_wall = time.perf_counter() - started
    assert json.loads(output.strip().splitlines()[-1])["scenarios"] == count
    return {
        "scenarios": count,
        "atproto_bdd_wall_s": round(ours_wall, 1),
        "dev_env_wall_s": round(devenv_wall, 1),
        "ratio": round(ours_wall / devenv_wall, 3),
        "scenario_median_ms": round(statistics.median(ours) * 1000, 1),
    }


def host_rss(counts: tuple[int, ...]) -> dict[str, float]:
    """Resident memory (MiB) of a fresh Node host after starting N PDSes."""
    results = {}
    for count in counts:
        with LocalRuntime(Settings.load()) as runtime:
            network = Network(runtime)
            for index in range(count):
                network.add_pds(PdsSpec(name=f"P{index}"))
            time.sleep(1)
            status = Path(f"/proc/{runtime.host.pid}/status").read_text()
            rss_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            results[f"{count}_pds_mib"] = round(rss_kib / 1024, 1)
            network.close(wait=True)
    return results


def main() -> None:
    """Run every measure and write results/scale.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--generated", type=int, default=50)
    parser.add_argument("--isolation", type=int, default=20)
    args = parser.parse_args()
    results = {
        "suite": suite_sequential_vs_parallel(args.rounds),
        "isolation": isolation(args.isolation),
        "generated_vs_dev_env": generated_vs_devenv(args.generated),
        "host_rss": host_rss((1, 5, 20)),
    }
    path = write_results("scale", results)
    suite, iso, gen, rss = (results[k] for k in ("suite", "isolation", "generated_vs_dev_env", "host_rss"))
    print(f"\nwrote {path}\n")
    print("| measure | result | target |")
    print("|---|---|---|")
    print(
        f"| acceptance suite, sequential vs -j 2 (median of {args.rounds}) | {suite['sequential_s']} s vs "
        f"{suite['parallel_j2_s']} s, speedup {suite['speedup']}x | >= 1.6x |"
    )
    print(
        f"| isolation, {iso['scenarios']} scenarios: fresh network vs shared (median per scenario) | "
        f"{iso['fresh_median_ms']} ms vs {iso['shared_median_ms']} ms | |"
    )
    print(
        f"| {gen['scenarios']} generated scenarios: atproto-bdd vs dev-env (wall) | {gen['atproto_bdd_wall_s']} s vs "
        f"{gen['dev_env_wall_s']} s, ratio {gen['ratio']} | <= 1.0 |"
    )
    label = "generated scenario (fresh network, 2 accounts, 3 posts, firehose check), median"
    print(f"| {label} | {gen['scenario_median_ms']} ms | <= 500 ms |")
    print(
        f"| Node host RSS with 1 / 5 / 20 PDSes | {rss['1_pds_mib']} / {rss['5_pds_mib']} / {rss['20_pds_mib']} MiB | |"
    )


if __name__ == "__main__":
    main()
