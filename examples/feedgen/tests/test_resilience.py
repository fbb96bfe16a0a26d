"""features/resilience.feature fails, and says why, for a generator that handles a broken stream wrongly.

Each test copies this project, puts one bug apps ship into its copy of
feedgen.py, and runs one scenario of the feature with behave: the scenario
must fail at the step that catches the bug, with a message that names it.
A resilience feature that passed for these generators would prove nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
#: The line of feedgen.py that subscribes from the saved cursor, and the loop's pause before reconnecting.
SUBSCRIBE = 'url = f"{FIREHOSE}/xrpc/com.atproto.sync.subscribeRepos?cursor={INDEX.cursor()}"'
RECONNECT = "        time.sleep(0.5)\n"

BUGS = {
    # It reconnects, but from the start of the stream: every post is processed again.
    "replays from 0": (
        SUBSCRIBE,
        'url = f"{FIREHOSE}/xrpc/com.atproto.sync.subscribeRepos?cursor=0"',
        "Its firehose connection drops",
        "the app feedgen resumed the firehose of PDS A from its cursor",
        "subscribed to the firehose of PDS A again from cursor 0 (it had acknowledged #",
    ),
    # It reconnects without a cursor: it reads from the live head and loses what came meanwhile.
    "reconnects without its cursor": (
        SUBSCRIBE,
        'url = f"{FIREHOSE}/xrpc/com.atproto.sync.subscribeRepos"',
        "It cannot reach its PDS for a while",
        "the app feedgen resumed the firehose of PDS A from its cursor",
        "subscribed to the firehose of PDS A again without a cursor",
    ),
    # Its reading thread ends with the first broken connection: the feed stops growing.
    "never reconnects": (
        RECONNECT,
        "        return\n",
        "Its firehose connection drops",
        "the app feedgen reconnected to PDS A",
        "the app feedgen did not connect to PDS A again within",
    ),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_generator_with_the_bug_fails_the_scenario_at_the_right_step(tmp_path: Path, bug: str) -> None:
    line, buggy, scenario, step, message = BUGS[bug]
    copy = tmp_path / "feedgen"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("tests", "reports", "__pycache__", "*.sqlite"))
    source = (copy / "feedgen.py").read_text()
    assert source.count(line) == 1, f"feedgen.py changed: the line this test breaks is gone ({line.strip()!r})"
    (copy / "feedgen.py").write_text(source.replace(line, buggy))

    run = subprocess.run(
        [sys.executable, "-m", "behave", "--no-capture", "-n", scenario, "features/resilience.feature"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr

    assert run.returncode != 0, f"the scenario passed for a generator that {bug}:\n{output[-3000:]}"
    assert "1 scenario passed" not in output and "0 scenarios passed" in output, output[-3000:]
    failed = [text for text in output.splitlines() if "ASSERT FAILED:" in text]
    assert message in output, f"expected {message!r} for a generator that {bug}; behave said:\n{output[-3000:]}"
    assert any(step in text for text in failed), f"expected the step {step!r} to fail; failed: {failed}"
