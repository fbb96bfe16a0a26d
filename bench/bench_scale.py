"""Speed at scale (issue: parallel runs, isolation cost, benchmarks vs peers).

Run with ``./dev bench scale``. Side by side, in one run on this machine:

* the acceptance suite (``features/``): sequential behave vs ``atproto-bdd run -j 2``;
* isolation cost: 20 scenarios with a fresh network each (their Background restored
  from its snapshot, the default, or run every time) vs one network shared by the
  feature (``@network:feature``);
* a generated 50-scenario suite (2 accounts, 3 posts, one firehose assertion
  per scenario, each on a fresh network) on atproto-bdd vs the same scenarios
  against @atproto/dev-env with its own network per scenario (devenv/scenarios.js),
  which awaits ``network.close()`` per scenario: compared by process wall clock
  (start, hooks, teardown and exit included), with atproto-bdd both as it runs
  (networks stopped in the background, after_all waits for them) and waiting for
  each network to stop, and dev-env with only its PDS/PLC modules required (the
  whole package for reference); per-scenario times include the hooks; the same work
  with the PDS and accounts in a Background (restored per scenario) as a fifth side;
* the -j curve: the generated suite through ``atproto-bdd run -j 1/2/4`` (wall clock and
  the peak RSS of the whole process tree: workers, hosts);
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import BENCH_DIR, devenv_install, devenv_versions, load_average, reference_env, results_name, write_results

from atproto_bdd.services import LocalRuntime, Network, PdsSpec
from atproto_bdd.services.node_install import NodeInstall
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


def suite_sequential_vs_parallel(rounds: int) -> dict[str, Any]:
    """The acceptance suite on one behave process and on two workers."""
    reports = tempfile.mkdtemp(dir=_SCRATCH.name)
    behave = [sys.executable, "-m", "behave", "--format", "null", "-D", f"report_dir={reports}/seq", "features"]
    parallel = [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", "2", "--reports", f"{reports}/par", "features"]
    sequential_times, parallel_times = [], []
    load_start = load_average()
    for _ in range(rounds):  # ABAB...
        sequential_times.append(wall(behave, ROOT))
        parallel_times.append(wall(parallel, ROOT))
    seq, par = statistics.median(sequential_times), statistics.median(parallel_times)
    return {
        "sequential_s": round(seq, 1),
        "parallel_j2_s": round(par, 1),
        "speedup": round(seq / par, 2),
        "sequential_runs_s": [round(t, 1) for t in sequential_times],
        "parallel_runs_s": [round(t, 1) for t in parallel_times],
        "load_start": load_start,
        "load_end": load_average(),
    }


_SCRATCH = tempfile.TemporaryDirectory(prefix="atproto-bdd-bench-")  # removed at exit


# The generated projects' environment.py: atproto-bdd's hooks, wrapped to time each scenario
# from before_scenario's start to after_scenario's end (the hooks' own work included), one
# JSON number per line in $BENCH_TIMES. With BENCH_WAIT_TEARDOWN=1 after_scenario also
# waits until the scenario's network has stopped (atproto-bdd normally stops it in the
# background while the next scenario runs; after_all waits for whatever is still stopping).
TIMED_ENVIRONMENT = """
import json, os, time
from atproto_bdd import hooks
from atproto_bdd.hooks import *  # noqa: F401,F403

_WAIT = os.environ.get("BENCH_WAIT_TEARDOWN") == "1"


def before_scenario(context, scenario):
    context.bench_started = time.perf_counter()
    hooks.before_scenario(context, scenario)


def after_scenario(context, scenario):
    world = getattr(context, "atproto", None)
    shared = world is not None and world is getattr(context, hooks._FEATURE_WORLD, None)
    if _WAIT and world is not None and not shared:
        world.close(wait=True)  # the hook's own close() then finds the network stopped
    hooks.after_scenario(context, scenario)
    with open(os.environ["BENCH_TIMES"], "a") as out:
        out.write(json.dumps(time.perf_counter() - context.bench_started) + "\\n")
