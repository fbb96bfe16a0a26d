"""Shared helpers of the benchmark scripts: statistics, result files, dev-env install."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from atproto_bdd.protocol.firehose import FirehoseRecorder
from atproto_bdd.services.child_env import LEFT_OUT_OF_THE_HOST
from atproto_bdd.services.node_install import NodeInstall, ensure_npm_project
from atproto_bdd.services.node_runtime import resolve_node
from atproto_bdd.services.pds_lines import pds_line
from atproto_bdd.settings import Settings
from atproto_bdd.world import Account

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

# The Python processes the benchmarks spawn (behave, pytest, atproto-bdd run) keep their bytecode as a
# user's Python does. The development machine sets PYTHONDONTWRITEBYTECODE=1, with which every start
# compiled atproto-bdd's modules from source again (about 0.1 s; bench/README.md, 2026-12-04 midday).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def reference_env(**more: str) -> dict[str, str]:
    """The environment for a process of the reference (dev-env): the caller's, plus ``more``, without what
    atproto-bdd's Node host does not get either (NODE_EXTRA_CA_CERTS, which Node.js 20 reads as it starts),
    so that both sides start the same way."""
    env = {key: value for key, value in os.environ.items() if key not in LEFT_OUT_OF_THE_HOST}
    return {**env, **more}


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p99, min and max of a list of seconds, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    line = Settings.load().pds_version
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "node": node,
        "pds_line": line,
        "cpus": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded (recorded around each measurement)."""
    return [round(value, 2) for value in os.getloadavg()]


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` and return its path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2) + "\n")
    return path


def post_latencies(account: Account, firehose: FirehoseRecorder, posts: int) -> list[float]:
    """Seconds from each post's HTTP response to its commit in ``firehose`` (0 if it came first)."""
    samples = []
    for index in range(posts):
        ref = account.post(f"post {index}")
        responded = time.perf_counter()
        event = firehose.wait_for(lambda e, cid=ref.cid: any(str(op.cid) == cid for op in e.ops), timeout=10)
        if event is None:
            raise RuntimeError(f"post {index} never reached {firehose.name}")
        samples.append(max(0.0, event.received_at - responded))
    return samples


#: The dev-env of each PDS line: 0.3.x runs PDS 0.4 (as our 0.4 line), 0.6.7 runs PDS 0.5.35 (as our 0.5 line).
#: Both run the scripts in bench/devenv.
DEVENV_PROJECTS = {"0.4": BENCH_DIR / "devenv", "0.5": BENCH_DIR / "devenv-0.6"}


def bench_line() -> str:
    """The PDS line being measured: the ``pds_version`` setting (``ATPROTO_BDD_PDS_VERSION``)."""
    return Settings.load().pds_version


def results_name(name: str) -> str:
    """``core`` for the 0.4 line (the file earlier results live in), ``core-0.5`` for 0.5."""
    line = bench_line()
    return name if line == "0.4" else f"{name}-{line}"


def devenv_install(version: str | None = None) -> NodeInstall:
    """@atproto/dev-env of the measured line (or of line ``version``), installed, with the Node.js it needs.

    Both sides run on the same Node.js: the one our host runs the line with
    (the managed Node.js 22 for 0.5 on a Node 20 machine).
    """
    settings = Settings.load()
    line = pds_line(version or settings.pds_version)
    node = resolve_node(
        settings.cache_dir,
        min_major=line.min_node,
        node=settings.node,
        npm=settings.npm,
        needed_for=f"PDS {line.version}",
    )
    return ensure_npm_project(DEVENV_PROJECTS[line.version], settings.cache_dir / "bench-devenv", node=node)


def devenv_versions(node_modules: Path) -> dict[str, str]:
    """Versions of dev-env and of the services it runs, from the installed packages."""
    packages = {"dev_env": "@atproto/dev-env", "pds": "@atproto/pds", "plc": "@did-plc/server"}
    return {
        key: json.loads((node_modules / name / "package.json").read_text())["version"] for key, name in packages.items()
    }
