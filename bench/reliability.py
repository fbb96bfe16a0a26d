"""Reliability: the acceptance suite, N consecutive times (default 10); flakes are bugs.

Run with ``./dev bench reliability``. Every run uses ``atproto-bdd run -j 2``;
the script reports each run's result and time, and exits 1 if any failed
(keeping that run's reports).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCH_DIR, write_results

ROOT = BENCH_DIR.parent


def main() -> int:
    """Run the suite N times and write results/reliability.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    outcomes = []
    for number in range(1, args.runs + 1):
        reports = Path(tempfile.mkdtemp(prefix=f"atproto-bdd-reliability-{number}-"))
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", "2", "--reports", str(reports), "features"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = round(time.perf_counter() - started, 1)
        outcomes.append({"run": number, "passed": result.returncode == 0, "seconds": elapsed})
        print(f"run {number}: {'passed' if result.returncode == 0 else 'FAILED'} in {elapsed} s", flush=True)
        if result.returncode != 0:
            print(result.stdout[-4000:], f"\nreports kept in {reports}")
        else:
            shutil.rmtree(reports, ignore_errors=True)
    failures = sum(1 for outcome in outcomes if not outcome["passed"])
    path = write_results("reliability", {"runs": outcomes, "failures": failures})
    print(f"\n{args.runs} runs, {failures} failures; wrote {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
