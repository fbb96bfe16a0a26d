"""Go tools from the module proxy, built into the cache: the indigo relay, Tap and Jetstream.

Each tool is a package at a pinned version, built with ``go install`` on first
use into ``<cache>/go/bin/<version>/`` (cached by version, one lock for every
build). Go's module and build caches live under ``<cache>/go`` too, so
everything the framework installs sits in one cache directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import InstallError
from .cached_install import install_lock
from .child_env import Child, child_environment
from .progress import Progress
from .toolchain import capture, require_tool, run_logged

INDIGO_MODULE = "github.com/bluesky-social/indigo"
#: indigo at commit af2fec94f34c (2026-06-05), the newest the Go module proxy serves.
INDIGO_VERSION = "v0.0.0-20260605210604-af2fec94f34c"
INDIGO_COMMIT = "af2fec94f34c748742de80cba2a2f8690b572b2e"
RELAY_PACKAGE = f"{INDIGO_MODULE}/cmd/relay"


@dataclass(frozen=True)
class GoTool:
    """A Go program we build: its binary's name, its package and module, and the pinned version."""

    binary: str
    package: str
    module: str
    version: str
    title: str
    #: Serve the module to ``go install`` from a local proxy directory (see :func:`_local_proxy`).
    local_proxy: bool = False


RELAY = GoTool("relay", RELAY_PACKAGE, INDIGO_MODULE, INDIGO_VERSION, "the indigo relay")


def go_environment(cache_dir: Path) -> dict[str, str]:
    """Environment for ``go`` with its module and build caches under ``cache_dir/go``."""
    root = cache_dir / "go"
    env = child_environment(Child.TOOL)
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
    return Path(_download(cache_dir, module, version, go=go)["Dir"])


def _download(cache_dir: Path, module: str, version: str, *, go: str, env: dict[str, str] | None = None) -> dict:
    go_path = require_tool("go", go)
    argv = [go_path, "mod", "download", "-json", f"{module}@{version}"]
    info = json.loads(capture(argv, timeout=600, env=env or go_environment(cache_dir)))
    if info.get("Error"):
        raise InstallError(f"go mod download {module}@{version} failed: {info['Error']}")
    return info


def ensure_relay(cache_dir: Path, *, go: str = "go", quiet: bool = False) -> Path:
    """The relay binary at the pinned version, built with ``go install`` on first use."""
    return ensure_tool(cache_dir, RELAY, go=go, quiet=quiet)


def ensure_tool(cache_dir: Path, tool: GoTool, *, go: str = "go", quiet: bool = False) -> Path:
    """``tool``'s binary at its pinned version, built with ``go install`` on first use (with a progress line)."""
    bin_dir = cache_dir / "go" / "bin" / tool.version
    binary = bin_dir / tool.binary
    if binary.exists():
        return binary
    go_path = require_tool("go", go)
    bin_dir.mkdir(parents=True, exist_ok=True)
    # go install writes the binary into GOBIN itself, last, when the build succeeded: its presence is the marker.
    with install_lock(bin_dir.parent / ".install.lock"):
        if binary.exists():
            return binary
        env = {**go_environment(cache_dir), "GOBIN": str(bin_dir)}
        go_version = capture([go_path, "env", "GOVERSION"], env=env)
        log_path = bin_dir.parent / f"{tool.binary}-{tool.version}.build.log"
        what = f"building {tool.title} ({tool.version}) with {go_version} (go install, once per version)"
        with contextlib.nullcontext() if quiet else Progress(what):
            if tool.local_proxy:
                env["GOPROXY"] = f"{_local_proxy(cache_dir, tool, go=go_path, env=env).as_uri()},{env_goproxy(env)}"
            run_logged(
                [go_path, "install", f"{tool.package}@{tool.version}"],
                cwd=bin_dir,
                log_path=log_path,
                timeout=30 * 60,
                what=f"go install {tool.package}@{tool.version}",
                env=env,
            )
    if not binary.exists():
        raise InstallError(f"go install finished but {binary} is missing; see {log_path}")
    return binary


def env_goproxy(env: dict[str, str]) -> str:
    """The module proxies ``go`` would use in ``env`` (``GOPROXY``, or Go's default)."""
    return env.get("GOPROXY") or "https://proxy.golang.org,direct"


def _local_proxy(cache_dir: Path, tool: GoTool, *, go: str, env: dict[str, str]) -> Path:
    """A file-based module proxy holding ``tool``'s module at its version, for ``go install`` to read first.

    ``go install pkg@version`` asks the proxy for the module's version list
    (to look for a deprecation notice); some proxies refuse ``@v/list`` and
    ``.info`` for the Jetstream module (403 Forbidden) while serving its
    ``.mod`` and ``.zip``. ``go mod download`` fetches the module (checked
    against the checksum database as always), and this directory then answers
    the list and info requests with that one version. Every other module still
    comes from the usual proxy.
    """
    root = cache_dir / "go" / "local-proxy"
    versions = root / tool.module / "@v"
    versions.mkdir(parents=True, exist_ok=True)
    plain = {**env, "GOPROXY": env_goproxy(env)}
    info = _download(cache_dir, tool.module, tool.version, go=go, env=plain)
    shutil.copyfile(info["GoMod"], versions / f"{tool.version}.mod")
    shutil.copyfile(info["Zip"], versions / f"{tool.version}.zip")
    if info.get("Info") and Path(info["Info"]).exists():
        shutil.copyfile(info["Info"], versions / f"{tool.version}.info")
    else:
        (versions / f"{tool.version}.info").write_text(json.dumps({"Version": tool.version}))
    (versions / "list").write_text(tool.version + "\n")
    return root
