"""The bad-input suite: every mistake a clear error, no false pass, nothing left running (issue 44).

A table of cases: the input (a scenario, a docstring, ``atproto-bdd.toml``, a
``-D`` setting, an environment variable, ``atproto-bdd run`` arguments, a
pytest test or option, a signal), the words its failure must say, the exit
code, and - for every process - that nothing it started is left running
(``leftovers.py``: the run is watched from a child subreaper, so even what
calls ``setsid`` or forks twice is found).

Cases are grouped so they cost little: the scenario cases are one generated
feature, run once by behave (each scenario's outcome read from its JSON
output); the pytest cases one pytest run; the cases that fail before any
service starts are processes of about a second, run two at a time. Each
case is a test of its own, so a failure names the case.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LEFTOVERS = Path(__file__).with_name("leftovers.py")
PYTHON = sys.executable
RUN_TIMEOUT = 240
#: A Python traceback in any output is a failure of the suite (unexpected exceptions keep theirs).
TRACEBACK = "Traceback (most recent call last)"


# -- running a process and seeing what it left ---------------------------------------------------


@dataclass
class Outcome:
    """What a watched process did: its exit code, its output (stdout and stderr), what it left running."""

    exit_code: int | None
    output: str
    leftovers: list[dict[str, Any]]
    seconds: float

    def check(self, words: tuple[str, ...], exit_code: int | None, *, traceback_ok: bool = False) -> None:
        """The words are in the output, the exit code is ``exit_code`` (None: any), nothing is left running."""
        missing = [word for word in words if word not in self.output]
        assert not missing, f"missing {missing} in the output:\n{self.output[-6000:]}"
        if exit_code is not None:
            assert self.exit_code == exit_code, (
                f"exit code {self.exit_code}, expected {exit_code}:\n{self.output[-4000:]}"
            )
        assert not self.leftovers, f"left running after the run: {self.leftovers}"
        if not traceback_ok:
            assert TRACEBACK not in self.output, self.output[-6000:]


def base_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment without behave's and our own run settings (a case sets what it tests), plus ``extra``."""
    keep = ("ATPROTO_BDD_CACHE_DIR", "ATPROTO_BDD_PDS_VERSION", "ATPROTO_BDD_NODE", "ATPROTO_BDD_NPM")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BEHAVE_") and (not key.startswith("ATPROTO_BDD_") or key in keep)
    }
    env.update(extra or {})
    return env


