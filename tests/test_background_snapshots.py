"""Background snapshots: a world's network copied once and restored into new worlds.

The world-level tests run real services (a PLC and a PDS in the Node host): a
restored world must see the snapshot's state and nothing any other world did
after it. The behave tests check the hooks use snapshots only where they may.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from atproto_bdd.background_snapshots import BackgroundSnapshots, background_key
from atproto_bdd.diagnostics import RESTORED_NOTE, diagnostics
from atproto_bdd.errors import AtprotoBddError, ServiceError, UsageError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.network import Network
from atproto_bdd.services.specs import PlcService
from atproto_bdd.steps.support import SNAPSHOT_SAFE
from atproto_bdd.world import World

POST = "app.bsky.feed.post"


def test_a_restored_world_has_the_snapshot_state_and_nothing_done_after_it() -> None:
    with LocalRuntime() as runtime:
        first = World(runtime)
        first.add_pds("A")
        alice = first.create_account("alice.test")
        first.create_account("bob.test")
        alice.post("before the snapshot")
        snapshot = first.snapshot()
        did, url = alice.did, first.pds("A").url

        # What the first world does after the snapshot: a post, a new handle (a PLC operation), a deactivation.
        alice.post("after the snapshot")
        alice.xrpc_post("com.atproto.identity.updateHandle", {"handle": "alice2.test"})
        first.account("bob.test").deactivate()
        assert "alice2.test" in first.did_document("alice.test").handles
        first.close()

        for _ in range(2):  # every restore is a copy of the snapshot, not of the world restored before it
            world = World(runtime)
            try:
                world.restore(snapshot)
                assert world.restored and sorted(world.accounts) == ["alice.test", "bob.test"]
                # a failure's diagnostics say where the Background's calls (kept in the transcript) were made
                assert RESTORED_NOTE in diagnostics(world) and "createAccount" in diagnostics(world)
                restored = world.account("alice.test")
                assert (restored.did, world.pds("A").url) == (did, url)  # same DID, same PDS URL
                texts = [record.value["text"] for record in restored.list_records(POST)]
                assert texts == ["before the snapshot"]
                assert [ref.uri for ref in restored.records] == [ref.uri for ref in alice.records[:1]]
                document = world.did_document("alice.test")
                assert document.handles == ["alice.test"]  # the PLC's state from the snapshot
                assert world.pds("A").resolve_handle("alice.test") == did
                assert world.account("bob.test").status()["active"] is True
                restored.post("in a restored world")  # the snapshot's session works, the repository takes writes
                assert len(restored.list_records(POST)) == 2
                restored.sign_in()  # and so does the password
            finally:
                world.close()
        runtime.drop_snapshot(snapshot.network)


def test_a_restore_whose_port_is_taken_fails_and_leaves_nothing_running() -> None:
    with LocalRuntime() as runtime:
        first = World(runtime)
        first.create_account("alice.test")
        snapshot = first.snapshot()
        port = first.pds("A").service.port
        first.close(wait=True)
        services_before = runtime.host.call("service.list", {}, timeout=10)["services"]
        data_before = sorted((runtime.host.run_dir / "data").iterdir())
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            world = World(runtime)
            with pytest.raises(AtprotoBddError, match="could not start PDS A: listen EADDRINUSE"):
                world.restore(snapshot)
            assert not world.started and not world.restored  # a Background can still run in this world
        assert runtime.host.call("service.list", {}, timeout=10)["services"] == services_before
        assert sorted((runtime.host.run_dir / "data").iterdir()) == data_before  # no copy left behind
        world.close()


def test_a_network_with_more_than_a_plc_and_pdses_is_refused() -> None:
    # Network's own check: nothing is started (the PLC is given, the runtime never launched).
    network = Network(LocalRuntime(), PlcService(id="plc-1", url="http://127.0.0.1:1"))
    network.services["relay"] = object()
    with pytest.raises(UsageError, match="also has the relay"):
        network.snapshot()


class FakeStep:
    def __init__(self, name: str, line: int) -> None:
        self.name, self.filename, self.line = name, "f.feature", line


class FakeScenario:
    def __init__(self, background: list[FakeStep], tags: tuple[str, ...] = ()) -> None:
        self.background_steps, self.effective_tags = background, list(tags)


class FakeRegistry:
    def __init__(self, safe: set[str]) -> None:
        self.safe = safe

    def find_match(self, step: FakeStep) -> object | None:
        func = lambda: None  # noqa: E731
        if step.name in self.safe:
            setattr(func, SNAPSHOT_SAFE, True)
        return type("Match", (), {"func": func})() if step.name != "undefined" else None


class FakeRuntime:
    supports_snapshots = True


def test_only_a_background_of_safe_steps_gets_a_snapshot_due() -> None:
    safe = FakeStep("a PDS named A", 3)
    snapshots = BackgroundSnapshots(FakeRuntime(), FakeRegistry({"a PDS named A"}))  # type: ignore[arg-type]
    world = object()
    assert background_key(FakeScenario([])) is None
    cases = {
        "no background": FakeScenario([]),
        "a step not marked safe": FakeScenario([safe, FakeStep("alice.test posts", 4)]),
        "an undefined step": FakeScenario([safe, FakeStep("undefined", 5)]),
    }
    for why, scenario in cases.items():
        assert snapshots.begin_scenario(world, scenario) is False, why  # type: ignore[arg-type]
        assert snapshots._due is None, why
    # A scenario whose AppView the hooks start first (Given an AppView, @appview) takes no snapshot.
    assert snapshots.begin_scenario(world, FakeScenario([safe]), eligible=False) is False  # type: ignore[arg-type]
    assert snapshots._due is None
    assert snapshots.begin_scenario(world, FakeScenario([safe])) is False  # type: ignore[arg-type]
    assert snapshots._due == (("f.feature", 3),)


def behave_restored(root: Path, *args: str) -> list[bool]:
    """Run behave in ``root``; per scenario, whether its world was restored from a snapshot."""
    out = root / "restored.jsonl"
    out.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "behave", "--no-capture", "-f", "plain", *args], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


ENVIRONMENT = """
import json
from atproto_bdd import hooks
from atproto_bdd.hooks import *  # noqa


