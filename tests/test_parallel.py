"""Planning, sharding and merging of parallel runs (and one real two-worker run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from atproto_bdd import parallel
from atproto_bdd.errors import UsageError
from atproto_bdd.parallel import WorkUnit, balance, merge_junit, parse_shard, plan_units
from atproto_bdd.services import prepare as prepare_module

FEATURE_A = """\
Feature: a
  Background:
    Given a PDS named A

  Scenario: one
    Given an account alice.test
    When alice.test posts "x"

  Scenario: two
    Given an account bob.test
"""
FEATURE_B = """\
@network:feature
Feature: b
  Scenario: three
    Given an account carol.test

  Scenario: four
    Then carol.test has no app.bsky.feed.post records
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "a.feature").write_text(FEATURE_A)
    (tmp_path / "features" / "b.feature").write_text(FEATURE_B)
    return tmp_path / "features"


def test_scenarios_are_units_unless_the_feature_shares_its_network(suite: Path) -> None:
    units = plan_units([str(suite)])
    assert [(Path(u.target).name, u.weight) for u in units] == [
        ("a.feature:5", 3),  # background step + 2
        ("a.feature:9", 2),
        ("b.feature", 2),
    ]


def test_units_that_use_the_relay_build_it_before_the_workers_start(
    suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (suite / "c.feature").write_text(
        "Feature: c\n  Scenario: five\n    Given a PDS named A\n    And a relay crawling PDS A\n"
    )
    units = plan_units([str(suite)])
    assert [Path(u.target).name for u in units if u.services] == ["c.feature:2"]
    prepared: list[tuple[Path, str, frozenset[str]]] = []

    def prepare_services(settings, services, say):  # type: ignore[no-untyped-def]
        prepared.append((settings.cache_dir, settings.runtime, frozenset(services)))

    monkeypatch.setattr(prepare_module, "prepare_services", prepare_services)
    monkeypatch.delenv("ATPROTO_BDD_RUNTIME", raising=False)
    parallel.prepare([u for u in units if not u.services])
    assert prepared == []  # no relay in the suite: nothing is built
    parallel.prepare(units, ["-D", "cache_dir=/tmp/c1", "--no-color"])
    parallel.prepare(units, ["-Druntime=docker"])  # the Docker runtime runs the relay's image
    assert prepared == [(Path("/tmp/c1"), "local", frozenset({"relay"}))]


def test_balance_is_deterministic_and_longest_first() -> None:
    units = [WorkUnit(f"f:{i}", weight) for i, weight in enumerate([5, 1, 4, 3, 3, 2])]
    parts = balance(units, 2)
    assert [sum(u.weight for u in part) for part in parts] == [9, 9]
    assert balance(list(reversed(units)), 2) == parts  # input order does not matter
    assert sorted(u.target for part in balance(units, 3) for u in part) == sorted(u.target for u in units)


def test_shards() -> None:
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1-2"):
        with pytest.raises(UsageError, match="is not i/n"):
            parse_shard(bad)


def test_merged_junit_keeps_the_case_that_ran(tmp_path: Path) -> None:
    def junit(path: Path, ran: str, status: str) -> Path:
        other = "two" if ran == "one" else "one"
        body = "<failure message='x'/>" if status == "failed" else ""
        path.write_text(
            f"<testsuite name='features.a' tests='2' failures='0' errors='0' skipped='1' time='1.5'>"
            f"<testcase name='{ran}' time='1.5'>{body}</testcase>"
            f"<testcase name='{other}' time='0'><skipped/></testcase></testsuite>"
        )
        return path

    files = [junit(tmp_path / "w1.xml", "one", "passed"), junit(tmp_path / "w2.xml", "two", "failed")]
    (merged,) = merge_junit(files, tmp_path / "junit")
    suite = ET.parse(merged).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "0")
    assert float(suite.get("time", "0")) == 3.0


def test_a_failing_worker_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "s.py").write_text("from atproto_bdd.steps import *\n")
    (tmp_path / "environment.py").write_text("from atproto_bdd.hooks import *\n")
    (tmp_path / "features" / "x.feature").write_text(
        textwrap.dedent(
            """\
            Feature: x
              Scenario: passes
                Given an account alice.test
                Then alice.test has no app.bsky.feed.post records

              Scenario: fails
                Given an account alice.test
                Then alice.test has 1 app.bsky.feed.post record
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "atproto_bdd.cli", "run", "-j", "2", "features"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "worker 1" in run.stdout and "worker 2" in run.stdout and "FAILED" in run.stdout
    (merged,) = (tmp_path / "reports" / "junit").glob("*.xml")
    suite = ET.parse(merged).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "0")
    page = (tmp_path / "reports" / "atproto-bdd.html").read_text()
    assert "1 passed" in page and "1 failed" in page and "alice.test has 1 app.bsky.feed.post record" in page


def test_arguments_after_a_double_dash_go_to_behave_not_to_the_paths(monkeypatch) -> None:
    from atproto_bdd import cli, parallel

    seen = {}
    monkeypatch.setattr(parallel, "run_parallel", lambda paths, **kwargs: seen.update(paths=paths, **kwargs) or 0)
    argv = ["run", "-j", "2", "features/a.feature", "features/b.feature", "--", "-D", "x=1", "--no-color"]
    assert cli.main(argv) == 0
    assert seen["paths"] == ["features/a.feature", "features/b.feature"]
    assert seen["behave_args"] == ["-D", "x=1", "--no-color"]
    assert cli.main(["run", "--", "-D", "y=2"]) == 0
    assert (seen["paths"], seen["behave_args"]) == (["features"], ["-D", "y=2"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "-j", "0"], "argument -j/--jobs: expected 1 worker or more; got 0"),
        (["run", "-j", "-3"], "argument -j/--jobs: expected 1 worker or more; got -3"),
        (["run", "-j", "two"], "expected a whole number of workers, 1 or more; got 'two'"),
        (["run", "--timeout", "-5"], "argument --timeout: expected seconds above 0; got -5"),
    ],
)
def test_run_refuses_worker_counts_and_time_limits_that_make_no_sense(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from atproto_bdd import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
