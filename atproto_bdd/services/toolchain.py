"""Finding external tools (node, npm, go) and running them with logged output."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import InstallError

INSTALL_HINTS = {
    "node": "install Node.js 20 LTS or newer (https://nodejs.org/, or `apt-get install nodejs npm`)",
    "npm": "install npm, which ships with Node.js (https://nodejs.org/, or `apt-get install npm`)",
    "go": "install Go 1.21 or newer (https://go.dev/dl/, or `apt-get install golang`); "
    "it fetches the newer toolchain the relay needs by itself",
}


def require_tool(name: str, command: str | None = None) -> str:
    """Return the absolute path of ``command`` (default ``name``) or explain how to install it."""
    command = command or name
    found = shutil.which(command)
    if not found:
        hint = INSTALL_HINTS.get(name, f"install {name}")
        raise InstallError(f"{name} is required but `{command}` was not found on PATH: {hint}")
    return found


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or an empty string if it does not exist."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def run_logged(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    timeout: float,
    what: str,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run ``argv`` with its output appended to ``log_path``; fail with the log's tail."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(argv)}  (in {cwd})\n".encode())
        log.flush()
        try:
            completed = subprocess.run(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                env=dict(env) if env is not None else None,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InstallError(
                f"{what} did not finish within {timeout:.0f}s; its log ({log_path}) ends with:\n{tail(log_path)}"
            ) from None
    if completed.returncode != 0:
        raise InstallError(
            f"{what} failed (exit code {completed.returncode}); its log ({log_path}) ends with:\n{tail(log_path)}"
        )


def capture(argv: Sequence[str], *, timeout: float = 30.0, env: Mapping[str, str] | None = None) -> str:
    """Run a quick command and return its stripped stdout; raise InstallError if it fails."""
    try:
        completed = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"`{' '.join(argv)}` could not run: {exc}") from None
    if completed.returncode != 0:
        raise InstallError(f"`{' '.join(argv)}` failed: {(completed.stderr or completed.stdout).strip()[-800:]}")
    return completed.stdout.strip()
