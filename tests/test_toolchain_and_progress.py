from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from atproto_bdd.errors import InstallError
from atproto_bdd.services.progress import Progress, announce, history
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


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_steps_at_the_same_time_share_one_terminal_line() -> None:
    terminal = Terminal()
    with Progress("npm ci", stream=terminal):
        with Progress("go install relay", stream=terminal):
            announce("relay ready", stream=terminal)
        # a finished step gets a line of its own; the running one stays on the shared line
    frames = terminal.getvalue().split("\r\x1b[2K")
    assert "atproto-bdd: npm ci ... 0s | go install relay ... 0s" in frames
    finished = [frame for frame in frames if frame.endswith("\n")]
    assert finished[0] == "relay ready\n"
    assert finished[1].startswith("atproto-bdd: go install relay ... done in ")
    assert finished[2].startswith("atproto-bdd: npm ci ... done in ")
    assert terminal.getvalue().endswith("done in 0s\n")  # nothing is left running on the line


def test_relay_build_without_go_says_what_is_needed(tmp_path: Path) -> None:
    from atproto_bdd.services.go_install import ensure_relay

    with pytest.raises(InstallError) as caught:
        ensure_relay(tmp_path, go="/nowhere/go")
    assert str(caught.value).startswith(
        "go is required but `/nowhere/go` was not found on PATH: install Go 1.21 or newer"
    )


FAKE_GO = """#!/bin/sh
# Just enough of `go` for ensure_relay: a version, and an install that writes the binary.
case "$1" in
  env) echo go1.99-fake ;;
  install) printf '#!/bin/sh\\n' > "$GOBIN/relay"; chmod +x "$GOBIN/relay" ;;
  *) exit 2 ;;
esac
"""


def test_building_the_relay_on_first_use_shows_a_progress_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # On the real stderr (file descriptor 2): past behave's capture of step output.
    from atproto_bdd.services.go_install import ensure_relay

    go = tmp_path / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    binary = ensure_relay(tmp_path / "cache", go=str(go))
    assert binary.exists()
    lines = capfd.readouterr().err.splitlines()
    assert lines[0].startswith("atproto-bdd: building the indigo relay (") and "go1.99-fake" in lines[0]
    assert " ... done in " in lines[-1]
    assert [(build.what, build.outcome) for build in history()][-1] == (lines[0][13:-4], "done")
    assert ensure_relay(tmp_path / "cache", go=str(go)) == binary  # built once
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("argv", "relay_built"),
    [
        (["install"], False),
        (["install", "--no-relay"], False),  # the old flag is accepted; not building is the default now
        (["install", "--with", "relay"], True),
        (["install", "--all"], True),
        (["install", "--pds-version", "0.5"], False),
    ],
)
def test_install_builds_optional_services_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str], relay_built: bool
) -> None:
    from atproto_bdd import cli
    from atproto_bdd.services import node_install
    from atproto_bdd.services import relay as relay_local
    from atproto_bdd.services.node_install import NodeInstall

    built: list[str] = []
    monkeypatch.setattr(
        node_install,
        "ensure_node_services",
        lambda *a, line, **k: built.append(f"pds {line}") or NodeInstall(tmp_path, "node"),
    )
    monkeypatch.setattr(relay_local, "ensure_relay", lambda *a, **k: built.append("relay") or tmp_path / "relay")
    from atproto_bdd.services import appview as appview_local

    appview = (NodeInstall(tmp_path, "node"), tmp_path / "pg")
    monkeypatch.setattr(appview_local, "ensure_appview", lambda *a, **k: built.append("appview") or appview)
    monkeypatch.setattr(relay_local, "ensure_relay_template", lambda *a, **k: tmp_path / "template")
    assert cli.main(argv) == 0
    lines = ["pds 0.4", "pds 0.5"] if "--all" in argv else ["pds 0.5"] if "0.5" in argv else ["pds 0.4"]
    node_lane = [item for item in built if item != "relay"]  # the Go lane runs beside it
    assert node_lane == lines + (["appview"] if "--all" in argv else [])
    assert built.count("relay") == (1 if relay_built else 0)


def test_install_builds_the_go_tools_while_npm_installs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import threading

    from atproto_bdd import cli
    from atproto_bdd.services import node_install
    from atproto_bdd.services import relay as relay_local
    from atproto_bdd.services.node_install import NodeInstall

    relay_building = threading.Event()
    overlapped: list[bool] = []

    def npm_install(*args: object, line: str, **kwargs: object) -> NodeInstall:
        overlapped.append(relay_building.wait(timeout=10))  # sequential lanes would wait here in vain
        return NodeInstall(tmp_path, "node")

    monkeypatch.setattr(node_install, "ensure_node_services", npm_install)
    monkeypatch.setattr(relay_local, "ensure_relay", lambda *a, **k: relay_building.set() or tmp_path / "relay")
    monkeypatch.setattr(relay_local, "ensure_relay_template", lambda *a, **k: tmp_path / "template")
    assert cli.main(["install", "--with", "relay"]) == 0
    assert overlapped == [True]
