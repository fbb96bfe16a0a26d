"""Steps this repository's own suite uses to check what users see when a run fails.

They write a throw-away behave project (a feature file, the one-line steps
glue and environment.py a user would have) and run behave on it in a
subprocess, aruba-style, so failure messages are checked end to end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from behave import given, then, when

RUN_TIMEOUT = 300


@given("a behave project with the feature:")
def given_project(context: Any) -> None:
    """Writes a project whose only feature is the docstring."""
    root = Path(tempfile.mkdtemp(prefix="atproto-bdd-project-"))
    context.add_cleanup(shutil.rmtree, root, ignore_errors=True)
    (root / "features").mkdir()
    (root / "steps").mkdir()
    (root / "features" / "example.feature").write_text(context.text)
    (root / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *  # noqa\n")
    (root / "environment.py").write_text("from atproto_bdd.hooks import *  # noqa\n")
    context.project = root


@when("behave runs on it")
@when("behave runs on it with {options}")
def when_behave_runs(context: Any, options: str = "") -> None:
    """Runs ``python -m behave`` on the project (OPTIONS such as ``-D node=/nowhere``)."""
    argv = [sys.executable, "-m", "behave", "--no-color", "--format", "plain", *options.split()]
    env = {key: value for key, value in os.environ.items() if not key.startswith("BEHAVE_")}
    completed = subprocess.run(
        argv, cwd=context.project, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, check=False
    )
    context.run_output = completed.stdout + completed.stderr
    context.run_exit_code = completed.returncode


@then("the run fails")
def then_run_fails(context: Any) -> None:
    """Checks behave exited non-zero."""
    assert context.run_exit_code != 0, f"the run passed:\n{context.run_output}"


@then("the run passes")
def then_run_passes(context: Any) -> None:
    """Checks behave exited with 0."""
    assert context.run_exit_code == 0, f"the run failed ({context.run_exit_code}):\n{context.run_output}"


@then("the output contains:")
def then_output_contains(context: Any) -> None:
    """Checks every line of the docstring appears in the run's output."""
    missing = [line.strip() for line in context.text.splitlines() if line.strip() not in context.run_output]
    assert not missing, f"missing {missing} in the output:\n{context.run_output}"


@then("the output does not contain a traceback")
def then_no_traceback(context: Any) -> None:
    """Checks the run printed no Python traceback."""
    assert "Traceback (most recent call last)" not in context.run_output, context.run_output