def run_watched(
    argv: list[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    while_running: Callable[[int], None] | None = None,
) -> Outcome:
    """Run ``argv`` in ``cwd`` under ``leftovers.py``; ``while_running(pid)`` may signal it meanwhile."""
    report = cwd / f".leftovers-{time.monotonic_ns()}.json"
    output = report.with_suffix(".out")
    started = time.monotonic()
    with open(output, "wb") as sink:
        watcher = subprocess.Popen(
            [PYTHON, str(LEFTOVERS), "--grace", "5", str(report), "--", *argv],
            cwd=cwd,
            env=env if env is not None else base_environment(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            if while_running is not None:
                while not report.exists() and watcher.poll() is None:
                    time.sleep(0.02)
                pid = json.loads(report.read_text())["pid"] if report.exists() else 0
                while_running(pid)
            watcher.wait(timeout=timeout)
        except BaseException:
            watcher.kill()
            watcher.wait()
            raise
    seen = json.loads(report.read_text()) if report.exists() else {}
    return Outcome(
        seen.get("exit_code"),
        output.read_text(errors="replace"),
        seen.get("leftovers", [{"unknown": "no report"}]),
        time.monotonic() - started,
    )


def write_project(root: Path, feature: str, *, config: str = "", extra: dict[str, str] | None = None) -> Path:
    """A user's behave project: one feature, our steps and hooks, optionally ``atproto-bdd.toml`` and more files."""
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "steps").mkdir(exist_ok=True)
    (root / "features" / "cases.feature").write_text(feature)
    (root / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *  # noqa\n")
    (root / "environment.py").write_text("from atproto_bdd.hooks import *  # noqa\n")
    if config:
        (root / "atproto-bdd.toml").write_text(config)
    for name, text in (extra or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


BEHAVE = [PYTHON, "-m", "behave", "--no-color", "--format", "plain"]
STEP_KEYWORDS = ("Given ", "When ", "Then ", "And ", "But ")


# -- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input (or misuse) and what it must give.

    ``kind`` says where the input goes: ``step``, ``docstring``, ``placeholder``
    (scenarios of the one behave run), ``config``, ``setting``, ``env``, ``cli``
    (a process each), ``pytest`` (tests of the one pytest run, or a pytest
    process for an option), ``signal``. ``given`` is the input; ``words`` what the
    output must say; ``exit_code`` the process's (for scenario and pytest-test
    cases, the outcome of the scenario or test: ``failed``, ``passed``...).
    """

    id: str
    kind: str
    given: str
    words: tuple[str, ...]
    exit_code: int | str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.id


def case(id: str, kind: str, given: str, *words: str, exit_code: int | str | None = None, **extra: Any) -> Case:
    return Case(id, kind, textwrap.dedent(given).strip("\n"), words, exit_code, extra)


# ---- scenarios: steps, docstrings, placeholders, in one behave run ----

LONG_HANDLE = ".".join(["a" * 60] * 4) + ".test"  # 248 characters, each label valid: the PDS's rule refuses it
HUGE_HANDLE = "x" * 255 + ".test"  # 260: longer than any handle may be

#: The project the scenario cases run in: its apps, for the app cases.
SCENARIO_CONFIG = """
[apps.nocwd]
command = ["python3", "-c", "print(1)"]
cwd = "not-here"

[apps.noprogram]
command = ["/nowhere/app"]

[apps.dies]
command = ["python3", "-c", "import sys; print('bye'); sys.exit(3)"]

# Starts a child in a session of its own and one that double-forks, then serves: both must end with the app.
[apps.daemon]
command = ["sh", "-c", "setsid sleep 300 & (sleep 301 &); exec python3 -m http.server $PORT --bind 127.0.0.1"]
ready_http = "/"
did = "none"
[apps.daemon.env]
PORT = "${app.daemon.port}"
"""

SCENARIOS = [
    # steps: names, handles, tables, states, waits, NSIDs
    case("unknown-pds", "step", "Given an account bob.test on PDS Z", "unknown PDS 'Z'; known PDSs: A"),
    case(
        "unknown-account",
        "step",
        'When bob.test posts "hi"',
        "unknown account 'bob.test'; known accounts: alice.test (create it first: Given an account bob.test)",
    ),
    case(
        "handle-248",
        "step",
        f"Given an account {LONG_HANDLE}",
        f"PDS A would refuse the handle '{LONG_HANDLE}': handle too long (248 > 23 characters)",
        "one name of 3 to 18 letters, digits or hyphens before .test",
    ),
    case("handle-short", "step", "Given an account ab.test", "handle too short (7 < 8 characters)"),
    case("handle-dots", "step", "Given an account a.b.test", "'a.b' before .test has a dot"),
    case(
        "handle-260",
        "step",
        f"Given an account {HUGE_HANDLE}",
        "is not a valid Handle",
        "handle too long (260 > 253 characters)",
        exit_code="undefined",
    ),
    case(
        "handle-not-one",
        "step",
        "Given an account alice",
        "undefined step 'Given an account alice': 'alice' is not a valid Handle",
        "a handle has at least two labels separated by a dot",
        exit_code="undefined",
    ),
    case(
        "handle-underscore",
        "step",
        "Given an account a_b.test",
        "'_' in the label 'a_b': a handle has only ASCII letters, digits, hyphens and dots",
        exit_code="undefined",
    ),
    case(
        "table-handle",
        "step",
        """
        Given the following accounts:
          | handle |
          | alice  |
        """,
        "'alice' is not a valid handle: a handle has at least two labels",
    ),
    case(
        "table-column",
        "step",
        """
        Given the following accounts:
          | handle   | server |
          | bob.test | A      |
        """,
        "the table has unknown column(s) server; valid columns: handle, pds (optional)",
    ),
    case("table-missing", "step", "Given the following accounts:", "this step needs a table with columns: handle, pds"),
    case(
        "table-posts-column",
        "step",
        """
        Given the following posts:
          | author     | body |
          | alice.test | hi   |
        """,
        "unknown column(s) body and missing column(s) text",
    ),
    case(
        "account-state",
        "step",
        "Then alice.test's account is sleepy",
        "unknown account state 'sleepy'; an account is one of: active, deactivated, takendown",
    ),
    case(
        "wait-cap",
        "step",
        "Then within 99999 seconds, alice.test has 2 app.bsky.feed.post records",
        "'within 99999 seconds' waits longer than max_wait allows (300s)",
    ),
    case(
        "nsid-case-count",
        "step",
        """
        When alice.test posts "hi"
        Then alice.test has 0 App.Bsky.Feed.post records
        """,
        "alice.test has 1 app.bsky.feed.post records, expected 0",
    ),
    case(
        "nsid-case-firehose",
        "step",
        """
        When alice.test posts "hi"
        Then the firehose of PDS A shows no commit by alice.test creating App.Bsky.Feed.post
        """,
        "the firehose of PDS A showed a commit by alice.test creating app.bsky.feed.post",
    ),
    case(
        "nsid-typo-count",
        "step",
        """
        When alice.test posts "hi"
        Then alice.test has no app.bsky.feed.pots records
        """,
        "app.bsky.feed.pots is no collection or method any known lexicon describes, but app.bsky.feed.post is",
    ),
    case(
        "nsid-typo-firehose",
        "step",
        "Then the firehose of PDS A shows no commit by alice.test creating app.bsky.feed.pots",
        "app.bsky.feed.pots is no collection or method any known lexicon describes, but app.bsky.feed.post is",
    ),
    case(
        "event-type",
        "step",
        "Then the firehose of PDS A shows a handle event for alice.test",
        "unknown firehose event type 'handle'; known types: commit, identity, account, sync",
    ),
    case(
        "cursor",
        "step",
        "Then replaying the firehose of PDS A from cursor latest shows 1 commit by alice.test creating "
        "app.bsky.feed.post",
        "cursor 'latest' is not a sequence number (expected a non-negative integer, 0 = oldest)",
    ),
    case(
        "no-request",
        "step",
        "Then the request succeeds",
        'no request to check: use a "tries to ...", "queries ..." or "calls ..." step first',
    ),
    case(
        "empty-saying",
        "step",
        """
        When alice.test tries to create an account
        Then the request fails with error InvalidRequest saying ""
        """,
        "the quotes are empty: the step 'the request fails with error {error:ErrorName} saying \"{text}\"'",
        exit_code="undefined",
    ),
    case(
        "unknown-app",
        "step",
        "Given the app nope is running",
        "unknown app 'nope'; apps declared in",
        "daemon, dies, nocwd, noprogram",
    ),
    case(
        "app-cwd", "step", "Given the app nocwd is running", "the app nocwd could not be started: its cwd", "not-here"
    ),
    case(
        "app-program",
        "step",
        "Given the app noprogram is running",
        "the app noprogram could not be started: its program '/nowhere/app' was not found (no such file)",
    ),
    case(
        "app-dies",
        "step",
        "Given the app dies is running",
        "the app dies exited with code 3 before it was ready",
        "its log ends with:\nbye",
    ),
    case("app-daemonizes", "step", "Given the app daemon is running", exit_code="passed"),
    case(
        "tag-network",
        "step",
        "@network:run\nGiven an account carol.test",
        "unknown tag @network:run; valid: @network:scenario, @network:feature",
        exit_code="hook_error",
    ),
    case(
        "tag-pds",
        "step",
        "@pds:0.6\nGiven an account carol.test",
        "unknown tag @pds:0.6; valid: @pds:0.4, @pds:0.5",
        exit_code="hook_error",
    ),
    # docstrings
    case(
        "record-array",
        "docstring",
        """
        When alice.test creates a com.example.note record:
          '''
          ["not", "an", "object"]
          '''
        """,
        'the record as JSON must be a JSON object ({...}), and the docstring holds an array: ["not", "an", "object"]',
    ),
    case(
        "record-string",
        "docstring",
        """
        When alice.test creates a com.example.note record:
          '''
          "text"
          '''
        """,
        "the record as JSON must be a JSON object ({...}), and the docstring holds a string",
    ),
    case(
        "record-number",
        "docstring",
        """
        When alice.test creates a com.example.note record:
          '''
          5
          '''
        """,
        "the docstring holds a number: 5",
    ),
    case(
        "record-null",
        "docstring",
        """
        When alice.test creates a com.example.note record:
          '''
          null
          '''
        """,
        "the docstring holds null",
    ),
    case(
        "record-malformed",
        "docstring",
        """
        When alice.test creates a com.example.note record:
          '''
          {"name": "x",
           "stars": 5,,}
          '''
        """,
        "the JSON docstring is not valid JSON: Expecting property name enclosed in double quotes at line 2",
    ),
    case(
        "record-none",
        "docstring",
        "When alice.test creates a com.example.note record:",
        'this step needs a docstring ("""...""") with the record as JSON',
    ),
    case(
        "update-array",
        "docstring",
        """
        When alice.test updates her latest com.example.note record with:
          '''
          [1]
          '''
        """,
        "the fields as JSON must be a JSON object ({...}), and the docstring holds an array",
    ),
    case(
        "call-array",
        "docstring",
        """
        When alice.test calls com.atproto.repo.createRecord with:
          '''
          ["x"]
          '''
        """,
        "the procedure's JSON input must be a JSON object ({...}), and the docstring holds an array",
    ),
    case(
        "query-object-parameter",
        "docstring",
        """
        When alice.test queries com.atproto.repo.listRecords with:
          '''
          {"repo": "${alice.test.did}", "collection": {"a": 1}}
          '''
        """,
        "$.collection is an object, and a query parameter is a string, a number, a boolean or an array of those",
    ),
    case(
        "query-nested-array",
        "docstring",
        """
        When alice.test queries com.atproto.repo.listRecords with:
          '''
          {"repo": "${alice.test.did}", "collection": [["app.bsky.feed.post"]]}
          '''
        """,
        "$.collection[0] is an array, and a query parameter",
    ),
    case(
        "contains-string",
        "docstring",
        """
        When alice.test queries com.atproto.repo.describeRepo with:
          '''
          {"repo": "${alice.test.did}"}
          '''
        Then the response contains:
          '''
          "alice.test"
          '''
        """,
        "the fields the response contains, as JSON must be a JSON object ({...}), and the docstring holds a string",
    ),
    case(
        "in-any-order-object",
        "docstring",
        """
        When alice.test queries com.atproto.repo.describeRepo with:
          '''
          {"repo": "${alice.test.did}"}
          '''
        Then the response's collections contains, in any order:
          '''
          {"a": 1}
          '''
        """,
        "must be a JSON array ([...]), and the docstring holds an object",
    ),
    case(
        "network-list",
        "docstring",
        """
        Given the network described by:
          '''
          ["alice.test"]
          '''
        """,
        "the network description must be a mapping of sections, got list",
    ),
    case(
        "network-text-list",
        "docstring",
        """
        Given the network described by:
          '''
          posts: [{author: alice.test, text: ["not", "a", "string"]}]
          '''
        """,
        "posts[0].text must be text, got list ['not', 'a', 'string']",
    ),
    case(
        "network-yes",
        "docstring",
        """
        Given the network described by:
          '''
          posts: [{author: alice.test, text: yes}]
          '''
        """,
        "posts[0].text must be text, got bool True (quote it in YAML if it is text)",
    ),
    case(
        "network-yaml",
        "docstring",
        """
        Given the network described by:
          '''
          accounts: [alice.test
          '''
        """,
        "the docstring (the network as YAML or JSON) is not valid YAML or JSON",
    ),
    case(
        "network-section",
        "docstring",
        """
        Given the network described by:
          '''
          people: [carol.test]
          '''
        """,
        "unknown section(s) people; valid sections: pdses, accounts, posts",
    ),
    case(
        "network-record",
        "docstring",
        """
        Given the network described by:
          '''
          records: [{author: alice.test, collection: com.example.note, record: [1, 2]}]
          '''
        """,
        "records[0].record must be a mapping (the record's fields), got list [1, 2]",
    ),
    case(
        "network-late-mistake",
        "docstring",
        """
        Given the network described by:
          '''
          accounts: [carol.test]
          likes: [{by: carol.test}]
          '''
        Then carol.test has 0 app.bsky.feed.post records
        """,
        "likes[0]: missing key(s) post",
    ),
    case(
        "network-handle",
        "docstring",
        """
        Given the network described by:
          '''
          accounts: [ab.test]
          '''
        """,
        "PDS A would refuse the handle 'ab.test': handle too short",
    ),
    # placeholders
    case(
        "placeholder-unclosed",
        "placeholder",
        """
        When alice.test creates a com.example.note record:
          '''
          {"text": "a ${A.url"}
          '''
        """,
        "a placeholder without its closing brace: '${A.url' in 'a ${A.url' (write ${name}; a literal ${ is $${)",
    ),
    case(
        "placeholder-stray",
        "placeholder",
        """
        When alice.test creates a com.example.note record:
          '''
          {"text": "$alice.test.did}"}
          '''
        """,
        "a placeholder without its opening brace: '$alice.test.did}'",
    ),
    case(
        "placeholder-unknown",
        "placeholder",
        """
        When alice.test creates a com.example.note record:
          '''
          {"owner": "${alice.test.dud}"}
          '''
        """,
        "unknown placeholder ${alice.test.dud}; known placeholders: ${now}, ${plc.url}, ${A.url}",
    ),
    case(
        "placeholder-no-record",
        "placeholder",
        """
        When alice.test creates a com.example.note record:
          '''
          {"subject": "${alice.test.latest.uri}"}
          '''
        """,
        "alice.test's repository holds no record",
    ),
    case(
        "placeholder-in-text",
        "placeholder",
        'When alice.test posts "${nobody.test.did}"',
        "unknown placeholder ${nobody.test.did}",
    ),
    case(
        "placeholder-in-table",
        "placeholder",
        """
        Given the following posts:
          | author     | text           |
          | alice.test | ${nobody.test} |
        """,
        "unknown placeholder ${nobody.test}",
    ),
    case(
        "placeholder-escape",
        "placeholder",
        """
        When alice.test creates a com.example.note record:
          '''
          {"text": "$${literal}"}
          '''
        Then alice.test's latest com.example.note record contains:
          '''
          {"text": "$${literal}"}
          '''
        """,
        exit_code="passed",
    ),
]


def scenario_feature(cases: list[Case]) -> str:
    """One feature, a scenario per case (named by its id), after a Background of PDS A and alice.test."""
    parts = ["Feature: bad input\n  Background:\n    Given a PDS named A\n    And an account alice.test on PDS A\n"]
    for item in cases:
        lines = item.given.replace("'''", '"""').splitlines()
        tags = [line for line in lines if line.startswith("@")]
        body = [line for line in lines if not line.startswith("@")]
        parts.append("")
        parts.extend(f"  {tag}" for tag in tags)
        parts.append(f"  Scenario: {item.id}")
        parts.extend(f"    {line}" for line in body)
    return "\n".join(parts) + "\n"


@dataclass
class ScenarioRun:
    """The one behave run of the scenario cases: its outcome, and each scenario's status and failure."""

    outcome: Outcome
    scenarios: dict[str, tuple[str, str, list[str]]]  # id -> (status, error message, its steps' statuses)


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory: pytest.TempPathFactory) -> ScenarioRun:
    root = write_project(tmp_path_factory.mktemp("scenarios"), scenario_feature(SCENARIOS), config=SCENARIO_CONFIG)
    json_first = [PYTHON, "-m", "behave", "--no-color", "-f", "json", "-o", "result.json", "-f", "plain"]
    outcome = run_watched([*json_first, "-D", "report_dir="], root)
    scenarios: dict[str, tuple[str, str, list[str]]] = {}
    results = root / "result.json"
    for feature in json.loads(results.read_text()) if results.exists() else []:
        for element in feature.get("elements", []):
            if element.get("type") == "background":
                continue
            errors, statuses = [], []
            for step in element.get("steps", []):
                statuses.append(step.get("result", {}).get("status", "untested"))
                message = step.get("result", {}).get("error_message")
                if message:
                    errors.append("\n".join(message) if isinstance(message, list) else message)
            scenarios[element["name"]] = (element.get("status", ""), "\n".join(errors), statuses)
    return ScenarioRun(outcome, scenarios)


def test_the_scenario_run_fails_as_it_should_and_leaves_nothing_running(scenario_run: ScenarioRun) -> None:
    scenario_run.outcome.check((), 1)
    assert set(scenario_run.scenarios) == {item.id for item in SCENARIOS}, scenario_run.outcome.output[-3000:]
    assert "ABORTED" not in scenario_run.outcome.output


@pytest.mark.parametrize("item", SCENARIOS, ids=str)
def test_scenario(item: Case, scenario_run: ScenarioRun) -> None:
    status, error, steps = scenario_run.scenarios.get(item.id, ("missing", "", []))
    expected = item.exit_code or "failed"
    if expected == "undefined":  # behave calls a scenario with an undefined step an error
        assert "undefined" in steps and status == "error", f"{item.id}: {status} {steps}, expected an undefined step"
    else:
        assert status == expected, f"{item.id}: {status}, expected {expected}: {error or '(no error)'}"
    assert TRACEBACK not in error, error
    # A failed step's message is its own; an undefined step's reason and a hook's error are in the run's output.
    where = error if expected == "failed" else scenario_run.outcome.output
    missing = [word for word in item.words if word not in where]
    assert not missing, f"{item.id}: missing {missing} in:\n{where[-4000:]}"
    if expected == "failed":  # its first line names the step that failed, as the scenario has it
        named = error.splitlines()[0].removeprefix("ASSERT FAILED: ").strip()
        steps = [line.strip() for line in item.given.splitlines() if line.strip().startswith(STEP_KEYWORDS)]
        assert named in steps, f"{item.id}: the failure does not start with the step: {error}"


# ---- processes that fail before any service starts: config, settings, environment, CLI ----

#: A feature that would start a network: a mistake before it must stop the run before it does.
ONE_PDS = "Feature: one\n  Scenario: a PDS\n    Given a PDS named A\n"
CONFIG_ERROR = "HOOK-ERROR in before_all: UsageError: "


def config_case(id: str, toml: str, *words: str, **extra: Any) -> Case:
    return case(id, "config", toml, CONFIG_ERROR, *words, exit_code=1, **extra)


CONFIGS = [
    # With the host prestarted while behave loads (the default): it must not outlive the refused run.
    config_case("toml-syntax", "[apps.a\ncommand = 'x'", "atproto-bdd.toml is not valid TOML", prestart=True),
    config_case("toml-top-key", "[appz.a]\ncommand = 'x'", "unknown key appz; valid keys: apps, lexicons"),
    config_case("toml-apps", "apps = 5", "apps must be a table of apps ([apps.NAME])"),
    config_case("toml-app-name", "[apps.Feed]\ncommand = 'x'", "app name 'Feed' must be lower-case letters"),
    config_case("toml-app-table", "[apps]\na = 5", "apps.a must be a table"),
    config_case(
        "toml-command-type",
        "[apps.a]\ncommand = 5",
        'apps.a.command must be a list of strings (["python", "app.py"]) or a string, got 5',
    ),
    config_case("toml-command-parts", "[apps.a]\ncommand = ['python', 3]", "apps.a.command must be a list of strings"),
    config_case("toml-command-missing", "[apps.a]\ncwd = '.'", "apps.a.command is required (unless it has an image)"),
    config_case("toml-command-empty", "[apps.a]\ncommand = []", "apps.a.command is required"),
    config_case(
        "toml-unknown-key",
        "[apps.a]\ncommand = 'x'\nreedy_http = '/'",
        "unknown key apps.a.reedy_http; valid keys: command, cwd, env",
    ),
    config_case("toml-cwd-type", "[apps.a]\ncommand = 'x'\ncwd = 5", "apps.a.cwd must be a directory", "got 5"),
    config_case("toml-env", "[apps.a]\ncommand = 'x'\nenv = 5", "apps.a.env must be a table of strings"),
    config_case(
        "toml-env-value", "[apps.a]\ncommand = 'x'\n[apps.a.env]\nX = [1]", "apps.a.env must be a table of strings"
    ),
    config_case(
        "toml-two-checks",
        "[apps.a]\ncommand = 'x'\nready_http = '/'\nready_log = 'up'",
        "apps.a sets ready_http and ready_log; choose one readiness check",
    ),
    config_case("toml-ready-log-regex", "[apps.a]\ncommand = 'x'\nready_log = '('", "ready_log is not a valid regular"),
    config_case(
        "toml-ready-log-type", "[apps.a]\ncommand = 'x'\nready_log = 5", "ready_log must be a regular expression (text)"
    ),
    config_case("toml-ready-http", "[apps.a]\ncommand = 'x'\nready_http = 'health'", "must be a path starting with /"),
    config_case("toml-ready-tcp", "[apps.a]\ncommand = 'x'\nready_tcp = 'yes'", "ready_tcp must be true or false"),
    config_case("toml-did", "[apps.a]\ncommand = 'x'\ndid = 'web2'", "apps.a.did is 'web2'; valid: "),
    config_case("toml-scope", "[apps.a]\ncommand = 'x'\nscope = 'forever'", "apps.a.scope is 'forever'; valid: "),
    config_case(
        "toml-cursor-of",
        "[apps.a]\ncommand = 'x'\ncursor_of = 'A'",
        "apps.a.cursor_of needs cursor_http (the path that answers the app's cursor)",
    ),
    config_case(
        "toml-port-range", "[apps.a]\ncommand = 'x'\nport = 70000", "port must be a TCP port number, 1 to 65535"
    ),
    config_case("toml-port-bool", "[apps.a]\ncommand = 'x'\nport = true", "port must be a TCP port number", "got True"),
    config_case(
        "toml-sign-in", "[apps.a]\ncommand = 'x'\nsign_in = 5", "sign_in must be a table (path, field, button)"
    ),
    config_case(
        "toml-account",
        "[apps.a]\ncommand = 'x'\naccount = 'ping bot'",
        "apps.a.account must be the handle of its account (\"pingbot.test\"), got 'ping bot'",
    ),
    config_case("toml-faults", "[apps.a]\ncommand = 'x'\nfaults = 'yes'", "apps.a.faults must be true or false"),
    config_case(
        "toml-ready-timeout", "[apps.a]\ncommand = 'x'\nready_timeout = -1", "ready_timeout must be a positive number"
    ),
    config_case("toml-ready-timeout-bool", "[apps.a]\ncommand = 'x'\nready_timeout = true", "got True"),
    config_case("toml-ready-timeout-nan", "[apps.a]\ncommand = 'x'\nready_timeout = nan", "got nan"),
    config_case("toml-lexicons", "lexicons = 'lexicons'", "lexicons must be a list of paths"),
]


def setting_case(id: str, option: str, *words: str, exit_code: int = 1, **extra: Any) -> Case:
    return case(id, "setting", option, *words, exit_code=exit_code, **extra)


SETTINGS = [
    setting_case(
        "d-typo", "firehose_timout=10", "setting 'firehose_timout' does not exist: did you mean firehose_timeout?"
    ),
    setting_case("d-runtime", "runtime=cloud", "setting runtime='cloud' is not valid; choose one of: local, docker"),
    setting_case("d-pds-version", "pds_version=9", "setting pds_version='9' is not valid; choose one of: 0.4, 0.5"),
    setting_case(
        "d-seconds-word", "request_timeout=soon", "request_timeout='soon' must be a positive number of seconds"
    ),
    setting_case("d-seconds-negative", "firehose_timeout=-1", "firehose_timeout='-1' must be a positive number"),
    setting_case("d-seconds-zero", "service_timeout=0", "service_timeout='0' must be a positive number of seconds"),
    setting_case("d-seconds-nan", "max_wait=nan", "max_wait='nan' must be a positive number of seconds"),
    setting_case("d-flag", "keep_run_dir=maybe", "keep_run_dir='maybe' must be true or false"),
    setting_case("d-log-level", "log_level=loud", "log_level='loud' is not valid; choose one of: trace, debug"),
    setting_case("d-network", "network=run", "network='run' is not valid; choose one of: scenario, feature"),
    setting_case("d-plc-mode", "plc_mode=disk", "plc_mode='disk' is not valid; choose one of: memory, postgres"),
    setting_case("d-log-size", "app_log_max_bytes=lots", "app_log_max_bytes='lots' must be a size"),
    setting_case("d-log-size-tiny", "app_log_max_bytes=10", "app_log_max_bytes='10' must be a size: bytes (1024 or"),
    setting_case(
        "d-report-dir", "report_dir=/proc/atproto-bdd", "the report_dir setting names /proc/atproto-bdd, which cannot"
    ),
    setting_case(
        "d-run-root", "run_root=/proc/atproto-bdd", "the run_root setting names /proc/atproto-bdd, which", prestart=True
    ),
    setting_case(
        "d-cache-dir",
        "cache_dir=/proc/atproto-bdd",
        "the cache_dir setting names /proc/atproto-bdd, which",
        prestart=True,
    ),
    setting_case("d-config", "config=nope.toml", "nope.toml (setting config) does not exist"),
    setting_case("d-node", "node=/nowhere/node", "node is required but `/nowhere/node` (the node setting) was not"),
    setting_case(
        "d-request-timeout-tiny",
        "request_timeout=0.001",
        "got no answer within 0.001s (the request_timeout setting",
        feature=ONE_PDS + "    And an account alice.test on PDS A\n",
    ),
]


def env_case(id: str, variable: str, *words: str, **extra: Any) -> Case:
    return case(id, "env", variable, *words, exit_code=1, **extra)


ENVIRONMENT = [
    env_case(
        "env-typo",
        "ATPROTO_BDD_FIREHOSE_TIMOUT=10",
        "the environment variable ATPROTO_BDD_FIREHOSE_TIMOUT names no setting: did you mean "
        "ATPROTO_BDD_FIREHOSE_TIMEOUT?",
    ),
    env_case(
        "env-seconds", "ATPROTO_BDD_SERVICE_TIMEOUT=soon", "ATPROTO_BDD_SERVICE_TIMEOUT='soon' must be a positive"
    ),
    env_case("env-runtime", "ATPROTO_BDD_RUNTIME=cloud", "ATPROTO_BDD_RUNTIME='cloud' is not valid; choose one of"),
    env_case("env-pds-version", "ATPROTO_BDD_PDS_VERSION=0.9", "ATPROTO_BDD_PDS_VERSION='0.9' is not valid"),
    env_case(
        "env-flag", "ATPROTO_BDD_KEEP_RUN_DIR=perhaps", "ATPROTO_BDD_KEEP_RUN_DIR='perhaps' must be true or false"
    ),
    env_case("env-log-size", "ATPROTO_BDD_APP_LOG_MAX_BYTES=10", "ATPROTO_BDD_APP_LOG_MAX_BYTES='10' must be a size"),
    env_case(
        "env-report-dir",
        "ATPROTO_BDD_REPORT_DIR=/proc/atproto-bdd",
        "the report_dir setting names /proc/atproto-bdd (from the environment variable ATPROTO_BDD_REPORT_DIR)",
    ),
    env_case(
        "env-xdg-cache",
        "XDG_CACHE_HOME=/proc/atproto-bdd",
        "the cache_dir setting names /proc/atproto-bdd/atproto-bdd (from XDG_CACHE_HOME",
        prestart=True,
    ),
]


def cli_case(id: str, arguments: str, *words: str, exit_code: int = 2) -> Case:
    return case(id, "cli", arguments, *words, exit_code=exit_code)


CLI = [
    cli_case("run-j-0", "run -j 0", "argument -j/--jobs: expected 1 worker or more; got 0"),
    cli_case("run-j-negative", "run -j -3", "expected 1 worker or more; got -3"),
    cli_case("run-j-word", "run -j x", "expected a whole number of workers, 1 or more; got 'x'"),
    cli_case("run-timeout-negative", "run --timeout -5", "argument --timeout: expected seconds above 0; got -5"),
    cli_case("run-timeout-zero", "run --timeout 0", "expected seconds above 0; got 0"),
    cli_case("run-timeout-word", "run --timeout soon", "expected seconds (a number above 0); got 'soon'"),
    cli_case("run-shard-order", "run --shard 3/2", "--shard '3/2' is not i/n with 1 <= i <= n (for example 1/4)"),
    cli_case("run-shard-word", "run --shard x", "--shard 'x' is not i/n"),
    cli_case("run-shard-zero", "run --shard 0/4", "--shard '0/4' is not i/n"),
    cli_case("run-reports", "run --reports /proc/atproto-bdd", "--reports /proc/atproto-bdd cannot be written to"),
    cli_case("run-path", "run nope.feature", "'nope.feature' is neither a directory nor a .feature file"),
    cli_case("run-option", "run --bogus", "unrecognized arguments: --bogus"),
    cli_case(
        "run-setting-typo",
        "run -j 1 features -- -D firehose_timout=1",
        "setting 'firehose_timout' does not exist: did you mean firehose_timeout?",
    ),
    cli_case("run-setting-value", "run -j 1 features -- -D runtime=cloud", "setting runtime='cloud' is not valid"),
    cli_case("install-with", "install --with nothing", "argument --with: invalid choice: 'nothing'"),
    cli_case("install-pds-version", "install --pds-version 9", "argument --pds-version: invalid choice: '9'"),
    cli_case("no-command", "", "the following arguments are required: command"),
]

PROCESS_CASES = CONFIGS + SETTINGS + ENVIRONMENT + CLI


def run_process_case(item: Case, root: Path) -> Outcome:
    """Run one config, setting, environment or CLI case in a project of its own under ``root``."""
    feature = item.extra.get("feature", ONE_PDS)
    project = write_project(root / item.id, feature, config=item.given if item.kind == "config" else "")
    env = base_environment()
    if item.kind == "env":
        name, _, value = item.given.partition("=")
        env[name] = value
    if item.kind == "cli":
        argv = [PYTHON, "-m", "atproto_bdd.cli", *item.given.split()]
    else:
        options = ["-D", item.given] if item.kind == "setting" else []
        report_dir = [] if "report_dir" in item.given.lower() else ["-D", "report_dir="]
        # The host behave launches while it loads costs a second of CPU; a few cases keep it, to see it end.
        prestart = [] if item.extra.get("prestart") else ["-D", "prestart=false"]
        argv = [*BEHAVE, *report_dir, *prestart, *options]
    return run_watched(argv, project, env=env)


@pytest.fixture(scope="module")
def process_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every process case, two at a time (the machine's CPUs): most end within a second."""
    root = tmp_path_factory.mktemp("processes")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {item.id: pool.submit(run_process_case, item, root) for item in PROCESS_CASES}
    return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("item", PROCESS_CASES, ids=str)
def test_process(item: Case, process_outcomes: dict[str, Outcome]) -> None:
    outcome = process_outcomes[item.id]
    outcome.check(item.words, item.exit_code)  # type: ignore[arg-type]
    assert "ABORTED: By user" not in outcome.output, "nobody interrupted the run"
    assert "scenarios passed" not in outcome.output or "0 scenarios passed" in outcome.output


# ---- pytest: tests of one run, and options each a run of their own ----

PYTEST_TESTS = [
    case(
        "pytest-unknown-account",
        "pytest",
        """
        def test_it(atproto_world):
            atproto_world.account("bob.test")
        """,
        "UsageError: unknown account 'bob.test'; known accounts: none yet",
        exit_code="failed",
    ),
    case(
        "pytest-handle-short",
        "pytest",
        """
        def test_it(atproto_account):
            atproto_account("ab.test")
        """,
        "PDS A would refuse the handle 'ab.test': handle too short (7 < 8 characters)",
        exit_code="failed",
    ),
    case(
        "pytest-handle-248",
        "pytest",
        f"""
        def test_it(atproto_account):
            atproto_account("{LONG_HANDLE}")
        """,
        "handle too long (248 > 23 characters)",
        exit_code="failed",
    ),
    case(
        "pytest-handle-syntax",
        "pytest",
        """
        def test_it(atproto_accounts):
            atproto_accounts("alice.test", "bob_.test")
        """,
        "'bob_.test' is not a valid handle: '_' in the label 'bob_'",
        exit_code="failed",
    ),
    case(
        "pytest-unknown-app",
        "pytest",
        """
        def test_it(atproto_app):
            atproto_app("nope")
        """,
        "UsageError: unknown app 'nope'",
        exit_code="failed",
    ),
    case(
        "pytest-xrpc-error",
        "pytest",
        """
        def test_it(atproto_account):
            atproto_account("alice.test").xrpc_get("com.example.nothing")
        """,
        "atproto_bdd.errors.XrpcError: GET com.example.nothing: 400 InvalidRequest",
        exit_code="failed",
    ),
    case(
        "pytest-protocol",
        "pytest",
        """
        from atproto_bdd.protocol.syntax import AtUri

        def test_it():
            AtUri.parse("https://example.com/x")
        """,
        "UsageError: 'https://example.com/x' is not an at:// URI",
        exit_code="failed",
    ),
    case(
        "pytest-placeholder",
        "pytest",
        """
        def test_it(atproto_world):
            atproto_world.resolve("${nobody.test.did}")
        """,
        "unknown placeholder ${nobody.test.did}",
        exit_code="failed",
    ),
    case(
        "pytest-placeholder-unclosed",
        "pytest",
        """
        def test_it(atproto_world):
            atproto_world.resolve("at ${A.url")
        """,
        "a placeholder without its closing brace: '${A.url'",
        exit_code="failed",
    ),
    case(
        "pytest-event-type",
        "pytest",
        """
        def test_it(atproto_world):
            atproto_world.event_query("handle")
        """,
        "unknown firehose event type 'handle'; known types: commit, identity, account, sync",
        exit_code="failed",
    ),
    case(
        "pytest-typo-collection",
        "pytest",
        """
        def test_it(atproto_world, atproto_account):
            atproto_account("alice.test")
            atproto_world.event_query("commit", "alice.test", collection="app.bsky.feed.pots")
        """,
        "app.bsky.feed.pots is no collection or method any known lexicon describes, but app.bsky.feed.post is",
        exit_code="failed",
    ),
    case(
        "pytest-mark",
        "pytest",
        """
        import pytest

        @pytest.mark.atproto_network("feature")
        def test_it(atproto_world):
            pass
        """,
        "@pytest.mark.atproto_network('feature') is not a scope; valid: 'function', 'module', 'session'",
        exit_code="error",
    ),
]


def pytest_module(cases: list[Case]) -> str:
    """One test module: each case's code, its ``test_it`` renamed after the case."""
    parts = []
    for item in cases:
        name = "test_" + item.id.removeprefix("pytest-").replace("-", "_")
        parts.append(item.given.replace("def test_it(", f"def {name}("))
    imports = sorted({line for part in parts for line in part.splitlines() if line.startswith(("import ", "from "))})
    bodies = [
        "\n".join(line for line in part.splitlines() if not line.startswith(("import ", "from "))) for part in parts
    ]
    return "\n".join(imports) + "\n\n" + "\n\n".join(body.strip("\n") + "\n" for body in bodies)


@dataclass
class PytestRun:
    outcome: Outcome
    tests: dict[str, tuple[str, str]]  # case id -> (outcome, its failure report)


@pytest.fixture(scope="module")
def pytest_run(tmp_path_factory: pytest.TempPathFactory) -> PytestRun:
    root = tmp_path_factory.mktemp("pytest-project")
    (root / "test_bad.py").write_text(pytest_module(PYTEST_TESTS))
    argv = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--junitxml=junit.xml", "test_bad.py"]
    outcome = run_watched(argv, root)
    tests: dict[str, tuple[str, str]] = {}
    junit = root / "junit.xml"
    for testcase in ET.parse(junit).iter("testcase") if junit.exists() else []:
        name = testcase.get("name", "")
        found = next((child for child in testcase if child.tag in ("failure", "error")), None)
        state = "passed" if found is None else ("failed" if found.tag == "failure" else "error")
        tests["pytest-" + name.removeprefix("test_").replace("_", "-")] = (
            state,
            found.text or "" if found is not None else "",
        )
    return PytestRun(outcome, tests)


def test_the_pytest_run_fails_as_it_should_and_leaves_nothing_running(pytest_run: PytestRun) -> None:
    pytest_run.outcome.check((), 1)
    assert set(pytest_run.tests) == {item.id for item in PYTEST_TESTS}, pytest_run.outcome.output[-3000:]


@pytest.mark.parametrize("item", PYTEST_TESTS, ids=str)
def test_pytest_failures_from_bad_input_show_our_message_without_library_frames(
    item: Case, pytest_run: PytestRun
) -> None:
    state, report = pytest_run.tests.get(item.id, ("missing", ""))
    assert state == item.exit_code, f"{item.id}: {state}, expected {item.exit_code}:\n{report}"
    missing = [word for word in item.words if word not in report]
    assert not missing, f"missing {missing} in the failure:\n{report}"
    # Our message under the test's own lines: no frame of the world, the protocol layer or the plugin.
    for library in ("atproto_bdd/", "pytest_plugin.py", "_pytest/", "pluggy/"):
        assert library not in report, f"{item.id}: a frame of {library} in the failure:\n{report}"
    if item.exit_code == "failed":  # the line of the test that made the mistake is shown
        line = next(line.strip() for line in reversed(item.given.splitlines()) if line.strip())
        assert f">       {line}" in report or f">           {line}" in report, report
    assert TRACEBACK not in report


def pytest_option_case(id: str, option: str, *words: str, env: str = "", ini: str = "") -> Case:
    return case(id, "pytest", option, *words, exit_code=4, env=env, ini=ini)


PYTEST_OPTIONS = [
    pytest_option_case("pytest-option-value", "--atproto-pds-version=9", "setting pds_version='9' is not valid"),
    pytest_option_case("pytest-option-seconds", "--atproto-request-timeout=-1", "request_timeout='-1' must be a"),
    pytest_option_case("pytest-option-typo", "--atproto-firehose-timout=1", "unrecognized arguments"),
    pytest_option_case(
        "pytest-env-typo",
        "",
        "ATPROTO_BDD_FIREHOSE_TIMOUT names no setting: did you mean ATPROTO_BDD_FIREHOSE_TIMEOUT?",
        env="ATPROTO_BDD_FIREHOSE_TIMOUT=1",
    ),
    pytest_option_case(
        "pytest-ini", "", "setting runtime='cloud' is not valid", ini="[pytest]\natproto_runtime = cloud\n"
    ),
]


@pytest.mark.parametrize("item", PYTEST_OPTIONS, ids=str)
def test_pytest_option(item: Case, tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    if item.extra["ini"]:
        (tmp_path / "pytest.ini").write_text(item.extra["ini"])
    env = base_environment()
    if item.extra["env"]:
        name, _, value = item.extra["env"].partition("=")
        env[name] = value
    argv = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *item.given.split()]
    run_watched(argv, tmp_path, env=env).check(item.words, item.exit_code)  # type: ignore[arg-type]


# ---- signals: nothing outlives an interrupted run ----

HOLD_STEPS = '''
import os, time
from behave import when

@when("the run holds")
def hold(context):
    """Says it holds (a file), then waits to be interrupted."""
    open(os.environ["HOLD_MARKER"], "w").close()
    time.sleep(120)
'''
HOLD_FEATURE = """Feature: hold
  Scenario: a network, an app that daemonizes, and a wait
    Given a PDS named A
    And an account alice.test on PDS A
    And the app daemon is running
    When the run holds
"""
DAEMON_APP = SCENARIO_CONFIG[SCENARIO_CONFIG.index("# Starts a child") :]


def signal_case(id: str, command: str, signals: str, *words: str, exit_code: int | None) -> Case:
    return case(id, "signal", f"{command}: {signals}", *words, exit_code=exit_code)


SIGNALS = [
    signal_case("sigint", "behave", "SIGINT", "ABORTED: By user.", exit_code=1),
    signal_case("sigterm", "behave", "SIGTERM", "ABORTED: By user.", exit_code=1),
    # The second Ctrl-C may find behave still stopping (exit code 1) or end it (killed by SIGINT): either way, nothing
    # is left.
    signal_case("sigint-twice", "behave", "SIGINT SIGINT", exit_code=None),
    signal_case("sigkill", "behave", "SIGKILL", exit_code=-9),
    signal_case("run-sigterm", "run", "SIGTERM", "atproto-bdd: run stopped by SIGTERM", exit_code=128 + 15),
]


@pytest.mark.parametrize("item", SIGNALS, ids=str)
def test_signal(item: Case, tmp_path: Path) -> None:
    project = write_project(tmp_path, HOLD_FEATURE, config=DAEMON_APP, extra={"steps/hold_steps.py": HOLD_STEPS})
    marker = tmp_path / "holding"
    command, _, names = item.given.partition(": ")
    if command == "run":
        argv = [PYTHON, "-m", "atproto_bdd.cli", "run", "-j", "1", "features"]
    else:
        argv = [*BEHAVE, "-D", "report_dir="]

    def interrupt(pid: int) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not marker.exists():
            assert time.monotonic() < deadline, "the run never reached the holding step"
            time.sleep(0.05)
        for name in names.split():
            try:
                os.kill(pid, getattr(signal, name))
            except ProcessLookupError:  # stopped by the first one already
                return
            time.sleep(0.2)

    outcome = run_watched(argv, project, env=base_environment({"HOLD_MARKER": str(marker)}), while_running=interrupt)
    outcome.check(item.words, item.exit_code, traceback_ok=True)  # type: ignore[arg-type]


ALL_CASES = SCENARIOS + PROCESS_CASES + PYTEST_TESTS + PYTEST_OPTIONS + SIGNALS


def test_the_suite_has_at_least_100_cases_across_every_kind_of_input() -> None:
    kinds = {item.kind for item in ALL_CASES}
    assert kinds == {"step", "docstring", "placeholder", "config", "setting", "env", "cli", "pytest", "signal"}
    assert len(ALL_CASES) >= 100, len(ALL_CASES)
    assert len({item.id for item in ALL_CASES}) == len(ALL_CASES), "case ids are unique"
