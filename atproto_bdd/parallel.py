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

import math
import shutil
import signal
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from behave.parser import parse_file

from .errors import UsageError
from .lookahead import library_registry, run_services, scenario_services
from .report import RunRecord, merge_worker_reports
from .services.child_env import Child, child_environment
from .services.prepare import prepare_ahead
from .services.processes import ManagedProcess
from .settings import Settings
from .waiting import poll


@dataclass(frozen=True)
class WorkUnit:
    """What one behave argument runs: a scenario (``file:line``) or a whole feature file."""

    target: str
    weight: int
    #: The services its steps start (``relay``, ``appview``...): what they need is built before the workers start.
    services: frozenset[str] = frozenset()


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


def plan_units(paths: Sequence[str], registry: Any = None) -> list[WorkUnit]:
    """The suite as work units, in file and line order.

    ``registry`` (default: the library's steps) tells which services each
    unit's steps start (:mod:`atproto_bdd.lookahead`).
    """
    registry = registry if registry is not None else library_registry()
    units: list[WorkUnit] = []
    for path in find_feature_files(paths):
        feature = parse_file(str(path))
        if feature is None:
            continue
        scenarios = list(feature.walk_scenarios())
        background = len(feature.background.steps) if feature.background else 0
        if "network:feature" in feature.tags:
            weight = sum(background + len(s.steps) for s in scenarios)
            units.append(WorkUnit(str(path), weight, frozenset(run_services([feature], registry))))
            continue
        units.extend(
            WorkUnit(f"{path}:{s.line}", background + len(s.steps), frozenset(scenario_services(s, registry)))
            for s in scenarios
        )
    return units


def prepare(units: Sequence[WorkUnit], behave_args: Sequence[str] = ()) -> None:
    """Build and install what the units' services need, now, once (see :mod:`atproto_bdd.services.prepare`).

    The workers would do it before their first scenario too, but their
    output goes to log files: here the progress lines are where the person
    running the suite sees them.
    """
    prepare_ahead(Settings.load(_userdata(behave_args)), frozenset().union(*(unit.services for unit in units)))


def _userdata(behave_args: Sequence[str]) -> dict[str, str]:
    """The ``-D key=value`` settings among behave's arguments."""
    found: dict[str, str] = {}
    args = list(behave_args)
    for index, arg in enumerate(args):
        value = None
        if arg in ("-D", "--define") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("-D") and len(arg) > 2:
            value = arg[2:]
        elif arg.startswith("--define="):
            value = arg[len("--define=") :]
        if value and "=" in value:
            key, _, setting = value.partition("=")
            found[key] = setting
    return found


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


#: Seconds workers get to clean up (stop their networks) after a forwarded signal, before SIGKILL.
STOP_GRACE = 30.0


@dataclass
class Worker:
    """One behave process of a parallel run."""

    number: int
    units: list[WorkUnit]
    directory: Path
    process: ManagedProcess | None = None
    started: float = 0.0
    elapsed: float = 0.0
    code: int | None = None

    @property
    def log(self) -> Path:
        """Where the worker's behave output goes."""
        return self.directory / "output.log"

    def finished(self) -> bool:
        """Whether the worker has exited (its exit code is then in ``code``)."""
        if self.code is None and self.process is not None:
            self.code = self.process.returncode
            if self.code is not None:
                self.elapsed = time.monotonic() - self.started
        return self.process is None or self.code is not None


