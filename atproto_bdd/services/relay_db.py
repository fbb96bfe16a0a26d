"""The relay's own sqlite database, prepared before it starts.

The indigo relay refuses to crawl localhost hosts through requestCrawl (its
host checker only talks to public addresses), but at start-up it resubscribes
to every ``active`` row of its ``host`` table. So a relay for tests starts from
a database whose schema the relay itself created (a cached template, made
once per relay version by running it against an empty database), with one
row per PDS: hostname ``localhost:PORT``, no SSL, trusted, active.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

#: Accounts a test host may have before the relay throttles it.
ACCOUNT_LIMIT = 100_000


def add_hosts(database: Path, hostnames: Sequence[str]) -> None:
    """Insert ``hostnames`` as active, trusted, non-SSL hosts (existing ones are left alone)."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT OR IGNORE INTO host "
            "(created_at, updated_at, hostname, no_ssl, account_limit, trusted, status, last_seq, account_count) "
            "VALUES (?, ?, ?, 1, ?, 1, 'active', -1, 0)",
            [(now, now, hostname, ACCOUNT_LIMIT) for hostname in hostnames],
        )
    db.close()


def hostnames(database: Path) -> list[str]:
    """The hostnames in the relay's ``host`` table."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT hostname FROM host ORDER BY id").fetchall()
    db.close()
    return [row[0] for row in rows]


def seal(database: Path) -> None:
    """Make ``database`` a template: no event-log file references, no separate write-ahead log."""
    db = sqlite3.connect(database)
    try:
        # The disk persister's files stay with the run that wrote them.
        db.execute("DELETE FROM log_file_refs")
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    finally:
        db.close()


def copy_database(template: Path, target: Path) -> None:
    """Copy a sealed template database to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
