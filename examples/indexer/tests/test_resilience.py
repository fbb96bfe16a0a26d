"""The restart scenario fails, and says why, for an indexer that forgets its cursor.

The test copies this project, makes the copy's indexer.py start from the
live head instead of its saved cursor (a bug indexers ship), and runs the
restart scenario with behave: the query after the restart must fail because
the indexer never catches up with what came while it was down, and the
message must name its cursor and the relay's head.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SAVED_CURSOR = "    cursor = STORE.cursor()\n"


def test_an_indexer_that_forgets_its_cursor_fails_the_restart_scenario(tmp_path: Path) -> None:
    copy = tmp_path / "indexer"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("tests", "reports", "__pycache__", "*.sqlite"))
    source = (copy / "indexer.py").read_text()
    assert source.count(SAVED_CURSOR) == 1, "indexer.py changed: the line this test breaks is gone"
    (copy / "indexer.py").write_text(source.replace(SAVED_CURSOR, "    cursor = None  # the bug: live, not resumed\n"))

    run = subprocess.run(
        [sys.executable, "-m", "behave", "--no-capture", "-n", "while the indexer was down", "-D", "app_timeout=3"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, f"the restart scenario passed for an indexer that forgets its cursor:\n{output[-3000:]}"
    failed = [line for line in output.splitlines() if "ASSERT FAILED:" in line]
    assert failed and "com.example.countBookmarks is queried on the app indexer" in failed[0], output[-3000:]
    assert "cursor" in output.split(failed[0], 1)[1].splitlines()[1], output[-3000:]
