"""Running the indigo relay as a local process: its database template, made by the binary itself."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from ..errors import ServiceError
from .go_install import INDIGO_VERSION
from .health import wait_until_healthy
from .ports import free_port
from .relay_config import relay_environment, store_template
from .toolchain import tail


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
                api_bind=f"127.0.0.1:{api}",
                metrics_listen=f"127.0.0.1:{free_port()}",
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
        return store_template(data_dir / "relay.sqlite", template)
