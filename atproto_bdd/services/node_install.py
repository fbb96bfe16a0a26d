"""Installs the pinned Node services (@atproto/pds, @did-plc/server) into the cache.

The packages are pinned by the ``package-lock.json`` shipped in
``atproto_bdd/services/node``. They are installed once per lockfile hash and
Node ABI under ``<cache>/node/<key>/`` and reused by every later run, like
``playwright install``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InstallError
from .progress import Progress
from .toolchain import capture, require_tool, run_logged

NODE_PACKAGE_DIR = Path(__file__).with_name("node")
HOST_SCRIPT = NODE_PACKAGE_DIR / "host.js"
MIN_NODE_MAJOR = 18
COMPLETE_MARKER = ".atproto-bdd-complete"


@dataclass(frozen=True)
class NodeInstall:
    """An installed, verified set of Node services."""

    root: Path
    node: str

    @property
    def node_modules(self) -> Path:
        """The ``node_modules`` directory the host loads services from."""
        return self.root / "node_modules"


def lock_key(abi: str) -> str:
    """Cache key: hash of the shipped package.json + lockfile, plus the Node ABI."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((NODE_PACKAGE_DIR / name).read_bytes())
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


_LOAD_SQLITE = "const D = r('better-sqlite3'); new D(':memory:').close();"
_LOAD_SERVICES = "r('@atproto/pds/package.json'); r('@did-plc/server/package.json');"


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
    """Return the installed Node services, installing them first if needed.

    Safe to call from several processes at once: one installs, the others wait
    for it on a file lock.
    """
    node_path = require_tool("node", node)
    abi = _node_abi(node_path)
    base = cache_dir / "node"
    root = base / lock_key(abi)
    if (root / COMPLETE_MARKER).exists():
        return NodeInstall(root=root, node=node_path)
    npm_path = require_tool("npm", npm)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / COMPLETE_MARKER).exists():
            _install(root, node_path, npm_path, quiet=quiet)
    return NodeInstall(root=root, node=node_path)


def _install(root: Path, node: str, npm: str, *, quiet: bool) -> None:
    staging = root.with_name(f"{root.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(NODE_PACKAGE_DIR / name, staging / name)
    log_path = root.with_name(f"{root.name}.install.log")
    log_path.unlink(missing_ok=True)
    pins = json.loads((NODE_PACKAGE_DIR / "package.json").read_text())["dependencies"]
    pinned = " + ".join(f"{name} {version}" for name, version in pins.items())
    # Keep node-gyp's headers and npm's own cache where the user has them.
    env = dict(os.environ)
    started = time.monotonic()
    with _maybe_progress(f"installing {pinned} (npm ci, once per version)", quiet):
        run_logged(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            log_path=log_path,
            timeout=20 * 60,
            what="npm ci of the pinned AT Protocol services",
            env=env,
        )
    # npm 11 does not run install scripts by default, so the native sqlite
    # binding the PDS needs may still be unbuilt: build it from source.
    if not _sqlite_loads(node, staging):
        with _maybe_progress("compiling better-sqlite3 for this Node (about a minute, once)", quiet):
            run_logged(
                [npm, "rebuild", "better-sqlite3"],
                cwd=staging,
                log_path=log_path,
                timeout=20 * 60,
                what="building better-sqlite3 (needs python3, make and a C++ compiler)",
                env=env,
            )
    _node_check(node, staging, _LOAD_SQLITE + _LOAD_SERVICES)
    (staging / COMPLETE_MARKER).write_text(
        json.dumps({"packages": pins, "seconds": round(time.monotonic() - started, 1)}) + "\n"
    )
    shutil.rmtree(root, ignore_errors=True)
    os.replace(staging, root)


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _maybe_progress(what: str, quiet: bool) -> Progress | _NoProgress:
    return _NoProgress() if quiet else Progress(what)
