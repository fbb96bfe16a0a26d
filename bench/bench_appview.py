"""AppView benchmarks (issue 13): cold start against dev-env, a warm AppView network, indexing latency, memory.

Run with ``./dev bench appview``. Writes ``bench/results/appview.json``. Targets:

* cold: PLC + PDS + AppView ready, ours vs ``@atproto/dev-env`` 0.6.7 building the
  same services (TestPlc, TestBsync, TestBsky, a TestPds pointed at it:
  ``devenv/appview.js``), both on the same PostgreSQL server, already running,
  both running bsky's and bsync's migrations: ratio <= 1.0;
* warm: a fresh network with an AppView in a running run, median <= 500 ms;
* indexing: createRecord answered -> the post in the follower's getTimeline
  (through the PDS, polled every 2 ms), p50 <= 150 ms;
* memory: RSS of the run's processes (both hosts and PostgreSQL) with 1 and 5 networks;
* a fresh AppView scenario in behave (issue 16): ``--scenarios`` scenarios tagged
  ``@appview``, each on a fresh network (AppView, PDS A, alice and bob, bob follows
  alice, alice posts, bob's timeline shows it, alice's profile shows 1 follower),
  before_scenario's start to after_scenario's end (hooks and teardown included),
  median <= 400 ms. ``--only-scenarios`` runs just this one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench_scale import behave_scenarios, median_ms, project
from common import BENCH_DIR, devenv_install, load_average, reference_env, summary, write_results

from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.appview import ensure_appview
from atproto_bdd.services.postgres import Postgres
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def cold_ours(server: Postgres) -> float:
    """A new run (Python call) until PLC + AppView + PDS answer, on the running PostgreSQL server."""
    started = time.perf_counter()
    runtime = LocalRuntime(Settings.load({"postgres_url": server.url}))
    runtime.expect_appview()  # what before_all does when a feature of the run uses an AppView
    runtime.start()
    world = World(runtime)
    world.add_appview()
    world.add_pds("A")
    elapsed = time.perf_counter() - started
    world.close(wait=True)
    runtime.close()
    return elapsed


def cold_devenv(server: Postgres, node: str, modules: Path, round_index: int) -> dict[str, float]:
    """Spawning devenv/appview.js until its ready line, on a fresh database of the same server."""
    database = f"devenv_bench_{round_index}"
    server.drop_database(database)
    server.create_database(database)
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            node,
            str(BENCH_DIR / "devenv" / "appview.js"),
            server.database_url(database),
            "round_" + "abcdefghijklmnopqrstuvwxyz"[round_index % 26],
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=reference_env(NODE_PATH=str(modules)),
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    ready = json.loads(line or "{}")
    if not ready.get("ready"):
        process.kill()
        error = process.stderr.read().decode()[-2000:] if process.stderr else ""
        raise RuntimeError(f"dev-env's AppView network did not start: {line!r}\n{error}")
    process.stdin.close()
    process.wait(timeout=60)
    server.drop_database(database)
    return {"total": elapsed, "load": ready["loadMs"] / 1000, "create": ready["createMs"] / 1000}


def cold(rounds: int, server: Postgres) -> dict[str, Any]:
    devenv = devenv_install("0.5")  # dev-env 0.6.7: the one whose TestBsky runs the AppView we pin
    ours, theirs = [], []
    load = [load_average()]
    for index in range(rounds):  # interleaved
        ours.append(cold_ours(server))
        theirs.append(cold_devenv(server, devenv.node, devenv.node_modules, index))
    load.append(load_average())
    ratios = [a / b["total"] for a, b in zip(ours, theirs, strict=True)]
    result = {
        "rounds": rounds,
        "load_average": load,
        "atproto_bdd": summary(ours),
        "dev_env": {part: summary([t[part] for t in theirs]) for part in ("total", "load", "create")},
        "paired_ratio_median": round(statistics.median(ratios), 3),
    }
    result["ratio"] = round(result["atproto_bdd"]["median_ms"] / result["dev_env"]["total"]["median_ms"], 3)
    return result


def rss_mib(pids: list[int]) -> float:
    """The summed resident memory of ``pids`` and their children, in MiB."""
    seen, total = set(), 0
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        todo += [int(child) for child in children]
    return round(total / 1024, 1)


def warm_and_indexing(rounds: int, posts: int) -> dict[str, Any]:
    with LocalRuntime() as runtime:
        first = World(runtime)
        first.add_appview()  # the AppView host, PostgreSQL and the template: not part of "warm"
        first.add_pds("A")
        first.close(wait=True)
        times = []
        load = [load_average()]
        for _ in range(rounds):
            world = World(runtime)
            started = time.perf_counter()
            world.add_appview()
            world.add_pds("A")
            times.append(time.perf_counter() - started)
            world.close(wait=True)
        load.append(load_average())
        world = World(runtime)
        appview = world.add_appview()
        world.add_pds("A")
        alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
        bob.follow(alice)
        latencies = []
        for index in range(posts):
            ref = alice.post(f"post {index}")
            answered = time.perf_counter()
            while ref.uri not in appview.timeline(bob):
                time.sleep(0.002)
            latencies.append(time.perf_counter() - answered)
        views = runtime.appviews
        assert views.host is not None and views.postgres is not None and views.postgres.process is not None
        pids = [runtime.host.pid, views.host.pid, views.postgres.process.pid]
        memory = {"1": rss_mib(pids)}
        more = [World(runtime) for _ in range(4)]
        for extra in more:
            extra.add_appview()
            extra.add_pds("A")
        memory["5"] = rss_mib(pids)
        for extra in [world, *more]:
            extra.close(wait=True)
    return {
        "warm": {"rounds": rounds, "load_average": load, **summary(times)},
        "indexing": summary(latencies),
        "rss_mib": memory,
    }


APPVIEW_SCENARIO = """
  Scenario: s{index}
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And bob.test follows alice.test
    When alice.test posts "hello {index}"
    Then bob.test's timeline shows alice.test's latest post
    And alice.test's profile shows 1 follower
