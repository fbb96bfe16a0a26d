"""A fresh PDS starts on a copy of the host's first fresh PDS's databases (host.js: the PDS template)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from atproto_bdd.services import LocalRuntime
from atproto_bdd.world import World


def data_dir(runtime: LocalRuntime, pds: str) -> Path:
    assert runtime.run_dir is not None
    (found,) = (runtime.run_dir / "data").glob(f"{pds}-*")
    return found


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def test_a_later_fresh_pds_starts_on_the_first_ones_migrated_databases_and_nothing_else() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.add_pds("A")
        world.create_account("alice.test", "A")  # written after the template was kept: must not reach B
        world.add_pds("B")
        first, later = data_dir(runtime, "A"), data_dir(runtime, "B")
        migrations = "SELECT name, timestamp FROM kysely_migration ORDER BY name"
        for name in ("account.sqlite", "sequencer.sqlite", "did_cache.sqlite"):
            # The same migrations, applied at the same moment: B's were copied, not run again.
            assert rows(later / name, migrations) == rows(first / name, migrations) != []
        assert rows(first / "account.sqlite", "SELECT count(*) FROM account") == [(1,)]
        assert rows(later / "account.sqlite", "SELECT count(*) FROM account") == [(0,)]
        assert rows(later / "sequencer.sqlite", "SELECT count(*) FROM repo_seq") == [(0,)]
        # B works, and its event stream starts at 1: one account's events (as on A) and then the post's.
        bob = world.create_account("bob.test", "B")
        bob.post("on a PDS that started on the template")
        assert world.sequenced_head("B") == world.sequenced_head("A") + 1
        world.close(wait=True)
