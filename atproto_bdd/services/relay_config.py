"""The relay's configuration, shared by every runtime: its environment and its database template.

The local runtime runs the relay binary, the Docker runtime its image; both
give it the same settings (strict sync validation, sqlite and the disk
persister in one data directory) through :func:`relay_environment`, and both
cache the database the relay created for itself through :func:`store_template`.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from .cached_install import replace_file
from .relay_db import seal

#: The relay's log levels, from the services' (pino) levels.
RELAY_LOG_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warn", "error": "error"}


def relay_environment(
    data_dir: Path | PurePosixPath,
    *,
    api_bind: str,
    metrics_listen: str,
    admin_password: str,
    plc_url: str,
    log_level: str = "info",
) -> dict[str, str]:
    """The relay's configuration: its API and metrics addresses, sqlite and persistence in ``data_dir``.

    ``data_dir`` is a path as the relay sees it (inside its container for
    Docker). Sync validation stays strict (no RELAY_LENIENT_SYNC_VALIDATION):
    tests see what production sees.
    """
    return {
        "DATABASE_URL": f"sqlite://{data_dir / 'relay.sqlite'}",
        "RELAY_PERSIST_DIR": str(data_dir / "persist"),
        "RELAY_API_BIND": api_bind,
        "RELAY_METRICS_LISTEN": metrics_listen,
        "RELAY_ADMIN_PASSWORD": admin_password,
        "RELAY_PLC_HOST": plc_url,
        "RELAY_LOG_LEVEL": RELAY_LOG_LEVELS.get(log_level, "warn"),
        "ENVIRONMENT": "test",
    }


def store_template(database: Path, template: Path) -> Path:
    """Seal the relay-created ``database`` and store it atomically as ``template`` (concurrent runs may race)."""
    seal(database)
    template.parent.mkdir(parents=True, exist_ok=True)
    return replace_file(template, lambda partial: shutil.copyfile(database, partial))