"""


def project(features: dict[str, str], environment: str = TIMED_ENVIRONMENT) -> Path:
    """A throw-away behave project with the given feature files (and the timed environment.py)."""
    root = Path(tempfile.mkdtemp(dir=_SCRATCH.name))
    (root / "features").mkdir()
    (root / "steps").mkdir()
    (root / "steps" / "lib.py").write_text("from atproto_bdd.steps import *\n")
    (root / "environment.py").write_text(environment)
    for name, text in features.items():
        (root / "features" / name).write_text(text)
    return root


def behave_scenarios(root: Path, *args: str, wait_teardown: bool = False) -> dict[str, Any]:
    """One behave run of ``root``: its process wall clock and each scenario's times.

    ``wall``: the behave process from spawn to exit (Python start, the host's start,
    every hook, after_all's clean-up). ``scenarios``: per scenario, before_scenario's
    start to after_scenario's end (see TIMED_ENVIRONMENT). ``steps``: per scenario, the
    sum of its steps' durations in behave's JSON report (hooks not included). ``args``:
    more behave arguments (``-D background_snapshots=false``).
    """
    times = root / f"times-{time.monotonic_ns()}.jsonl"
    report = root / "report.json"
    env = {**os.environ, "BENCH_TIMES": str(times), "BENCH_WAIT_TEARDOWN": "1" if wait_teardown else "0"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "behave", "-f", "json", "-o", str(report), "-D", "report_dir=", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    steps = [
        sum(step["result"]["duration"] for step in element["steps"] if "result" in step)
        for feature in json.loads(report.read_text())
        for element in feature["elements"]
        if element["type"] == "scenario"
    ]
    scenarios = [json.loads(line) for line in times.read_text().splitlines()]
    times.unlink()
    return {"wall": elapsed, "scenarios": scenarios, "steps": steps}


def median_ms(samples: list[float]) -> float:
    """Median of seconds, in ms."""
    return round(statistics.median(samples) * 1000, 1)


def isolation(count: int, rounds: int) -> dict[str, Any]:
    """Per-scenario cost with a fresh network each (restored from the Background's snapshot, the default; or
    the Background run every time) vs one shared network, interleaved."""
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
    fresh_root = project({"f.feature": text})
    shared_root = project({"f.feature": "@network:feature\n" + text})
    runs: dict[str, list[dict[str, Any]]] = {"fresh": [], "fresh_no_snapshots": [], "shared": []}
    load_start = load_average()
    for _ in range(rounds):  # ABCABC...
        runs["fresh"].append(behave_scenarios(fresh_root))
        runs["fresh_no_snapshots"].append(behave_scenarios(fresh_root, "-D", "background_snapshots=false"))
        runs["shared"].append(behave_scenarios(shared_root))
    result: dict[str, Any] = {
        "scenarios": count,
        "rounds": rounds,
        "load_start": load_start,
        "load_end": load_average(),
    }
    for side, side_runs in runs.items():
        result[side] = {
            "scenario_median_ms": median_ms([t for run in side_runs for t in run["scenarios"]]),
            "steps_median_ms": median_ms([t for run in side_runs for t in run["steps"]]),
            "wall_median_s": round(statistics.median(run["wall"] for run in side_runs), 2),
        }
    return result


def devenv_scenarios(count: int, devenv: NodeInstall, mode: str) -> dict[str, Any]:
    """One run of devenv/scenarios.js: its process wall clock and per-scenario times (close awaited)."""
    started = time.perf_counter()
    output = subprocess.run(
        [devenv.node, str(BENCH_DIR / "devenv" / "scenarios.js"), str(count), mode],
        env=reference_env(NODE_PATH=str(devenv.node_modules)),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - started
    line = json.loads(output.strip().splitlines()[-1])
    assert line["scenarios"] == count
    return {
        "wall": elapsed,
        "scenarios": [ms / 1000 for ms in line["scenarioMs"]],
        "close": [ms / 1000 for ms in line["closeMs"]],
        "load": line["loadMs"] / 1000,
    }


GENERATED_GIVEN = ["    Given a PDS named A", "    And an account alice.test", "    And an account bob.test"]
#: The same network in the short form users write: no PDS step (PDS A starts with the first account).
SHORT_GIVEN = ["    Given an account alice.test", "    And an account bob.test"]


def generated_feature(count: int, *, background: bool = False, short: bool = False) -> str:
    """The generated suite: ``count`` scenarios of a fresh network, 2 accounts, 3 posts, one firehose check.

    ``background``: the PDS and the accounts declared once, in a Background (each scenario still gets a
    network of its own: restored from the Background's snapshot). ``short``: without `Given a PDS named A`.
    """
    given = SHORT_GIVEN if short else GENERATED_GIVEN
    lines = ["Feature: generated"] + (["  Background:", *given] if background else [])
    for index in range(count):
        lines += [
            f"  Scenario: s{index}",
            *([] if background else given),
            '    When alice.test posts "one"',
            '    And alice.test posts "two"',
            '    And alice.test posts "three"',
            "    Then the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post",
        ]
    return "\n".join(lines) + "\n"


def generated_vs_devenv(count: int, rounds: int) -> dict[str, Any]:
    """The same generated scenarios on atproto-bdd and on @atproto/dev-env, interleaved.

    Six sides per round: atproto-bdd as it runs (networks stopped in the background), the same in the short
    form (no `Given a PDS named A`: issue 40 wants it as fast),
    atproto-bdd waiting for each network to stop in after_scenario, atproto-bdd with the
    PDS and accounts in a Background (the same work per scenario, each on a network of its
    own restored from the Background's snapshot), dev-env with only its PDS/PLC modules
    required, dev-env with the whole package required. dev-env always awaits
    ``network.close()`` inside each scenario.
    """
    root = project({"g.feature": generated_feature(count)})
    short_root = project({"g.feature": generated_feature(count, short=True)})
    background_root = project({"g.feature": generated_feature(count, background=True)})
    devenv = devenv_install()
    sides: dict[str, Callable[[], dict[str, Any]]] = {
        "atproto_bdd": lambda: behave_scenarios(root),
        "atproto_bdd_short": lambda: behave_scenarios(short_root),
        "atproto_bdd_awaited_teardown": lambda: behave_scenarios(root, wait_teardown=True),
        "atproto_bdd_background": lambda: behave_scenarios(background_root),
        "dev_env_pds_only": lambda: devenv_scenarios(count, devenv, "pds"),
        "dev_env_full": lambda: devenv_scenarios(count, devenv, "full"),
    }
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    load_start = load_average()
    for _ in range(rounds):  # ABCDEABCDE...
        for side, run in sides.items():
            runs[side].append(run())
    result: dict[str, Any] = {
        "scenarios": count,
        "rounds": rounds,
        "load_start": load_start,
        "load_end": load_average(),
    }
    for side, side_runs in runs.items():
        wall = statistics.median(run["wall"] for run in side_runs)
        entry: dict[str, Any] = {
            "wall_median_s": round(wall, 2),
            "wall_per_scenario_ms": round(wall * 1000 / count, 1),
            "scenario_median_ms": median_ms([t for run in side_runs for t in run["scenarios"]]),
            "walls_s": [round(run["wall"], 2) for run in side_runs],
        }
        if "steps" in side_runs[0]:
            entry["steps_median_ms"] = median_ms([t for run in side_runs for t in run["steps"]])
        if "close" in side_runs[0]:
            entry["close_median_ms"] = median_ms([t for run in side_runs for t in run["close"]])
            entry["module_load_median_ms"] = median_ms([run["load"] for run in side_runs])
        result[side] = entry

    def paired(side: str, reference: str) -> float:
        """Median over rounds of the round's wall-clock ratio (the two ran back to back)."""
        pairs = zip(runs[side], runs[reference], strict=True)
        return round(statistics.median(a["wall"] / b["wall"] for a, b in pairs), 3)

    result["paired_ratio_median"] = {
        "atproto_bdd_vs_pds_only": paired("atproto_bdd", "dev_env_pds_only"),
        "short_vs_explicit": paired("atproto_bdd_short", "atproto_bdd"),
        "short_vs_pds_only": paired("atproto_bdd_short", "dev_env_pds_only"),
        "awaited_vs_pds_only": paired("atproto_bdd_awaited_teardown", "dev_env_pds_only"),
        "atproto_bdd_vs_full": paired("atproto_bdd", "dev_env_full"),
        "background_vs_pds_only": paired("atproto_bdd_background", "dev_env_pds_only"),
    }
    ours = result["atproto_bdd"]["wall_median_s"]
    result["ratio_vs_pds_only"] = round(ours / result["dev_env_pds_only"]["wall_median_s"], 3)
    result["ratio_awaited_vs_pds_only"] = round(
        result["atproto_bdd_awaited_teardown"]["wall_median_s"] / result["dev_env_pds_only"]["wall_median_s"], 3
    )
    result["ratio_vs_full"] = round(ours / result["dev_env_full"]["wall_median_s"], 3)
    result["ratio_background_vs_pds_only"] = round(
        result["atproto_bdd_background"]["wall_median_s"] / result["dev_env_pds_only"]["wall_median_s"], 3
    )
    return result


def tree_rss_mib(root_pid: int) -> float:
    """Resident memory of ``root_pid`` and all its descendants, in MiB (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:  # exited while we looked
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(") ", 1)[1].split()[1])
        rss[pid] = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree) / 1024


def run_with_peak_rss(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``argv``: its wall clock (s) and the peak RSS of its process tree (MiB, sampled every 0.1 s)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mib(process.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed with exit code {process.returncode}")
    return elapsed, peak


def j_curve(count: int, rounds: int, workers: tuple[int, ...] = (1, 2, 4)) -> dict[str, Any]:
    """The generated scenarios through ``atproto-bdd run -j N``: wall clock and peak memory per worker count."""
    root = project({"g.feature": generated_feature(count)}, "from atproto_bdd.hooks import *  # noqa: F401,F403\n")
    walls: dict[int, list[float]] = {n: [] for n in workers}
    peaks: dict[int, list[float]] = {n: [] for n in workers}
    load_start = load_average()
    for _ in range(rounds):  # interleaved
        for n in workers:
            argv = [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", str(n), "--reports", str(root / f"r{n}")]
            elapsed, peak = run_with_peak_rss(argv + ["features"], root)
            walls[n].append(elapsed)
            peaks[n].append(peak)
    one = statistics.median(walls[workers[0]])
    return {
        "scenarios": count,
        "rounds": rounds,
        "load_start": load_start,
        "load_end": load_average(),
        "workers": {
            str(n): {
                "wall_median_s": round(statistics.median(walls[n]), 2),
                "speedup": round(one / statistics.median(walls[n]), 2),
                "peak_rss_mib": round(statistics.median(peaks[n])),
                "walls_s": [round(t, 2) for t in walls[n]],
            }
            for n in workers
        },
    }


def host_rss(counts: tuple[int, ...]) -> dict[str, Any]:
    """Resident memory (MiB) of a fresh Node host after starting N PDSes."""
    results: dict[str, Any] = {"load_start": load_average()}
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
    results["load_end"] = load_average()
    return results


MEASURES = ("suite", "isolation", "generated_vs_dev_env", "j_curve", "host_rss")


def main() -> None:
    """Run every measure (or those named by ``--only``) and write results/scale.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the acceptance suite comparison")
    parser.add_argument("--generated", type=int, default=50)
    parser.add_argument("--generated-rounds", type=int, default=5)
    parser.add_argument("--isolation", type=int, default=20)
    parser.add_argument("--isolation-rounds", type=int, default=3)
    parser.add_argument("--j-rounds", type=int, default=3, help="rounds of the -j 1/2/4 curve")
    parser.add_argument("--only", nargs="+", choices=MEASURES, default=list(MEASURES), help="measures to run")
    args = parser.parse_args()
    with LocalRuntime(Settings.load()) as runtime:
        ours_versions = {k: v for k, v in runtime.versions.items() if k != "pid"}
    versions = {"atproto_bdd_host": ours_versions, "dev_env": devenv_versions(devenv_install().node_modules)}
    measures: dict[str, Callable[[], dict[str, Any]]] = {
        "suite": lambda: suite_sequential_vs_parallel(args.rounds),
        "isolation": lambda: isolation(args.isolation, args.isolation_rounds),
        "generated_vs_dev_env": lambda: generated_vs_devenv(args.generated, args.generated_rounds),
        "j_curve": lambda: j_curve(args.generated, args.j_rounds),
        "host_rss": lambda: host_rss((1, 5, 20)),
    }
    results: dict[str, Any] = {"versions": versions}
    results.update({name: measure() for name, measure in measures.items() if name in args.only})
    path = write_results(
        results_name("scale" if len(args.only) == len(MEASURES) else "scale-" + "-".join(args.only)), results
    )
    print(f"\nwrote {path}\n")
    print(f"versions: {json.dumps(versions)}")
    for name in MEASURES:
        if name in results:
            print(f"load average, {name}: {results[name]['load_start']} -> {results[name]['load_end']}")
    print("\n| measure | result | target |")
    print("|---|---|---|")
    if "suite" in results:
        suite = results["suite"]
        print(
            f"| acceptance suite, sequential vs -j 2 (median of {args.rounds}) | {suite['sequential_s']} s vs "
            f"{suite['parallel_j2_s']} s, speedup {suite['speedup']}x | >= 1.6x |"
        )
    if "isolation" in results:
        iso = results["isolation"]
        print(
            f"| isolation, {iso['scenarios']} scenarios: fresh network (restored from the Background's snapshot) vs "
            f"the Background run every time vs shared (median per scenario, hooks included) | "
            f"{iso['fresh']['scenario_median_ms']} ms vs {iso['fresh_no_snapshots']['scenario_median_ms']} ms vs "
            f"{iso['shared']['scenario_median_ms']} ms | |"
        )
    if "generated_vs_dev_env" in results:
        _print_generated(results["generated_vs_dev_env"], args.generated_rounds)
    if "j_curve" in results:
        curve = results["j_curve"]
        cells = "; ".join(
            f"-j {n}: {entry['wall_median_s']} s ({entry['speedup']}x), peak {entry['peak_rss_mib']} MiB"
            for n, entry in curve["workers"].items()
        )
        what = f"{curve['scenarios']} generated scenarios through atproto-bdd run (median of {args.j_rounds})"
        print(f"| {what} | {cells} | |")
    if "host_rss" in results:
        rss = results["host_rss"]
        print(
            f"| Node host RSS with 1 / 5 / 20 PDSes | {rss['1_pds_mib']} / {rss['5_pds_mib']} / "
            f"{rss['20_pds_mib']} MiB | |"
        )


def _print_generated(gen: dict[str, Any], rounds: int) -> None:
    ours, awaited = gen["atproto_bdd"], gen["atproto_bdd_awaited_teardown"]
    pds_only, full = gen["dev_env_pds_only"], gen["dev_env_full"]
    print(f"generated, paired ratios (median over rounds): {json.dumps(gen['paired_ratio_median'])}")
    print(
        f"| {gen['scenarios']} generated scenarios, process wall (median of {rounds}): atproto-bdd vs "
        f"dev-env (PDS/PLC modules) | {ours['wall_median_s']} s vs {pds_only['wall_median_s']} s, "
        f"ratio {gen['ratio_vs_pds_only']} | <= 0.7 |"
    )
    print(
        f"| same, atproto-bdd awaiting each teardown | {awaited['wall_median_s']} s, "
        f"ratio {gen['ratio_awaited_vs_pds_only']} | |"
    )
    short = gen["atproto_bdd_short"]
    print(
        f"| same in the short form (no PDS step) | {short['wall_median_s']} s, a scenario "
        f"{short['scenario_median_ms']} ms; paired vs the explicit form "
        f"{gen['paired_ratio_median']['short_vs_explicit']} | 1.0 |"
    )
    print(f"| same, dev-env whole package | {full['wall_median_s']} s (atproto-bdd ratio {gen['ratio_vs_full']}) | |")
    background = gen["atproto_bdd_background"]
    print(
        f"| same work, the PDS and accounts in a Background (restored per scenario) | "
        f"{background['wall_median_s']} s, ratio {gen['ratio_background_vs_pds_only']}; a scenario "
        f"{background['scenario_median_ms']} ms | <= 0.7; <= 150 ms |"
    )
    print(
        "| one generated scenario, median, hooks and teardown included | "
        f"{ours['scenario_median_ms']} ms (teardown in background), {awaited['scenario_median_ms']} ms (awaited); "
        f"dev-env {pds_only['scenario_median_ms']} ms (close awaited, {pds_only['close_median_ms']} ms of it) "
        "| <= 150 ms |"
    )


if __name__ == "__main__":
    main()