def after_scenario(context, scenario):
    with open("restored.jsonl", "a") as out:
        out.write(json.dumps(context.atproto.restored) + "\\n")
    hooks.after_scenario(context, scenario)
"""

FEATURE = """Feature: snapshots
  Background:
    Given a PDS named A
    And an account alice.test
    And an account bob.test{extra}

  Scenario: one
    When alice.test posts "one"
    Then alice.test has 1 app.bsky.feed.post record

  Scenario: two
    When alice.test posts "two"
    Then alice.test has 1 app.bsky.feed.post record
    And alice.test's latest post has text "two"

  Scenario: three
    Then alice.test has {posts} app.bsky.feed.post record{s}
"""


def project(root: Path, extra: str = "", posts: int = 0) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "steps").mkdir()
    (root / "steps" / "lib.py").write_text("from atproto_bdd.steps import *\n")
    (root / "environment.py").write_text(ENVIRONMENT)
    text = FEATURE.format(extra=extra, posts=posts, s="" if posts == 1 else "s")
    (root / "features" / "s.feature").write_text(text)
    return root


def test_behave_restores_a_background_of_pdses_and_accounts(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert behave_restored(root) == [False, True, True]
    assert behave_restored(root, "-D", "background_snapshots=false") == [False, False, False]


def test_behave_runs_a_background_with_other_steps_every_time(tmp_path: Path) -> None:
    root = project(tmp_path, extra='\n    And bob.test posts "from the background"', posts=0)
    assert behave_restored(root) == [False, False, False]


def test_behave_takes_no_snapshot_when_a_hook_changed_the_world_before_the_background(tmp_path: Path) -> None:
    root = project(tmp_path)
    # A project's hook that creates an account after ours: a snapshot would hold it, and the hook would then
    # create it again in every restored world.
    hook = """
def before_scenario(context, scenario):
    hooks.before_scenario(context, scenario)
    context.atproto.create_account("carol.test")
"""
    (root / "environment.py").write_text(ENVIRONMENT + hook)
    assert behave_restored(root) == [False, False, False]


def test_a_failed_restore_runs_the_background_and_says_why(capfd: pytest.CaptureFixture[str]) -> None:
    class RefusingWorld:
        def restore(self, snapshot: object) -> None:
            raise ServiceError("could not start PDS A: listen EADDRINUSE")

    step = FakeStep("a PDS named A", 3)
    snapshots = BackgroundSnapshots(FakeRuntime(), FakeRegistry({"a PDS named A"}))  # type: ignore[arg-type]
    snapshots._snapshots[(("f.feature", 3),)] = object()  # type: ignore[assignment]
    assert snapshots.begin_scenario(RefusingWorld(), FakeScenario([step])) is False  # type: ignore[arg-type]
    assert snapshots._due is None  # the snapshot stays; the Background simply runs in this scenario
    assert "could not restore the Background's snapshot (could not start PDS A: listen EADDRINUSE)" in (
        capfd.readouterr().err
    )
