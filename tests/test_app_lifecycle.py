"""Apps under test in real runs: how long each scope keeps an app, and that none outlives behave.

Each test runs behave in a subprocess on a throw-away project that declares
small stdlib apps in its atproto-bdd.toml; a project step writes what it
sees (pids, DIDs) to a file the test reads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import alive

APP = """
import os, signal, socket, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = socket.socket()
server.bind(("127.0.0.1", int(os.environ["PORT"])))
server.listen()
print("up", flush=True)
while True:
    connection, _ = server.accept()
    connection.close()
"""

CONFIG = """
[apps.per-scenario]
command = ["python", "app.py"]
env = { PORT = "${app.per-scenario.port}", FIREHOSE = "${A.ws_url}" }

[apps.per-feature]
command = ["python", "app.py"]
scope = "feature"
env = { PORT = "${app.per-feature.port}" }

[apps.per-run]
command = ["python", "app.py"]
scope = "run"
env = { PORT = "${app.per-run.port}", DATA = "${run_dir}" }

[apps.leaky]
command = ["python", "app.py"]
scope = "run"
env = { PORT = "${app.leaky.port}", FIREHOSE = "${A.ws_url}" }
"""

NOTE_STEP = '''
import json, os
from behave import then, when

@then("the apps are noted")
def note(context):
    """Appends each app's pid and DID, and whether this network's PLC knows the DID, to NOTES."""
    world = context.atproto
    seen = {}
    for name in ("per-scenario", "per-feature", "per-run"):
        app = world.app(name)
        seen[name] = {"pid": app.pid, "did": app.did, "resolves": world.plc.document(app.did).id == app.did}
    with open(os.environ["NOTES"], "a") as notes:
        notes.write(json.dumps({"scenario": context.scenario.name, **seen}) + "\\n")

@when("the run holds")
def hold(context):
    """Notes the apps, then waits to be killed."""
    note(context)
    os.rename(os.environ["NOTES"], os.environ["NOTES"] + ".held")
    import time
    time.sleep(120)
'''

SCENARIO = """
  Scenario: {name}
    Given a PDS named A
    And the app per-scenario is running
    And the app per-feature is running
    And the app per-run is running
    Then the apps are noted
"""


def write_project(root: Path, features: dict[str, str]) -> None:
    (root / "features").mkdir()
    (root / "steps").mkdir()
    for name, text in features.items():
        (root / "features" / name).write_text(text)
    (root / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *\n")
    (root / "steps" / "note_steps.py").write_text(NOTE_STEP)
    (root / "environment.py").write_text("from atproto_bdd.hooks import *\n")
    (root / "atproto-bdd.toml").write_text(CONFIG)
    (root / "app.py").write_text(APP)


def behave(root: Path, notes: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "behave", "--no-color", "-f", "plain", "-D", "report_dir="],
        cwd=root,
        env={**os.environ, "NOTES": str(notes), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_each_scope_keeps_its_app_as_long_as_it_says(tmp_path: Path) -> None:
    first = "Feature: one\n" + SCENARIO.format(name="one-a") + SCENARIO.format(name="one-b")
    second = "Feature: two\n" + SCENARIO.format(name="two-a")
    leaky = "Feature: three\n  Scenario: leaky\n    Given a PDS named A\n    And the app leaky is running\n"
    write_project(tmp_path, {"1.feature": first, "2.feature": second, "3.feature": leaky})
    notes = tmp_path / "notes.jsonl"
    process = behave(tmp_path, notes)
    output = process.communicate(timeout=300)[0].decode()
    rows = {row["scenario"]: row for row in map(json.loads, notes.read_text().splitlines())}
    assert sorted(rows) == ["one-a", "one-b", "two-a"], output
    pids = {
        name: [rows[s][name]["pid"] for s in ("one-a", "one-b", "two-a")]
        for name in rows["one-a"]
        if name != "scenario"
    }
    assert len(set(pids["per-scenario"])) == 3, pids
    assert pids["per-feature"][0] == pids["per-feature"][1] != pids["per-feature"][2], pids
    assert len(set(pids["per-run"])) == 1, pids
    # The run-scoped app keeps its DID, and each scenario's own PLC directory knows it.
    assert len({rows[s]["per-run"]["did"] for s in rows}) == 1
    assert all(rows[s][name]["resolves"] for s in rows for name in ("per-scenario", "per-feature", "per-run"))
    # An app that outlives its network may not point into it.
    assert "the app leaky's env FIREHOSE uses ${A.ws_url}, which belongs to one scenario's network" in output
    assert "1 failed" in output
    for pid in {pid for values in pids.values() for pid in values}:
        assert gone_within(pid, 3), f"app process {pid} outlived the run"


def test_sigkill_of_behave_takes_every_app_down(tmp_path: Path) -> None:
    feature = """Feature: hold
  Scenario: hold
    Given a PDS named A
    And the app per-scenario is running
    And the app per-feature is running
    And the app per-run is running
    When the run holds
"""
    write_project(tmp_path, {"hold.feature": feature})
    notes = tmp_path / "notes.jsonl"
    process = behave(tmp_path, notes)
    held = Path(f"{notes}.held")
    deadline = time.monotonic() + 120
    while not held.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"behave never reached the holding step:\n{process.communicate()[0].decode()}")
        time.sleep(0.05)
    row = json.loads(held.read_text())
    pids = [row[name]["pid"] for name in ("per-scenario", "per-feature", "per-run")]
    assert all(alive(pid) for pid in pids)
    try:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        for pid in pids:
            assert gone_within(pid, 3), f"app process {pid} outlived the SIGKILLed behave by more than 3 s"
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


DAEMONIZING_APP = """
import http.server, os, subprocess, sys
# A helper that leaves the app's process group, as a daemonizing tool does.
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def test_what_an_app_started_outside_its_process_group_stops_with_it(tmp_path: Path) -> None:
    from helpers import project_world

    from atproto_bdd.services.app_process import marked_processes

    (tmp_path / "daemonizing.py").write_text(DAEMONIZING_APP)
    config = f"""
[apps.daemonizing]
command = ["{sys.executable}", "{tmp_path / "daemonizing.py"}"]
did = "none"

[apps.daemonizing.env]
PORT = "${{app.daemonizing.port}}"
"""
    with project_world(tmp_path, config) as world:
        app = world.app("daemonizing").start()
        marker = app._process.marker
        assert len(marked_processes(marker)) == 2  # the app and the helper in a session of its own
        app.stop()
        assert marked_processes(marker) == [], "the helper outlived the app"
