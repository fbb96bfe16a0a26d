from __future__ import annotations

from types import SimpleNamespace

import pytest

from atproto_bdd import hooks
from atproto_bdd.errors import UsageError
from atproto_bdd.hooks import network_scope
from atproto_bdd.masking import masker
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def test_network_scope_from_tags() -> None:
    assert network_scope(["wip", "network:feature"], "scenario") == "feature"
    assert network_scope(["network:scenario"], "feature") == "scenario"
    assert network_scope([], "feature") == "feature"


def test_unknown_network_scope_lists_valid_tags() -> None:
    with pytest.raises(UsageError, match="unknown tag @network:run; valid: @network:scenario, @network:feature"):
        network_scope(["network:run"], "scenario")


def test_after_scenario_closes_the_network_even_when_diagnostics_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(runtime=None, settings=Settings())  # type: ignore[arg-type]
    closed = []
    monkeypatch.setattr(world, "close", lambda **kwargs: closed.append(True))

    def broken(_world: World) -> str:
        raise RuntimeError("diagnostics broke")

    monkeypatch.setattr(hooks, "diagnostics", broken)
    status = SimpleNamespace(has_failed=lambda: True, name="failed")
    scenario = SimpleNamespace(all_steps=[], status=status)
    context = SimpleNamespace(atproto=world, atproto_settings=Settings())
    with pytest.raises(RuntimeError, match="diagnostics broke"):
        hooks.after_scenario(context, scenario)
    assert closed == [True]


def test_failed_step_messages_are_masked_for_the_reports() -> None:
    secret = masker.new_secret()
    step = SimpleNamespace(error_message=f"Assertion failed: token {secret}")
    hooks._mask_step_errors(SimpleNamespace(all_steps=[step]))
    assert step.error_message == "Assertion failed: token ***"


def test_pds_tags_name_the_lines_a_scenario_runs_on() -> None:
    from atproto_bdd.hooks import pds_lines_of

    assert pds_lines_of(["network:feature", "wip"]) == []
    assert pds_lines_of(["pds:0.5"]) == ["0.5"]
    assert pds_lines_of(["pds:0.4", "pds:0.5"]) == ["0.4", "0.5"]
    with pytest.raises(UsageError, match=r"unknown tag @pds:0.6; valid: @pds:0.4, @pds:0.5"):
        pds_lines_of(["pds:0.6"])


def test_a_config_mistake_fails_the_run_without_saying_a_user_aborted_it(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "features").mkdir()
    (tmp_path / "steps").mkdir()
    (tmp_path / "environment.py").write_text("from atproto_bdd.hooks import *\n")
    (tmp_path / "steps" / "s.py").write_text("from atproto_bdd.steps import *\n")
    (tmp_path / "features" / "x.feature").write_text("Feature: x\n  Scenario: y\n    Given a PDS named A\n")
    (tmp_path / "atproto-bdd.toml").write_text('lexicons = "nope"\n')
    run = subprocess.run(
        [sys.executable, "-m", "behave", "-D", "report_dir="], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "atproto-bdd.toml: lexicons must be a list of paths" in output, output
    assert "ABORTED: By user." not in output, output
