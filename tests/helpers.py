"""Helpers the process tests share."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from atproto_bdd.services.node_host import NodeHost
from atproto_bdd.services.node_install import ensure_node_services
from atproto_bdd.settings import Settings


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def interruptible() -> None:
    """``preexec_fn`` for a child the test will interrupt: SIGINT back to its default action.

    A shell starts background jobs with SIGINT ignored, and children inherit that: a test
    suite launched that way (``bash .ci/run &``) would see Ctrl-C ignored by the run it tests.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def write_hold_project(root: Path, feature: str, hold_step: str) -> None:
    """A behave project in ``root``: one feature, our steps and hooks, and a step that holds a scenario."""
    (root / "features").mkdir()
    (root / "steps").mkdir()
    (root / "features" / "hold.feature").write_text(feature)
    (root / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *\n")
    (root / "steps" / "hold_steps.py").write_text(hold_step)
    (root / "environment.py").write_text("from atproto_bdd.hooks import *\n")


def hold_behave(root: Path, marker: Path, *, deadline_s: float = 180) -> tuple[subprocess.Popen[bytes], dict]:
    """Run behave in ``root`` until its holding step wrote ``marker`` (JSON); the process and what it wrote."""
    process = subprocess.Popen(
        [sys.executable, "-m", "behave", "--no-color", "-f", "plain", "-D", "report_dir="],
        cwd=root,
        env={**os.environ, "HOLD_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + deadline_s
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"behave never reached the holding step:\n{process.communicate()[0].decode()[-3000:]}")
        time.sleep(0.05)
    return process, json.loads(marker.read_text())


def sigkill_and_expect_gone(process: subprocess.Popen[bytes], pids: dict[str, int], within: float = 3) -> None:
    """SIGKILL ``process`` (behave) and assert every one of ``pids`` is gone ``within`` seconds (killed if not)."""
    try:
        assert all(alive(pid) for pid in pids.values())
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + within
        while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = {name: pid for name, pid in pids.items() if alive(pid)}
        assert not left, f"still running {within:g} s after SIGKILL: {left}"
    finally:
        for pid in pids.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def network_host(run_dir: Path) -> NodeHost:
    """A NodeHost (not started) on the installed PLC and PDS of the configured line, running in ``run_dir``."""
    settings = Settings.load()
    return NodeHost(ensure_node_services(settings.cache_dir, line=settings.pds_version), run_dir)


@contextmanager
def project_world(project: Path, config: str) -> Iterator[Any]:
    """A world on a running local runtime with PDS A and the apps of ``config`` (written as the project's toml)."""
    from atproto_bdd.services import LocalRuntime
    from atproto_bdd.services.app_config import load_config
    from atproto_bdd.world import World

    (project / "atproto-bdd.toml").write_text(config)
    settings = Settings.load()
    with LocalRuntime(settings) as runtime:
        world = World(runtime, settings)
        world.app_config = load_config(project)
        try:
            world.add_pds("A")
            yield world
        finally:
            world.close()
