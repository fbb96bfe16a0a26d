"""The AppView in real runs: its order in a network, PostgreSQL (embedded or named), and no leaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import alive, write_hold_project

from atproto_bdd.errors import UsageError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.postgres import Postgres
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def test_the_appview_must_come_before_the_pdses() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.add_pds("A")
        with pytest.raises(UsageError, match=r"the AppView must be declared before the network's PDSes .*PDS A"):
            world.add_appview()
        world.close()


def test_a_postgres_url_is_used_instead_of_the_embedded_server_and_left_clean(tmp_path: Path) -> None:
    settings = Settings.load()
    server = Postgres.embedded(settings.cache_dir, timeout=60)  # stands for a server the user runs
    try:
        with LocalRuntime(Settings.load({"postgres_url": server.url})) as runtime:
            world = World(runtime)
            appview = world.add_appview()
            alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
            bob.follow(alice)
            post = alice.post("through a named server")
            appview.wait_indexed()
            assert post.uri in appview.timeline(bob)
            assert runtime.appviews.postgres is not None and runtime.appviews.postgres.process is None
            ours = server.database_names("atproto_bdd_")
            assert len(ours) == 2 and any(n.startswith("atproto_bdd_template_") for n in ours), ours
            world.close(wait=True)
        left = server.database_names("atproto_bdd_")
        # Only the migrated template stays, named after the AppView's lockfile, for the next run.
        assert len(left) == 1 and left[0].startswith("atproto_bdd_template_"), f"left on the named server: {left}"
    finally:
        server.close()
    with pytest.raises(UsageError, match="is not a postgresql://user@host:port URL"):
        Postgres.external("mysql://localhost/x", settings.cache_dir)


HOLD_STEP = """
import json, os, time
from behave import when

@when("the run holds")
def hold(context):
    views = context.atproto.runtime.appviews
    info = {"host": views.host.pid, "postgres": views.postgres.process.pid, "data": str(views.postgres.data_root)}
    with open(os.environ["HOLD_MARKER"] + ".tmp", "w") as f:
        json.dump(info, f)
    os.replace(os.environ["HOLD_MARKER"] + ".tmp", os.environ["HOLD_MARKER"])
    time.sleep(120)
"""

FEATURE = """Feature: hold
  Scenario: hold an AppView
    Given an AppView
    And an account alice.test
    When the run holds
"""


def test_sigkill_of_behave_takes_the_appview_and_postgres_down(tmp_path: Path) -> None:
    write_hold_project(tmp_path, FEATURE, HOLD_STEP)
    marker = tmp_path / "marker.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "behave", "--no-color", "-f", "plain", "-D", "report_dir="],
        cwd=tmp_path,
        env={**os.environ, "HOLD_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"behave never reached the holding step:\n{process.communicate()[0].decode()[-3000:]}")
        time.sleep(0.05)
    info = json.loads(marker.read_text())
    pids = [int(info["host"]), int(info["postgres"])]
    try:
        assert all(alive(pid) for pid in pids)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 3
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {name: pid for name, pid in zip(("appview host", "postgres"), pids, strict=True) if alive(pid)}
        assert not left, f"still running 3 s after SIGKILL: {left}"
        deadline = time.monotonic() + 5
        while Path(info["data"]).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(info["data"]).exists(), f"PostgreSQL's data {info['data']} was left behind"
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
