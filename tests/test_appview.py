"""The AppView in real runs: its order in a network, PostgreSQL (embedded or named), and no leaks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from helpers import hold_behave, sigkill_and_expect_gone, write_hold_project

from atproto_bdd.errors import ServiceError, UsageError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.appview import LocalAppViews
from atproto_bdd.services.ports import free_port
from atproto_bdd.services.postgres import Postgres, remove_stale_data_dirs
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def test_the_appview_must_come_before_the_pdses() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.add_pds("A")
        with pytest.raises(
            UsageError, match=r"the AppView must start before the network's PDSes, .* already has PDS A"
        ):
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


def test_waiting_for_indexing_ends_at_the_head_or_fails_at_its_deadline_naming_the_lag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalRuntime(Settings.load({"appview_timeout": 0.5})) as runtime:
        world = World(runtime)
        appview = world.add_appview()
        pds = world.add_pds("A")
        world.create_account("alice.test").post("indexed")
        head = runtime.pds_head(pds.service)
        assert head is not None
        source = next(iter(runtime.appview_cursors(appview.service)))
        caught_up, cursors = runtime.appview_wait_indexed(appview.service, {source: head}, 10)
        assert caught_up and cursors[source] >= head, cursors
        # A head the AppView can never reach: the wait ends at its deadline and says where it got to.
        monkeypatch.setattr(type(world), "sequenced_head", lambda self, name: 10**9)
        started = time.monotonic()
        with pytest.raises(AssertionError) as failure:
            appview.wait_indexed()
        assert 0.5 <= time.monotonic() - started < 5
        # The AppView may read a later event (the account's) meanwhile: at least as far as before.
        message = re.fullmatch(
            rf"the AppView did not index within 0\.5s \(PDS A: read up to #(\d+), the PDS is at #{10**9}\)",
            str(failure.value),
        )
        assert message is not None and int(message.group(1)) >= cursors[source], str(failure.value)
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


def test_postgres_keeps_its_data_in_the_run_root_and_clones_there() -> None:
    # In the run root (tmpfs by default), a clone of the template took 25 ms here, against 450 ms on disk.
    root = Path(tempfile.mkdtemp(prefix="run-root-"))
    os.chmod(root, 0o755)  # as root, PostgreSQL runs as nobody, who must reach its data
    try:
        with LocalRuntime(Settings.load({"run_root": str(root)})) as runtime:
            world = World(runtime)
            world.add_appview()
            postgres = runtime.appviews.postgres
            assert postgres is not None and postgres.data_root is not None
            assert postgres.data_root.parent == root
            world.close(wait=True)
        assert list(root.iterdir()) == [], "the run root must be empty after the run"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_as_root_a_run_root_nobody_can_reach_keeps_postgres_in_the_temp_dir(tmp_path: Path) -> None:
    # pytest's tmp_path is private to root: nobody could not open its data there, and the start failed.
    with LocalRuntime(Settings.load({"run_root": str(tmp_path)})) as runtime:
        world = World(runtime)
        world.add_appview()
        postgres = runtime.appviews.postgres
        assert postgres is not None and postgres.data_root is not None
        assert postgres.data_root.parent == Path(tempfile.gettempdir())
        world.close(wait=True)


def test_a_postgres_url_nothing_answers_fails_the_appview_start_and_does_not_hang() -> None:
    # A start that failed used to call close() under the lock it held, and waited for itself for good.
    url = f"postgresql://postgres@127.0.0.1:{free_port()}"  # nothing listens there
    outcome: list[BaseException | None] = []

    def start() -> None:
        with LocalRuntime(Settings.load({"postgres_url": url})) as runtime:
            world = World(runtime)
            try:
                world.add_appview()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)
            world.close(wait=True)

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the AppView's start hung when PostgreSQL did not answer"
    assert outcome and isinstance(outcome[0], ServiceError), f"expected a ServiceError, got {outcome}"
    assert "PostgreSQL refused" in str(outcome[0]), str(outcome[0])


def test_stale_data_directories_are_removed_from_the_run_root_too(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone, alive = tmp_path / "atproto-bdd-pg-gone", tmp_path / "atproto-bdd-pg-alive"
    for root, pid in ((gone, dead.pid), (alive, os.getpid())):
        root.mkdir()
        (root / "owner.pid").write_text(str(pid))
    remove_stale_data_dirs(tmp_path)
    assert not gone.exists(), "a data directory whose run is gone must be removed"
    assert alive.exists(), "a running run's data directory must stay"


class _SlowClones:
    """Stands for PostgreSQL's timing only: each clone takes a while and needs the template to itself."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self._lock = threading.Lock()

    def create_database(self, name: str, template: str | None = None) -> str:
        with self._lock:
            time.sleep(0.3)
            self.made.append(name)
        return name


def test_a_network_that_comes_before_its_clone_is_ready_waits_for_it(tmp_path: Path) -> None:
    views = LocalAppViews(Settings.load(), tmp_path)
    postgres = _SlowClones()
    views.postgres, views._template, views._prefix = postgres, "template", "db_"  # type: ignore[assignment]  # noqa: SLF001
    views._clone_next()  # noqa: SLF001 - what the previous network's start did
    taken = views._take_database(postgres)  # type: ignore[arg-type]  # noqa: SLF001
    assert taken == "db_1", f"the clone on its way must be taken, not a second one made ({postgres.made})"
    assert postgres.made == ["db_1"], f"only the clone on its way may be waited for ({postgres.made})"
    views._closing = True  # noqa: SLF001
    assert views._cloning is not None  # noqa: SLF001 - the next one, started after the take
    views._cloning.join(timeout=5)  # noqa: SLF001


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
