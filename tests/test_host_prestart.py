"""The network host launched while behave loads (services/host_prestart.py), on real hosts.

A behave run claims the host its hooks launched; settings that changed
before ``before_all`` get a host of their own and the early one is killed
with its run directory; a dry run launches none; outside behave nothing is
launched at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import alive

from atproto_bdd.protocol import http as http_module
from atproto_bdd.services import LocalRuntime, Network, PdsSpec
from atproto_bdd.services import host_prestart as prestart_module
from atproto_bdd.services.local import host as local_module
from atproto_bdd.services.node_host import NodeHost
from atproto_bdd.services.node_install import ensure_node_services
from atproto_bdd.settings import Settings

REPORT_STEP = '''
import json, os
from behave import given

@given("the runtime reports how its host started")
def report(context):
    """Writes whether the host was prestarted, its pid and the run directory."""
    runtime = context.atproto.runtime
    context.atproto.ensure_pds("A")  # the host serves a network
    with open(os.environ["REPORT_FILE"], "w") as out:
        json.dump({"prestarted": runtime.prestarted, "pid": runtime.host.pid, "run_dir": str(runtime.run_dir)}, out)
'''

FEATURE = """Feature: start
  Scenario: report
    Given the runtime reports how its host started
"""


def _project(root: Path, environment: str = "from atproto_bdd.hooks import *\n") -> Path:
    (root / "features").mkdir(parents=True)
    (root / "steps").mkdir()
    (root / "features" / "start.feature").write_text(FEATURE)
    (root / "steps" / "lib.py").write_text("from atproto_bdd.steps import *\n")
    (root / "steps" / "report.py").write_text(REPORT_STEP)
    (root / "environment.py").write_text(environment)
    return root


def _behave(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = root / "report.json"
    runs = root / "runs"
    runs.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", "-f", "plain", "-D", "report_dir=", "-D", f"run_root={runs}"]
        + list(args),
        cwd=root,
        env={**os.environ, "REPORT_FILE": str(report)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert list(runs.iterdir()) == [], f"run directories left: {list(runs.iterdir())}"
    return result, json.loads(report.read_text()) if report.exists() else {}


def test_a_behave_run_claims_the_host_its_hooks_launched(tmp_path: Path) -> None:
    _, info = _behave(_project(tmp_path))
    assert info["prestarted"] is True
    assert not alive(info["pid"])


def test_the_prestart_setting_turns_it_off(tmp_path: Path) -> None:
    _, info = _behave(_project(tmp_path), "-D", "prestart=false")
    assert info["prestarted"] is False


def test_settings_changed_before_before_all_get_a_host_of_their_own(tmp_path: Path) -> None:
    environment = """import os
from atproto_bdd import hooks
from atproto_bdd.hooks import *  # noqa: F401,F403
from atproto_bdd.services import host_prestart


def before_all(context):
    with open(os.environ["REPORT_FILE"] + ".early", "w") as out:
        out.write(str(host_prestart._pending.host.pid if host_prestart._pending else 0))
    context.config.userdata["log_level"] = "debug"  # differs from what the early host was launched with
    hooks.before_all(context)
"""
    _, info = _behave(_project(tmp_path, environment))
    early_pid = int((tmp_path / "report.json.early").read_text())
    assert early_pid, "no host was launched early"
    assert info["prestarted"] is False and info["pid"] != early_pid
    assert not alive(early_pid)  # and _behave checked that no run directory (the early host's) is left


def test_a_dry_run_launches_no_host(tmp_path: Path) -> None:
    result, info = _behave(_project(tmp_path), "--dry-run")
    assert info == {}, result.stdout


def test_outside_behave_nothing_is_launched() -> None:
    assert prestart_module.prestart_for_behave() is False


def test_the_runtime_claims_a_matching_host_and_discards_another(tmp_path: Path) -> None:
    settings = Settings.load({"run_root": str(tmp_path)})
    install = ensure_node_services(settings.cache_dir, line=settings.pds_version)
    assert prestart_module.prestart(settings)
    assert not prestart_module.prestart(settings), "one early host at a time"
    early = prestart_module._pending  # noqa: SLF001 - the host launched early
    assert early is not None and early.host.pid and alive(early.host.pid)
    other = Settings.load({"run_root": str(tmp_path), "log_level": "debug"})
    assert prestart_module.claim(other, install) is None
    assert not alive(early.host.pid) and not early.run_dir.exists()

    assert prestart_module.prestart(settings)
    pid = prestart_module._pending.host.pid  # noqa: SLF001
    with LocalRuntime(settings) as runtime:
        runtime.start()
        assert runtime.prestarted and runtime.host.pid == pid
        network = Network(runtime)
        network.add_pds(PdsSpec(name="A"))
        network.close(wait=True)
    assert not alive(pid)
    assert list(tmp_path.iterdir()) == []


def test_the_runtime_prepares_http_while_its_host_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first requests' one-time costs (TLS context, httpx's transport, websockets) are paid after the host was
    # launched and before waiting for it, so they overlap with its start instead of the first step.
    events: list[str] = []

    def recorded(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            events.append(name)
            return call(*args, **kwargs)

        return record

    monkeypatch.setattr(http_module, "_context", None)
    monkeypatch.setattr(NodeHost, "spawn", recorded("spawn", NodeHost.spawn))
    monkeypatch.setattr(NodeHost, "start", recorded("wait for the host", NodeHost.start))
    monkeypatch.setattr(local_module, "warm_up_clients", recorded("warm up", local_module.warm_up_clients))
    with LocalRuntime(Settings.load({"run_root": str(tmp_path), "prestart": "false"})) as runtime:
        runtime.start()
        assert events == ["spawn", "warm up", "wait for the host"]
        assert http_module._context is not None  # noqa: SLF001 - built by the warm-up


def test_the_warm_up_builds_the_tls_context_and_imports_the_clients() -> None:
    # In a fresh interpreter: nothing of it is there before, all of it after.
    check = (
        "import sys\n"
        "from atproto_bdd.protocol import http\n"
        "from atproto_bdd.protocol.warm_up import warm_up\n"
        "names = ('httpcore', 'websockets.sync.client')\n"
        "assert http._context is None and not any(name in sys.modules for name in names)\n"
        "warm_up()\n"
        "assert http._context is not None and all(name in sys.modules for name in names)\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


def test_an_unclaimed_host_is_killed_with_its_run_directory(tmp_path: Path) -> None:
    settings = Settings.load({"run_root": str(tmp_path)})
    assert prestart_module.prestart(settings)
    early = prestart_module._pending  # noqa: SLF001
    assert early is not None
    prestart_module.discard()
    assert not alive(early.host.pid)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("setting", [{"runtime": "docker"}, {"prestart": "false"}])
def test_no_early_host_for_docker_or_when_turned_off(tmp_path: Path, setting: dict[str, str]) -> None:
    assert not prestart_module.prestart(Settings.load({"run_root": str(tmp_path), **setting}))
    assert list(tmp_path.iterdir()) == []
