"""Pinned npm projects installed into the cache, once per lockfile and Node ABI.

A project is a directory with a ``package.json`` and its ``package-lock.json``
(the PDS lines, the AppView, the managed Node.js itself, the benchmarks'
dev-env). It is installed with ``npm ci`` under ``<base>/<key>/``, keyed by
the lockfile's hash and the ABI of the Node.js that will load it; native
modules (better-sqlite3) are built for that Node.js, and every dependency
must load afterwards. Installs follow :mod:`.cached_install` (complete or
absent, one process at a time). This module knows no PDS line and resolves
no Node.js: callers pass the :class:`~.node_runtime.NodeRuntime` to build for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InstallError, NotInstalled
from .cached_install import install_once, is_installed
from .child_env import Child, child_environment
from .progress import Progress
from .toolchain import capture, require_tool, run_logged

if TYPE_CHECKING:
    from .node_runtime import NodeRuntime

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

    @property
    def compile_cache(self) -> Path:
        """V8's compile cache for this install's modules (``NODE_COMPILE_CACHE``; Node.js 22.1 and newer use it)."""
        return self.root / "compile-cache"

    @property
    def load_cache(self) -> Path:
        """The host's memo of module resolution and V8 code cache for this install (``load_cache.js``)."""
        return self.root / "load-cache"


def lock_key(source_dir: Path, abi: str) -> str:
    """Cache key: hash of the project's package.json + lockfile, plus the Node ABI (``any``: no native code)."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((source_dir / name).read_bytes())
    return f"{digest.hexdigest()[:16]}-abi{abi}"


def _node_abi(node: str) -> str:
    return capture([node, "-p", "process.versions.modules"])


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


def ensure_npm_project(
    source_dir: Path,
    base: Path,
    *,
    node: NodeRuntime | None,
    npm: str = "npm",
    quiet: bool = False,
    what: str = "",
    install: bool = True,
) -> NodeInstall:
    """Install the npm project in ``source_dir`` (package.json + lockfile) under ``base``.

    ``node`` runs the project (its ABI is part of the cache key, native
    modules are built for it); ``None`` for a project with no native code
    that no Node.js needs to load (the managed Node.js itself). Safe to call
    from several processes at once: one installs, the others wait for it on
    a file lock. Every dependency must be loadable afterwards. ``install=False``
    raises :class:`~atproto_bdd.errors.NotInstalled` instead of installing.
    """
    abi = (node.abi or _node_abi(node.path)) if node is not None else "any"
    root = base / lock_key(source_dir, abi)
    node_path = node.path if node is not None else ""
    if is_installed(root):
        return NodeInstall(root=root, node=node_path)
    if not install:
        raise NotInstalled(f"{source_dir.name} is not installed in {base}")
    npm_path = require_tool("npm", npm)
    log_path = root.with_name(f"{root.name}.install.log")
    install_once(
        root,
        lambda staging: _install_into(staging, source_dir, node, npm_path, log_path=log_path, quiet=quiet, what=what),
        lock=base / ".install.lock",
    )
    return NodeInstall(root=root, node=node_path)


def build_environment(node: NodeRuntime | None) -> dict[str, str] | None:
    """npm's environment when it builds native modules for ``node``: its headers, and it first on PATH.

    npm itself may run on another Node.js (the system's); node-gyp builds for
    the headers ``npm_config_nodedir`` names, whatever ``~/.npmrc`` says.
    """
    if node is None:
        return None
    path = os.pathsep.join([str(Path(node.path).parent), os.environ.get("PATH", "")])
    env = child_environment(Child.TOOL, {"PATH": path})
    if node.headers is not None:
        env["npm_config_nodedir"] = str(node.headers)
    return env


def _install_into(
    staging: Path, source_dir: Path, node: NodeRuntime | None, npm: str, *, log_path: Path, quiet: bool, what: str
) -> str:
    """``npm ci`` of the project into the empty ``staging``, native modules built, every dependency loaded.

    Returns the install's record (its marker's text).
    """
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(source_dir / name, staging / name)
    log_path.unlink(missing_ok=True)
    pins = json.loads((source_dir / "package.json").read_text())["dependencies"]
    pinned = " + ".join(f"{name} {version}" for name, version in pins.items())
    started = time.monotonic()
    env = build_environment(node)
    with _progress(f"installing {what or pinned} (npm ci, once per version)", quiet):
        run_logged(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            log_path=log_path,
            timeout=20 * 60,
            what=f"npm ci of {pinned}",
            env=env,
        )
    if node is not None:
        # npm 11 may not run install scripts, leaving the native sqlite binding
        # the PDS needs unbuilt (or built for another Node): build it from source then.
        if (staging / "node_modules" / "better-sqlite3").exists() and not _sqlite_loads(node.path, staging):
            with _progress(f"compiling better-sqlite3 for Node.js {node.version} (about a minute, once)", quiet):
                run_logged(
                    [npm, "rebuild", "better-sqlite3"],
                    cwd=staging,
                    log_path=log_path,
                    timeout=20 * 60,
                    what="building better-sqlite3 (needs python3, make and a C++ compiler)",
                    env=env,
                )
        # package.json, or (a package whose "exports" hide it) its main entry, resolved but not run.
        loads = "".join(
            f"try {{ r({name + '/package.json'!r}) }} catch (e) {{ if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') "
            f"throw e; r.resolve({name!r}) }}"
            for name in pins
        )
        _node_check(node.path, staging, loads)
        if (staging / "node_modules" / "better-sqlite3").exists():
            _node_check(node.path, staging, _LOAD_SQLITE)
    return json.dumps({"packages": pins, "seconds": round(time.monotonic() - started, 1)})


@contextlib.contextmanager
def _progress(what: str, quiet: bool) -> Iterator[None]:
    if quiet:
        yield
    else:
        with Progress(what):
            yield
