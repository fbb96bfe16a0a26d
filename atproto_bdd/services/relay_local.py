"""Running the indigo relay as a local process: its environment and database template."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import ServiceError
from .go_install import INDIGO_VERSION
from .health import wait_until_healthy
from .ports import free_port
from .relay_db import seal
from .toolchain import tail

#: The relay's log levels, from the services' (pino) levels.
RELAY_LOG_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warn", "error": "error"}


def relay_environment(
    data_dir: Path, *, api_port: int, metrics_port: int, admin_password: str, plc_url: str, log_level: str = "info"
) -> dict[str, str]:
    """The relay's configuration: loopback ports, sqlite and persistence in ``data_dir``.

    Sync validation stays strict (no RELAY_LENIENT_SYNC_VALIDATION): tests see
    what production sees.
    """
    return {
        "DATABASE_URL": f"sqlite://{data_dir / 'relay.sqlite'}",
        "RELAY_PERSIST_DIR": str(data_dir / "persist"),
        "RELAY_API_BIND": f"127.0.0.1:{api_port}",
        "RELAY_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
        "RELAY_ADMIN_PASSWORD": admin_password,
        "RELAY_PLC_HOST": plc_url,
        "RELAY_LOG_LEVEL": RELAY_LOG_LEVELS.get(log_level, "warn"),
        "ENVIRONMENT": "test",
    }


def ensure_relay_template(binary: Path, cache_dir: Path, *, timeout: float) -> Path:
    """A database whose schema the relay created itself, made once per relay version."""
    template = cache_dir / "go" / f"relay-{INDIGO_VERSION}.template.sqlite"
    if template.exists():
        return template
    with tempfile.TemporaryDirectory(prefix="atproto-bdd-relay-template-") as tmp:
        data_dir = Path(tmp)
        api = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            **relay_environment(
                data_dir,
                api_port=api,
                metrics_port=free_port(),
                admin_password="template",
                plc_url="http://127.0.0.1:9",
            ),
        }
        log_path = data_dir / "relay.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(binary), "serve"], cwd=data_dir, env=env, stdout=log, stderr=log)
        try:
            wait_until_healthy(
                "the relay (creating its database template)",
                f"http://127.0.0.1:{api}/xrpc/_health",
                timeout=timeout,
                log_tail=lambda: tail(log_path),
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.returncode not in (0, -signal.SIGTERM):
            raise ServiceError(f"the relay exited with {process.returncode}; its log ends with:\n{tail(log_path)}")
        database = data_dir / "relay.sqlite"
        seal(database)
        partial = template.with_suffix(f".partial-{os.getpid()}")
        shutil.copyfile(database, partial)
        os.replace(partial, template)
    return template
