"""Installs pinned npm packages into the cache, once per lockfile.

The services (@atproto/pds, @did-plc/server) are pinned by the
``package-lock.json`` shipped in ``atproto_bdd/services/node``. They are
installed once per lockfile hash and Node ABI under ``<cache>/node/<key>/``
and reused by every later run, like ``playwright install``. The same
machinery installs other pinned npm projects (the benchmarks' dev-env).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InstallError
from .progress import Progress
from .toolchain import capture, require_tool, run_logged

NODE_PACKAGE_DIR = Path(__file__).with_name("node")
HOST_SCRIPT = NODE_PACKAGE_DIR / "host.js"
MIN_NODE_MAJOR = 18
COMPLETE_MARKER = ".atproto-bdd-complete"
_LOAD_SQLITE = "const D = r('better-sqlite3'); new D(':memory:').close();"


@dataclass(frozen=True)
class NodeInstall:
    """An installed, verified npm project."""

    root: Path
    node: str

    @property
    def node_modules(self) -> Path:
        """The ``node_modules`` directory to load packages from."""
        return self.root / "node_modules"


def lock_key(source_dir: Path, abi: str) -> str:
    """Cache key: hash of the project's package.json + lockfile, plus the Node ABI."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((source_dir / name).read_bytes())
    return f"{digest.hexdigest()[:16]}-abi{abi}"


def _node_abi(node: str) -> str:
    version = capture([node, "-p", "process.versions.node + ' ' + process.versions.modules"])
    node_version, abi = version.split()
    major = int(node_version.split(".")[0])
    if major < MIN_NODE_MAJOR:
        raise InstallError(
            f"Node.js {node_version} is too old: @atproto/pds needs Node {MIN_NODE_MAJOR} or newer "
            "(install Node.js 20 LTS from https://nodejs.org/)"
        )
    return abi


def _node_check(node: str, root: Path, body: str) -> None:
    """Run ``body`` in Node with ``r`` requiring from ``root``; raise InstallError if it throws."""
    prelude = "const r = require('module').createRequire(process.argv[1] + '/node_modules/x.js');"
    capture([node, "-e", prelude + body, str(root)], timeout=120)


def _sqlite_loads(node: str, root: Path) -> bool:
    try:
        _node_check(node, root, _LOAD_SQLITE)
    except InstallError:
        return False
    return True


def ensure_node_services(cache_dir: Path, *, node: str = "node", npm: str = "npm", quiet: bool = False) -> NodeInstall:
    """The installed AT Protocol services, installed first if needed."""
    return ensure_npm_project(NODE_PACKAGE_DIR, cache_dir / "node", node=node, npm=npm, quiet=quiet)


def ensure_npm_project(
    source_dir: Path, base: Path, *, node: str = "node", npm: str = "npm", quiet: bool = False
) -> NodeInstall:
    """Install the npm project in ``source_dir`` (package.json + lockfile) under ``base``.

    Safe to call from several processes at once: one installs, the others wait
    for it on a file lock. Every dependency must be loadable afterwards.
    """
    node_path = require_tool("node", node)
    root = base / lock_key(source_dir, _node_abi(node_path))
    if (root / COMPLETE_MARKER).exists():
        return NodeInstall(root=root, node=node_path)
    npm_path = require_tool("npm", npm)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / COMPLETE_MARKER).exists():
            _install(source_dir, root, node_path, npm_path, quiet=quiet)
    return NodeInstall(root=root, node=node_path)


def _install(source_dir: Path, root: Path, node: str, npm: str, *, quiet: bool) -> None:
    staging = root.with_name(f"{root.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(source_dir / name, staging / name)
    log_path = root.with_name(f"{root.name}.install.log")
    log_path.unlink(missing_ok=True)
    pins = json.loads((source_dir / "package.json").read_text())["dependencies"]
    pinned = " + ".join(f"{name} {version}" for name, version in pins.items())
    started = time.monotonic()
    with _progress(f"installing {pinned} (npm ci, once per version)", quiet):
        run_logged(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            log_path=log_path,
            timeout=20 * 60,
            what=f"npm ci of {pinned}",
        )
    # npm 11 may not run install scripts, leaving the native sqlite binding
    # the PDS needs unbuilt: build it from source then.
    if (staging / "node_modules" / "better-sqlite3").exists() and not _sqlite_loads(node, staging):
        with _progress("compiling better-sqlite3 for this Node (about a minute, once)", quiet):
            run_logged(
                [npm, "rebuild", "better-sqlite3"],
                cwd=staging,
                log_path=log_path,
                timeout=20 * 60,
                what="building better-sqlite3 (needs python3, make and a C++ compiler)",
            )
    loads = "".join(f"r({name + '/package.json'!r});" for name in pins)
    _node_check(node, staging, loads)
    if (staging / "node_modules" / "better-sqlite3").exists():
        _node_check(node, staging, _LOAD_SQLITE)
    (staging / COMPLETE_MARKER).write_text(
        json.dumps({"packages": pins, "seconds": round(time.monotonic() - started, 1)}) + "\n"
    )
    shutil.rmtree(root, ignore_errors=True)
    os.replace(staging, root)


@contextlib.contextmanager
def _progress(what: str, quiet: bool) -> Iterator[None]:
    if quiet:
        yield
    else:
        with Progress(what):
            yield
