"""First-use builds happen before the first scenario, and a build inside a scenario is named in the report.

behave runs a throw-away project with our hooks against a cache whose Go
part is empty (its Node.js installs are the real cache's, linked) and a
fake ``go`` that "builds" a binary at once. The output must show the
relay's build before the first scenario starts; a scenario on the other PDS
line builds nothing; a custom step that builds something itself gets a
note in the run report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from atproto_bdd.services.go_install import INDIGO_VERSION
from atproto_bdd.settings import Settings

FAKE_GO = """#!/bin/sh
# Just enough of `go`: a version, and an install that writes the package's binary.
case "$1" in
  env) echo go1.99-fake ;;
  install) pkg=${2%@*}; printf '#!/bin/sh\\nexit 1\\n' > "$GOBIN/${pkg##*/}"; chmod +x "$GOBIN/${pkg##*/}" ;;
  *) exit 2 ;;
esac
"""

STEPS = '''
from behave import given

from atproto_bdd.services.go_install import GoTool, ensure_tool
from atproto_bdd.steps import *  # noqa: F401,F403

THING = GoTool("thing", "example.com/cmd/thing", "example.com", "v1.0.0", "a thing of our own")


@given("a custom step builds a thing itself")
def build(context):
    """Builds a Go program of its own, as a step that starts an unmarked service would."""
    settings = context.atproto_settings
    ensure_tool(settings.cache_dir, THING, go=settings.go)
'''

FEATURE = """
Feature: builds
  Scenario: A relay scenario has its relay built before it starts
    Given a relay crawling PDS A

  @pds:0.5
  Scenario: On the other PDS line nothing is built for it
    Given Jetstream on the relay

  Scenario: A build inside a scenario is noted
    Given a custom step builds a thing itself
"""


def test_builds_come_before_the_first_scenario_and_a_scenarios_own_build_is_noted(tmp_path: Path) -> None:
    real = Settings.load().cache_dir
    cache = tmp_path / "cache"
    cache.mkdir()
    for entry in real.iterdir():  # the Node.js installs are reused; Go starts empty
        if entry.name != "go":
            (cache / entry.name).symlink_to(entry)
    (cache / "go").mkdir()
    (cache / "go" / f"relay-{INDIGO_VERSION}.template.sqlite").write_bytes(b"")  # no fake relay is ever started
    go = tmp_path / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    project = tmp_path / "project"
    (project / "features" / "steps").mkdir(parents=True)
    (project / "features" / "environment.py").write_text("from atproto_bdd.hooks import *  # noqa: F401,F403\n")
    (project / "features" / "steps" / "steps.py").write_text(STEPS)
    (project / "features" / "builds.feature").write_text(FEATURE)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "ATPROTO_BDD_PDS_VERSION": "0.4"}
    completed = subprocess.run(
        [sys.executable, "-m", "behave", "-f", "plain", "--no-capture", "features"]
        + ["-D", f"cache_dir={cache}", "-D", f"go={go}", "-D", "report_dir=reports"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    output = completed.stdout
    lines = output.splitlines()
    built = next(i for i, line in enumerate(lines) if line.startswith("atproto-bdd: building the indigo relay"))
    first_scenario = next(i for i, line in enumerate(lines) if "Scenario: A relay scenario" in line)
    assert built < first_scenario, output
    assert "building Jetstream" not in output  # its only scenario does not run on this PDS line
    report = json.loads((project / "reports" / "atproto-bdd.json").read_text())
    notes = {scenario["name"]: scenario["notes"] for scenario in report["scenarios"]}
    assert notes["A relay scenario has its relay built before it starts"] == []
    [note] = notes["A build inside a scenario is noted"]
    assert note.startswith("includes building a thing of our own (v1.0.0) with go1.99-fake")
    assert "mark the step that starts it with atproto_bdd.steps.support.uses" in note
