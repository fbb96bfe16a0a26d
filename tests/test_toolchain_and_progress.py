from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from atproto_bdd.errors import InstallError
from atproto_bdd.services.progress import Progress
from atproto_bdd.services.toolchain import require_tool, run_logged, tail


def test_missing_tool_says_what_to_install() -> None:
    with pytest.raises(InstallError) as caught:
        require_tool("node", "/nowhere/node")
    assert str(caught.value).startswith(
        "node is required but `/nowhere/node` was not found on PATH: install Node.js 20"
    )


def test_failed_command_shows_its_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    with pytest.raises(InstallError) as caught:
        run_logged(
            [sys.executable, "-c", "print('step one'); print('boom: no compiler'); raise SystemExit(3)"],
            cwd=tmp_path,
            log_path=log,
            timeout=30,
            what="building the thing",
        )
    message = str(caught.value)
    assert message.startswith("building the thing failed (exit code 3)")
    assert message.rstrip().endswith("boom: no compiler")


def test_tail_of_missing_file_is_empty(tmp_path: Path) -> None:
    assert tail(tmp_path / "nope.log") == ""


def test_progress_prints_start_and_end_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("compiling sqlite", stream=stream, ci_interval=60):
        pass
    lines = stream.getvalue().splitlines()
    assert lines[0] == "atproto-bdd: compiling sqlite ..."
    assert lines[-1].startswith("atproto-bdd: compiling sqlite ... done in ")


def test_progress_reports_failure() -> None:
    stream = io.StringIO()
    with pytest.raises(RuntimeError):
        with Progress("npm ci", stream=stream):
            raise RuntimeError("x")
    assert "npm ci ... FAILED in" in stream.getvalue()


def test_relay_build_without_go_says_what_is_needed(tmp_path: Path) -> None:
    from atproto_bdd.services.go_install import ensure_relay

    with pytest.raises(InstallError) as caught:
        ensure_relay(tmp_path, go="/nowhere/go")
    assert str(caught.value).startswith(
        "go is required but `/nowhere/go` was not found on PATH: install Go 1.21 or newer"
    )
