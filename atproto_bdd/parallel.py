"""Parallel and sharded behave runs: ``atproto-bdd run -j N --shard i/n``.

Each worker is one behave process with its own runtime (its own Node host,
ports, relay), so ``before_all`` runs once per worker. Work is planned before
anything starts:

* a scenario is a unit (``features/a.feature:12``), except that a feature
  tagged ``@network:feature`` is one unit, since its scenarios share a network;
* a unit weighs as many steps as it runs (its Background's included);
* ``--shard i/n`` keeps the i-th of n deterministic parts of the suite (the
  same files give the same parts on every machine), and ``-j N`` spreads a
  part over N workers; both use the same longest-first balancing.

Every worker writes its JUnit XML and run report under
``<reports>/workers/<n>/``; at the end they are merged into ``<reports>/junit``
and one ``<reports>/atproto-bdd.html``. The exit code is 1 if any worker failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from behave.parser import parse_file

from .errors import UsageError
from .report import RunRecord, write_reports


@dataclass(frozen=True)
class WorkUnit:
    """What one behave argument runs: a scenario (``file:line``) or a whole feature file."""

    target: str
    weight: int


def find_feature_files(paths: Sequence[str]) -> list[Path]:
    """Feature files under ``paths`` (files or directories), sorted."""
    found: list[Path] = []
    for raw in paths or ["features"]:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.feature")))
        elif path.suffix == ".feature" and path.exists():
            found.append(path)
        else:
            raise UsageError(f"{raw!r} is neither a directory nor a .feature file")
    return sorted(set(found))


def plan_units(paths: Sequence[str]) -> list[WorkUnit]:
    """The suite as work units, in file and line order."""
    units: list[WorkUnit] = []
    for path in find_feature_files(paths):
        feature = parse_file(str(path))
        if feature is None:
            continue
        scenarios = list(feature.walk_scenarios())
        background = len(feature.background.steps) if feature.background else 0
        if "network:feature" in feature.tags:
            weight = sum(background + len(s.steps) for s in scenarios)
            units.append(WorkUnit(str(path), weight))
            continue
        units.extend(WorkUnit(f"{path}:{s.line}", background + len(s.steps)) for s in scenarios)
    return units


def balance(units: Sequence[WorkUnit], parts: int) -> list[list[WorkUnit]]:
    """Split ``units`` into ``parts`` of similar weight, deterministically (longest first)."""
    if parts < 1:
        raise UsageError(f"cannot split a suite into {parts} parts")
    bins: list[list[WorkUnit]] = [[] for _ in range(parts)]
    loads = [0] * parts
    for unit in sorted(units, key=lambda u: (-u.weight, u.target)):
        lightest = min(range(parts), key=lambda i: (loads[i], i))
        bins[lightest].append(unit)
        loads[lightest] += unit.weight
    return [sorted(b, key=lambda u: u.target) for b in bins]


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``, with a clear error for anything else."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index = count = 0
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r} is not i/n with 1 <= i <= n (for example 1/4)")
    return index, count


@dataclass
class Worker:
    """One behave process of a parallel run."""

    number: int
    units: list[WorkUnit]
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    elapsed: float = 0.0

    @property
    def log(self) -> Path:
        """Where the worker's behave output goes."""
        return self.directory / "output.log"


