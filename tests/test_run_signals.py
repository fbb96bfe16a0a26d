"""``atproto-bdd run`` under signals: nothing it started outlives it.

A throw-away project has two scenarios, one per worker, that start a PDS and a
relay, write the pids of their worker, Node host and relay to a file, and
wait. The test then signals or kills the run and checks what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import alive, write_hold_project

from atproto_bdd.waiting import poll

HOLD_STEP = '''
import json, os, time
from behave import when

@when("the run holds")
def hold(context):
    """Reports this worker's processes, then waits to be interrupted."""
    world = context.atproto
    pids = {"worker": os.getpid(), "host": world.runtime.host.pid, "relay": world.relay.service.pid}
    marker = os.path.join(os.environ["HOLD_DIR"], os.environ["ATPROTO_BDD_WORKER"] + ".json")
    with open(marker + ".tmp", "w") as f:
        json.dump(pids, f)
    os.replace(marker + ".tmp", marker)
    time.sleep(120)
'''

FEATURE = """Feature: hold
  Scenario: one
    Given a PDS named A
    And a relay crawling PDS A
    When the run holds

  Scenario: two
    Given a PDS named A
    And a relay crawling PDS A
    When the run holds
"""


@pytest.fixture
def held_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[int], Path]]:
    """``atproto-bdd run -j 2`` with both workers holding inside a scenario, and the pids they started."""
    write_hold_project(tmp_path, FEATURE, HOLD_STEP)
    hold_dir = tmp_path / "hold"
    hold_dir.mkdir()
    output = tmp_path / "run.log"
    with open(output, "wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", "2", "features"],
            cwd=tmp_path,
            env={**os.environ, "HOLD_DIR": str(hold_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    markers = [hold_dir / "1.json", hold_dir / "2.json"]
    ready = poll(
        lambda: run.poll() is not None or all(m.exists() for m in markers), timeout=180, on_timeout=None, interval=0.05
    )
    if not ready or run.poll() is not None:
        run.kill()
        run.wait(10)
        workers = "\n".join(p.read_text() for p in sorted((tmp_path / "reports").glob("workers/*/output.log")))
        pytest.fail(f"the workers never reached the holding step:\n{output.read_text()}\n{workers}")
    pids = [pid for marker in markers for pid in json.loads(marker.read_text()).values()]
    assert all(alive(pid) for pid in pids)
    yield run, pids, output
    if run.poll() is None:
        run.kill()
        run.wait(10)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_is_forwarded_and_the_run_ends_with_its_workers(held_run, signum: int) -> None:
    run, pids, output = held_run
    started = time.monotonic()
    run.send_signal(signum)
    try:
        code = run.wait(timeout=45)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run did not exit within 45 s of {signal.Signals(signum).name}:\n{output.read_text()}")
    text = output.read_text()
    assert code == 128 + signum, text
    assert f"run stopped by {signal.Signals(signum).name}" in text
    left = [pid for pid in pids if alive(pid)]
    assert not left, f"still running {time.monotonic() - started:.1f}s after the signal: {left}\n{text}"


def test_sigkill_of_the_run_takes_workers_and_their_services_down(held_run) -> None:
    run, pids, output = held_run
    run.kill()
    run.wait(10)
    gone = poll(lambda: not any(alive(pid) for pid in pids), timeout=10, on_timeout=None)
    assert gone, f"outlived the SIGKILLed run by 10 s: {[pid for pid in pids if alive(pid)]}"


def test_the_run_timeout_stops_the_workers(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "steps").mkdir()
    (tmp_path / "features" / "slow.feature").write_text("Feature: slow\n  Scenario: s\n    When it sleeps\n")
    (tmp_path / "steps" / "s.py").write_text(
        "import time\nfrom behave import when\n\n@when('it sleeps')\ndef sleeps(context):\n    time.sleep(120)\n"
    )
    (tmp_path / "environment.py").write_text("from atproto_bdd.hooks import *\n")
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", "1", "--timeout", "8", "features"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 124, run.stdout + run.stderr
    assert "run stopped by the 8s timeout" in run.stdout
    assert time.monotonic() - started < 60