"""


def scenarios(count: int, rounds: int) -> dict[str, Any]:
    """``count`` fresh-network AppView scenarios per behave run, ``rounds`` runs: per-scenario times."""
    text = "@appview\nFeature: AppView scenarios\n" + "".join(APPVIEW_SCENARIO.format(index=i) for i in range(count))
    root = project({"appview.feature": text})
    load_start = load_average()
    runs = [behave_scenarios(root) for _ in range(rounds)]
    return {
        "scenarios": count,
        "rounds": rounds,
        "scenario_median_ms": median_ms([t for run in runs for t in run["scenarios"]]),
        "steps_median_ms": median_ms([t for run in runs for t in run["steps"]]),
        "first_scenario_ms": [round(run["scenarios"][0] * 1000, 1) for run in runs],
        "wall_s": [round(run["wall"], 2) for run in runs],
        "load_start": load_start,
        "load_end": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold-rounds", type=int, default=5)
    parser.add_argument("--warm-rounds", type=int, default=20)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--scenario-rounds", type=int, default=3)
    parser.add_argument("--only-scenarios", action="store_true", help="measure only the behave AppView scenarios")
    args = parser.parse_args()
    settings = Settings.load()
    ensure_appview(settings)  # installs are not part of any measurement
    scenario_results = scenarios(args.scenarios, args.scenario_rounds)
    scenario_line = (
        f"| a fresh AppView scenario in behave, hooks and teardown included (median of {args.scenarios} x "
        f"{args.scenario_rounds}) | {scenario_results['scenario_median_ms']} ms | <= 400 ms |"
    )
    if args.only_scenarios:
        path = write_results("appview-scenarios", {"scenarios": scenario_results})
        print(f"results written to {path}\n| measure | result | target |\n|---|---|---|\n{scenario_line}")
        return
    server = Postgres.embedded(settings.cache_dir, timeout=60)
    try:
        cold_results = cold(args.cold_rounds, server)
    finally:
        server.close()
    results = {
        "cold_plc_pds_appview": cold_results,
        **warm_and_indexing(args.warm_rounds, args.posts),
        "scenarios": scenario_results,
    }
    path = write_results("appview", results)
    ours, theirs = cold_results["atproto_bdd"]["median_ms"], cold_results["dev_env"]["total"]["median_ms"]
    print(f"results written to {path}")
    print("| measure | result | target |\n|---|---|---|")
    print(
        f"| cold: PLC + PDS + AppView (median of {args.cold_rounds}) | {ours} ms vs dev-env 0.6.7 {theirs} ms "
        f"(ratio {cold_results['ratio']}, per round {cold_results['paired_ratio_median']}) | <= 1.0 |"
    )
    warm_ms, indexing = results["warm"]["median_ms"], results["indexing"]
    print(f"| warm: a fresh AppView network (median of {args.warm_rounds}) | {warm_ms} ms | <= 500 ms |")
    print(
        f"| createRecord -> getTimeline (p50 / p99) | {indexing['median_ms']} / {indexing['p99_ms']} ms | <= 150 ms |"
    )
    print(f"| RSS of the run with 1 / 5 networks | {results['rss_mib']['1']} / {results['rss_mib']['5']} MiB | |")
    print(scenario_line)


if __name__ == "__main__":
    main()
