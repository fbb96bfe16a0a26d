"""Go modules from the module proxy, built into the cache: the indigo relay.

The relay is ``github.com/bluesky-social/indigo/cmd/relay`` at a pinned
pseudo-version, built with ``go install`` into ``<cache>/go/bin/<version>/``.
Go's module and build caches live under ``<cache>/go`` too, so everything the
framework installs sits in one cache directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from ..errors import InstallError
from .progress import Progress
from .toolchain import capture, require_tool, run_logged

INDIGO_MODULE = "github.com/bluesky-social/indigo"
#: indigo at commit af2fec94f34c (2026-06-05), the newest the Go module proxy serves.
INDIGO_VERSION = "v0.0.0-20260605210604-af2fec94f34c"
INDIGO_COMMIT = "af2fec94f34c748742de80cba2a2f8690b572b2e"
RELAY_PACKAGE = f"{INDIGO_MODULE}/cmd/relay"


def go_environment(cache_dir: Path) -> dict[str, str]:
    """Environment for ``go`` with its module and build caches under ``cache_dir/go``."""
    root = cache_dir / "go"
    env = dict(os.environ)
    env.update(
        {
            "GOPATH": str(root / "path"),
            "GOMODCACHE": str(root / "mod"),
            "GOCACHE": str(root / "build"),
            "GOFLAGS": "-modcacherw",  # lets the cache be deleted without chmod
            "CGO_ENABLED": os.environ.get("CGO_ENABLED", "1"),
        }
    )
    return env


def download_module(
    cache_dir: Path, module: str = INDIGO_MODULE, version: str = INDIGO_VERSION, *, go: str = "go"
) -> Path:
    """Download ``module@version`` (checksum-verified by Go) and return its directory."""
    go_path = require_tool("go", go)
    argv = [go_path, "mod", "download", "-json", f"{module}@{version}"]
    info = json.loads(capture(argv, timeout=600, env=go_environment(cache_dir)))
    if info.get("Error"):
        raise InstallError(f"go mod download {module}@{version} failed: {info['Error']}")
    return Path(info["Dir"])


def ensure_relay(cache_dir: Path, *, go: str = "go", quiet: bool = False) -> Path:
    """The relay binary at the pinned version, built with ``go install`` on first use."""
    bin_dir = cache_dir / "go" / "bin" / INDIGO_VERSION
    binary = bin_dir / "relay"
    if binary.exists():
        return binary
    go_path = require_tool("go", go)
    bin_dir.mkdir(parents=True, exist_ok=True)
    with open(bin_dir.parent / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.exists():
            return binary
        env = {**go_environment(cache_dir), "GOBIN": str(bin_dir)}
        go_version = capture([go_path, "env", "GOVERSION"], env=env)
        log_path = bin_dir.parent / f"relay-{INDIGO_VERSION}.build.log"
        what = f"building the indigo relay ({INDIGO_VERSION}) with {go_version} (go install, once per version)"
        with contextlib.nullcontext() if quiet else Progress(what):
            run_logged(
                [go_path, "install", f"{RELAY_PACKAGE}@{INDIGO_VERSION}"],
                cwd=bin_dir,
                log_path=log_path,
                timeout=30 * 60,
                what=f"go install {RELAY_PACKAGE}@{INDIGO_VERSION}",
                env=env,
            )
    if not binary.exists():
        raise InstallError(f"go install finished but {binary} is missing; see {log_path}")
    return binary
