"""The AppView in real runs: its order in a network, PostgreSQL (embedded or named), and no leaks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import hold_behave, sigkill_and_expect_gone, write_hold_project

from atproto_bdd.errors import UsageError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.postgres import Postgres
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def test_the_appview_must_come_before_the_pdses() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.add_pds("A")
        with pytest.raises(UsageError, match=r"the AppView must be declared before the network's PDSes .*PDS A"):
            world.add_appview()
        world.close()


def test_a_postgres_url_is_used_instead_of_the_embedded_server_and_left_clean(tmp_path: Path) -> None:
    settings = Settings.load()
    server = Postgres.embedded(settings.cache_dir, timeout=60)  # stands for a server the user runs
    try:
        with LocalRuntime(Settings.load({"postgres_url": server.url})) as runtime:
            world = World(runtime)
            appview = world.add_appview()
            alice, bob = world.create_account("alice.test"), world.create_account("bob.test")
            bob.follow(alice)
            post = alice.post("through a named server")
            appview.wait_indexed()
            assert post.uri in appview.timeline(bob)
            assert runtime.appviews.postgres is not None and runtime.appviews.postgres.process is None
            ours = server.database_names("atproto_bdd_")
            networks = [name for name in ours if not name.startswith("atproto_bdd_template_")]
            # The template, this network's database and perhaps the next network's, cloned ahead.
            assert len(ours) - len(networks) == 1 and appview.service.database in networks, ours
            assert len(networks) <= 2, ours
            world.close(wait=True)
        left = server.database_names("atproto_bdd_")
        # Only the migrated template stays, named after the AppView's lockfile, for the next run.
        assert len(left) == 1 and left[0].startswith("atproto_bdd_template_"), f"left on the named server: {left}"
    finally:
        server.close()
    with pytest.raises(UsageError, match="is not a postgresql://user@host:port URL"):
        Postgres.external("mysql://localhost/x", settings.cache_dir)


def test_the_host_reads_a_pds_head_as_the_firehose_proves_it() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        pds = world.add_pds("A")
        alice = world.create_account("alice.test")
        alice.post("one")
        alice.post("two")
        head = runtime.pds_head(pds.service)
        # The firehose way: a FutureCursor probe just past what the recorder holds.
        assert head is not None and head > 0 and head == world.pds_head("A")
        world.close(wait=True)


def test_the_next_networks_database_is_cloned_ahead_and_fresh() -> None:
    with LocalRuntime() as runtime:
        first = World(runtime)
        first.add_appview()
        alice = first.create_account("alice.test")
        alice.post("only in the first network")
        first.appview.wait_indexed()
        appviews = runtime.appviews
        postgres = appviews.postgres
        assert postgres is not None

        def actors(database: str) -> int:
            return int(postgres.execute("SELECT count(*) FROM bsky.actor", database=database).strip())

        assert actors(first.appview.service.database) == 1
        deadline = time.monotonic() + 60
        while not appviews._spares:  # noqa: SLF001 - the clone made in the background
            assert time.monotonic() < deadline, "no database was cloned ahead within 60 s"
            time.sleep(0.05)
        spare = appviews._spares[0]  # noqa: SLF001
        second = World(runtime)
        second.add_appview()
        assert second.appview.service.database == spare
        assert actors(spare) == 0, "the next network's database must be a fresh copy of the template"
        first.close(wait=True)
        second.close(wait=True)


HOLD_STEP = """
import json, os, time
from behave import when

@when("the run holds")
def hold(context):
    views = context.atproto.runtime.appviews
    info = {"host": views.host.pid, "postgres": views.postgres.process.pid, "data": str(views.postgres.data_root)}
    with open(os.environ["HOLD_MARKER"] + ".tmp", "w") as f:
        json.dump(info, f)
    os.replace(os.environ["HOLD_MARKER"] + ".tmp", os.environ["HOLD_MARKER"])
    time.sleep(120)
"""

FEATURE = """Feature: hold
  Scenario: hold an AppView
    Given an AppView
    And an account alice.test
    When the run holds
"""


def posix_shared_memory() -> set[str]:
    """PostgreSQL's POSIX shared memory segments (``/dev/shm/PostgreSQL.*``)."""
    return {path.name for path in Path("/dev/shm").glob("PostgreSQL.*")}


def test_sigkill_of_behave_takes_the_appview_and_postgres_down(tmp_path: Path) -> None:
    segments_before = posix_shared_memory()
    write_hold_project(tmp_path, FEATURE, HOLD_STEP)
    process, info = hold_behave(tmp_path, tmp_path / "marker.json")
    sigkill_and_expect_gone(process, {"appview host": int(info["host"]), "postgres": int(info["postgres"])})
    deadline = time.monotonic() + 5
    while Path(info["data"]).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(info["data"]).exists(), f"PostgreSQL's data {info['data']} was left behind"
    # A killed server cleans nothing up: its dynamic shared memory must have lived in its data directory.
    assert posix_shared_memory() - segments_before == set(), "PostgreSQL left shared memory in /dev/shm"