class _Interrupt:
    """SIGTERM/SIGINT handling for the run: forward the signal to every worker, escalate on a second one."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self.workers = workers
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._signalled: set[int] = set()

    def __enter__(self) -> _Interrupt:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        # The workers run in their own process groups (a terminal's Ctrl-C
        # reaches only us), so each gets the signal from here, once. A second
        # signal means "now": kill them.
        if self.signum is not None:
            for worker in self.workers:
                if worker.process is not None:
                    worker.process.send_signal(signal.SIGKILL)
            return
        self.signum = signum
        self.catch_up()

    def catch_up(self) -> None:
        """Forward the signal to workers that started after it arrived (once each)."""
        if self.signum is None:
            return
        for worker in self.workers:
            if worker.process is not None and worker.number not in self._signalled:
                self._signalled.add(worker.number)
                worker.process.send_signal(self.signum)


def run_parallel(
    paths: Sequence[str],
    *,
    jobs: int,
    shard: str | None = None,
    reports: Path = Path("reports"),
    behave_args: Sequence[str] = (),
    timeout: float | None = None,
) -> int:
    """Run the suite under ``paths`` on ``jobs`` workers; returns the exit code.

    SIGTERM or SIGINT (Ctrl-C) is forwarded to every worker, which stops its
    network; workers still running :data:`STOP_GRACE` seconds later are killed,
    and the exit code is 128 + the signal's number. ``timeout`` (seconds)
    bounds the whole run the same way (exit code 124). Workers die with this
    process even when it is killed with SIGKILL (parent-death signal).
    """
    units = plan_units(paths)
    if shard:
        index, count = parse_shard(shard)
        units = balance(units, count)[index - 1]
    parts = [part for part in balance(units, max(1, jobs)) if part]
    if not parts:
        print("atproto-bdd: nothing to run")
        return 0
    # An earlier run's workers (more of them, other failures) are not this run's: their output goes first.
    shutil.rmtree(reports / "workers", ignore_errors=True)
    workers = [Worker(n + 1, part, reports / "workers" / str(n + 1)) for n, part in enumerate(parts)]
    print(
        f"atproto-bdd: {len(units)} scenario units on {len(workers)} worker(s)" + (f", shard {shard}" if shard else ""),
        flush=True,
    )
    prepare(units, behave_args)
    with _Interrupt(workers) as interrupt:
        for worker in workers:
            if interrupt.signum is None:
                _start(worker, behave_args)
        interrupt.catch_up()
        timed_out = _wait_for(workers, interrupt, timeout)
    if interrupt.signum is not None or timed_out:
        why = f"{signal.Signals(interrupt.signum).name}" if interrupt.signum else f"the {timeout:g}s timeout"
        for worker in workers:
            if worker.process is not None:
                print(f"atproto-bdd: worker {worker.number} stopped by {why} (exit code {worker.code})")
        print(f"atproto-bdd: run stopped by {why}; workers' output under {reports / 'workers'}", flush=True)
        return 128 + interrupt.signum if interrupt.signum else 124
    failed = any(worker.code for worker in workers)
    merge_junit(sorted(reports.glob("workers/*/junit/*.xml")), reports / "junit")
    page = merge_worker_reports(reports)
    if page is not None:
        print(f"atproto-bdd: report written to {page}")
    return 1 if failed else 0


def _wait_for(workers: Sequence[Worker], interrupt: _Interrupt, timeout: float | None) -> bool:
    """Wait for the workers, reporting each as it ends; stop them on a signal or at ``timeout``.

    Returns whether the timeout stopped them.
    """
    reported: set[int] = set()

    def report_finished() -> bool:
        for worker in workers:
            if worker.number not in reported and worker.finished():
                reported.add(worker.number)
                if interrupt.signum is None:
                    _report(worker)
        return len(reported) == len(workers) or interrupt.signum is not None

    # Polled in short steps rather than blocked in wait(): a signal's
    # handler only sets a flag, which this loop then acts on.
    settled = poll(report_finished, timeout=timeout or math.inf, on_timeout=None, max_interval=0.2)
    if settled is None:  # the run's timeout
        for worker in workers:
            if worker.process is not None:
                worker.process.send_signal(signal.SIGTERM)
    if settled is None or interrupt.signum is not None:
        _stop(workers)
    return settled is None


def _stop(workers: Sequence[Worker]) -> None:
    """Give signalled workers :data:`STOP_GRACE` seconds to exit, then kill what is left."""
    poll(lambda: all(worker.finished() for worker in workers), timeout=STOP_GRACE, on_timeout=None, max_interval=0.2)
    for worker in workers:
        if worker.process is not None and not worker.finished():
            worker.process.send_signal(signal.SIGKILL)
    for worker in workers:
        if worker.process is not None:
            worker.process.wait(5.0)  # SIGKILL cannot be ignored; still, never hang here
            worker.finished()


def _report(worker: Worker) -> None:
    outcome = "FAILED" if worker.code else "passed"
    print(f"atproto-bdd: worker {worker.number} {outcome} in {worker.elapsed:.1f}s: {_summary(worker)}")
    if worker.code:
        tail = worker.log.read_text(errors="replace").splitlines()[-60:] if worker.log.exists() else []
        print("\n".join(f"  | {line}" for line in tail))
        print(f"  its whole output: {worker.log}")
    sys.stdout.flush()


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
    env = child_environment(Child.TOOL, {"ATPROTO_BDD_WORKER": str(worker.number)})
    worker.log.unlink(missing_ok=True)
    worker.started = time.monotonic()
    worker.process = ManagedProcess.start(argv, log_path=worker.log, env=env, name=f"worker {worker.number}")


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
