"""The network's Node services installed into the cache: a PDS line's PLC and PDS, with the Node.js they need.

The services (@atproto/pds, @did-plc/server) are pinned, per PDS line, by
the ``package-lock.json`` shipped in ``atproto_bdd/services/node/pds-<line>``
(see :mod:`.pds_lines`). They are installed once per lockfile hash and Node
ABI under ``<cache>/node/<key>/`` (:mod:`.npm_project`) and reused by every
later run, like ``playwright install``; the Node.js that runs them is the
system's or a managed Node.js 22 (:mod:`.node_runtime`).
"""

from __future__ import annotations

from pathlib import Path

from .cached_install import COMPLETE_MARKER
from .node_runtime import DEFAULT_NODE, resolve_node
from .npm_project import NodeInstall, ensure_npm_project
from .pds_lines import DEFAULT_PDS_LINE, NODE_DIR, pds_line

__all__ = [
    "COMPLETE_MARKER",
    "HOST_SCRIPT",
    "NODE_PACKAGE_DIR",
    "NodeInstall",
    "ensure_node_services",
    "ensure_npm_project",
]

NODE_PACKAGE_DIR = NODE_DIR
HOST_SCRIPT = NODE_PACKAGE_DIR / "host.js"


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
