"""Installs pinned npm packages into the cache, once per lockfile.

The services (@atproto/pds, @did-plc/server) are pinned, per PDS line, by
the ``package-lock.json`` shipped in ``atproto_bdd/services/node/pds-<line>``
(see :mod:`.pds_lines`). They are installed once per lockfile hash and Node
ABI under ``<cache>/node/<key>/`` and reused by every later run, like
``playwright install``; native modules (better-sqlite3) are built for the
Node.js that will run them (:mod:`.node_runtime`). The same machinery
installs other pinned npm projects (the managed Node.js itself, the
benchmarks' dev-env).
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

from ..errors import InstallError, NotInstalled
from .node_runtime import DEFAULT_NODE, NodeRuntime, resolve_node
from .pds_lines import DEFAULT_PDS_LINE, NODE_DIR, pds_line
from .progress import Progress
from .toolchain import capture, require_tool, run_logged

NODE_PACKAGE_DIR = NODE_DIR
HOST_SCRIPT = NODE_PACKAGE_DIR / "host.js"
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


def ensure_node_services(
    cache_dir: Path,
    *,
    line: str = DEFAULT_PDS_LINE,
    node: str = DEFAULT_NODE,
    npm: str = "npm",
    quiet: bool = False,
    install: bool = True,
) -> NodeInstall:
    """The AT Protocol services of PDS line ``line``, and the Node.js to run them, installed first if needed.

    ``install=False`` raises :class:`~atproto_bdd.errors.NotInstalled` if anything would have to be installed.
    """
    pds = pds_line(line)
    runtime = resolve_node(
        cache_dir, min_major=pds.min_node, node=node, npm=npm, needed_for=f"PDS {pds.version}", install=install
    )
    return ensure_npm_project(pds.project, cache_dir / "node", node=runtime, npm=npm, quiet=quiet, install=install)


def ensure_npm_project(
    source_dir: Path,
    base: Path,
    *,
    node: NodeRuntime | str | None = DEFAULT_NODE,
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
    if isinstance(node, str):
        found = require_tool("node", node)
        node = NodeRuntime(found, capture([found, "--version"]))
    abi = (node.abi or _node_abi(node.path)) if node is not None else "any"
    root = base / lock_key(source_dir, abi)
    node_path = node.path if node is not None else ""
    if (root / COMPLETE_MARKER).exists():
        return NodeInstall(root=root, node=node_path)
    if not install:
        raise NotInstalled(f"{source_dir.name} is not installed in {base}")
    npm_path = require_tool("npm", npm)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / COMPLETE_MARKER).exists():
            _install(source_dir, root, node, npm_path, quiet=quiet, what=what)
    return NodeInstall(root=root, node=node_path)


def build_environment(node: NodeRuntime | None) -> dict[str, str] | None:
    """npm's environment when it builds native modules for ``node``: its headers, and it first on PATH.

    npm itself may run on another Node.js (the system's); node-gyp builds for
    the headers ``npm_config_nodedir`` names, whatever ``~/.npmrc`` says.
    """
    if node is None:
        return None
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(node.path).parent), os.environ.get("PATH", "")])}
    if node.headers is not None:
        env["npm_config_nodedir"] = str(node.headers)
    return env


def _install(source_dir: Path, root: Path, node: NodeRuntime | None, npm: str, *, quiet: bool, what: str) -> None:
    staging = root.with_name(f"{root.name}.partial-{os.getpid()}")
    try:
        _install_into(
            staging, source_dir, node, npm, log_path=root.with_name(f"{root.name}.install.log"), quiet=quiet, what=what
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a failed install leaves no half-filled directory behind
        raise
    shutil.rmtree(root, ignore_errors=True)
    os.replace(staging, root)


def _install_into(
    staging: Path, source_dir: Path, node: NodeRuntime | None, npm: str, *, log_path: Path, quiet: bool, what: str
) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
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
    (staging / COMPLETE_MARKER).write_text(
        json.dumps({"packages": pins, "seconds": round(time.monotonic() - started, 1)}) + "\n"
    )


@contextlib.contextmanager
def _progress(what: str, quiet: bool) -> Iterator[None]:
    if quiet:
        yield
    else:
        with Progress(what):
            yield