def run_parallel(
    paths: Sequence[str],
    *,
    jobs: int,
    shard: str | None = None,
    reports: Path = Path("reports"),
    behave_args: Sequence[str] = (),
) -> int:
    """Run the suite under ``paths`` on ``jobs`` workers; returns the exit code."""
    units = plan_units(paths)
    if shard:
        index, count = parse_shard(shard)
        units = balance(units, count)[index - 1]
    parts = [part for part in balance(units, max(1, jobs)) if part]
    if not parts:
        print("atproto-bdd: nothing to run")
        return 0
    workers = [Worker(n + 1, part, reports / "workers" / str(n + 1)) for n, part in enumerate(parts)]
    print(
        f"atproto-bdd: {len(units)} scenario units on {len(workers)} worker(s)" + (f", shard {shard}" if shard else ""),
        flush=True,
    )
    for worker in workers:
        _start(worker, behave_args)
    failed = False
    for worker in workers:
        assert worker.process is not None
        code = worker.process.wait()
        worker.elapsed = time.monotonic() - worker.started
        failed |= code != 0
        outcome = "FAILED" if code else "passed"
        print(f"atproto-bdd: worker {worker.number} {outcome} in {worker.elapsed:.1f}s: {_summary(worker)}")
        if code:
            tail = worker.log.read_text(errors="replace").splitlines()[-60:] if worker.log.exists() else []
            print("\n".join(f"  | {line}" for line in tail))
            print(f"  its whole output: {worker.log}")
    merge_junit(sorted(reports.glob("workers/*/junit/*.xml")), reports / "junit")
    runs = [RunRecord.from_json(p.read_text()) for p in sorted(reports.glob("workers/*/atproto-bdd.json"))]
    if runs:
        page = write_reports(reports, runs)
        print(f"atproto-bdd: report written to {page}")
    return 1 if failed else 0


def _start(worker: Worker, behave_args: Sequence[str]) -> None:
    worker.directory.mkdir(parents=True, exist_ok=True)
    for stale in list(worker.directory.glob("junit/*.xml")) + [worker.directory / "atproto-bdd.json"]:
        stale.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "behave",
        "--no-color",
        "--format",
        "progress",
        "--junit",
        "--junit-directory",
        str(worker.directory / "junit"),
        "-D",
        f"report_dir={worker.directory}",
        *behave_args,
        *(unit.target for unit in worker.units),
    ]
    env = {**os.environ, "ATPROTO_BDD_WORKER": str(worker.number)}
    log = open(worker.log, "wb")  # noqa: SIM115 - the child writes to it until it exits
    worker.started = time.monotonic()
    worker.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()


def _summary(worker: Worker) -> str:
    """How the worker's scenarios went, from its run report."""
    report = worker.directory / "atproto-bdd.json"
    if not report.exists():
        return "no report (see its output)"
    statuses = [scenario.status for scenario in RunRecord.from_json(report.read_text()).scenarios]
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    return ", ".join(f"{count} {status}" for status, count in counts.items()) or "no scenarios"


def merge_junit(files: Sequence[Path], target: Path) -> list[Path]:
    """Merge per-worker JUnit files: one file per feature, each scenario as the worker that ran it saw it.

    A worker given some scenarios of a feature reports the others as skipped;
    the merged test case is the one that was not skipped, where there is one.
    """
    target.mkdir(parents=True, exist_ok=True)
    suites: dict[str, ET.Element] = {}
    cases: dict[str, dict[str, ET.Element]] = {}
    for path in files:
        root = ET.parse(path).getroot()
        for suite in [root] if root.tag == "testsuite" else list(root):
            name = suite.get("name", path.stem)
            suites.setdefault(name, suite)
            merged = cases.setdefault(name, {})
            for case in suite.findall("testcase"):
                key = case.get("name", "")
                if key not in merged or _skipped(merged[key]) and not _skipped(case):
                    merged[key] = case
    written = []
    for name, suite in sorted(suites.items()):
        kept = list(cases[name].values())
        for child in list(suite):
            suite.remove(child)
        suite.extend(kept)
        suite.set("tests", str(len(kept)))
        for attribute, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            suite.set(attribute, str(sum(1 for case in kept if case.find(tag) is not None)))
        suite.set("time", f"{sum(float(case.get('time', '0')) for case in kept):.6f}")
        path = target / f"TESTS-{name.replace('/', '_')}.xml"
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
        written.append(path)
    return written


def _skipped(case: ET.Element) -> bool:
    return case.find("skipped") is not None
