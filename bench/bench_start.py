"""A run's start: from spawning behave to its first step (issue 16: cached start <= 1 s).

Run with ``./dev bench start``. Each round spawns behave on a one-scenario
project (``Given a PDS named A``, then an account), with everything installed
and cached, and reads timestamps its environment writes:

* ``python``: spawn -> ``before_all`` entered (Python start, behave and
  atproto-bdd imported, steps loaded, features parsed);
* ``before_all``: the hook (the Node host started and its service modules
  loaded; with ``prestart`` the host was launched while behave loaded, and
  the hook waits for what is left of its start);
* ``to_first_step``: ``before_all`` done -> the first step's body starts
  (before_feature, before_scenario);
* ``first_step``: the first step, ``Given a PDS named A`` (the network: PLC
  directory and PDS, or a spare network handed over);
* ``start_to_first_step``: spawn -> first step running, the issue's measure;
  ``start_to_network``: spawn -> the first step done (a network ready).

Sides, interleaved: ``default``; ``no_prestart`` (the ``prestart`` setting
off); ``no_load_cache`` (``ATPROTO_BDD_LOAD_CACHE=0``: the host's memo of
module resolution and code cache off). With ``--node PATH`` each side runs
again with the host on that Node.js (``_node``). ``--sides`` picks some.
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
from typing import Any

from common import load_average, results_name, write_results

ENVIRONMENT = """
import json, os, time
from atproto_bdd import hooks
from atproto_bdd.hooks import *  # noqa: F401,F403

_MARKS = {}


def _mark(name):
    _MARKS.setdefault(name, time.time())


def before_all(context):
    _mark("before_all")
    hooks.before_all(context)
    _mark("before_all_done")


def before_step(context, step):
    _mark("first_step")
    hooks.before_step(context, step)


def after_step(context, step):
    _mark("first_step_done")


def after_all(context):
    hooks.after_all(context)
    with open(os.environ["BENCH_MARKS"], "w") as out:
        json.dump(_MARKS, out)
"""

FEATURE = """Feature: start
  Scenario: first
    Given a PDS named A
    And an account alice.test
"""


def project(root: Path) -> Path:
    """The one-scenario behave project."""
    (root / "features").mkdir(parents=True)
    (root / "steps").mkdir()
    (root / "steps" / "lib.py").write_text("from atproto_bdd.steps import *\n")
    (root / "environment.py").write_text(ENVIRONMENT)
    (root / "features" / "start.feature").write_text(FEATURE)
    return root


# Each side's environment on top of the caller's.
SIDES: dict[str, dict[str, str]] = {
    "default": {},
    "no_prestart": {"ATPROTO_BDD_PRESTART": "false"},
    "no_load_cache": {"ATPROTO_BDD_LOAD_CACHE": "0"},
}


def one_run(root: Path, side_env: dict[str, str]) -> dict[str, float]:
    """Spawn behave once with ``side_env`` added to the environment; the phases in ms."""
    marks_file = root / "marks.json"
    marks_file.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_MARKS": str(marks_file), **side_env}
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "behave", "-f", "null", "-D", "report_dir="],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    ended = time.time()
    if result.returncode != 0:
        raise RuntimeError(f"behave failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    marks = json.loads(marks_file.read_text())

    def ms(a: float, b: float) -> float:
        return round((b - a) * 1000, 1)

    return {
        "python": ms(started, marks["before_all"]),
        "before_all": ms(marks["before_all"], marks["before_all_done"]),
        "to_first_step": ms(marks["before_all_done"], marks["first_step"]),
        "first_step": ms(marks["first_step"], marks["first_step_done"]),
        "start_to_first_step": ms(started, marks["first_step"]),
        "start_to_network": ms(started, marks["first_step_done"]),
        "whole_process": ms(started, ended),
    }


def main() -> None:
    """Interleave the sides, write results/start.json and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--node", default="", help="also run each side with the host on this Node.js")
    parser.add_argument("--sides", nargs="+", choices=sorted(SIDES), default=list(SIDES))
    args = parser.parse_args()
    sides = {side: SIDES[side] for side in args.sides}
    if args.node:
        sides.update({f"{side}_node": {**env, "ATPROTO_BDD_NODE": args.node} for side, env in list(sides.items())})
    with tempfile.TemporaryDirectory(prefix="atproto-bdd-bench-start-") as scratch:
        root = project(Path(scratch))
        for side_env in sides.values():  # warm the page cache and the load caches; not counted
            one_run(root, side_env)
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        load_start = load_average()
        for _ in range(args.rounds):
            for side, side_env in sides.items():
                runs[side].append(one_run(root, side_env))
    results: dict[str, Any] = {
        "rounds": args.rounds,
        "node": args.node or "the default (the node setting)",
        "load_start": load_start,
        "load_end": load_average(),
    }
    for side, side_runs in runs.items():
        results[side] = {phase: statistics.median(run[phase] for run in side_runs) for phase in side_runs[0]} | {
            "start_to_first_step_runs": [run["start_to_first_step"] for run in side_runs]
        }
    path = write_results(results_name("start"), results)
    print(f"\nwrote {path}; load average {results['load_start']} -> {results['load_end']}\n")
    print(f"| phase (median ms of {args.rounds}) | " + " | ".join(sides) + " |")
    print("|---" * (len(sides) + 1) + "|")
    for phase in next(iter(runs.values()))[0]:
        print(f"| {phase} | " + " | ".join(str(results[side][phase]) for side in sides) + " |")


if __name__ == "__main__":
    main()
