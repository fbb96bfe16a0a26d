"""Local images equivalent to the official ones, built from what atproto-bdd installed.

No image can be pulled on this kind of machine, so the Docker runtime is proven
against images built here from the same pinned npm packages and the same Go
build of the relay:

* ``base``: a minimal root filesystem with the Node.js binary of the PDS
  line's install (the system's, or the managed Node.js 22 for 0.5) and the C
  libraries it and the relay need, imported with ``podman import``;
* ``node-services``: the cached ``node_modules`` of the pinned PDS and PLC;
* ``pds``, ``plc``, ``relay``, ``mailpit``: Containerfiles in ``docker/images``;
  Mailpit is built with ``go install`` at the version of its official image;
* ``echo-app``: the app under test of ``features/apps.feature`` as an image
  (the app ``echo-image`` in ``atproto-bdd.toml``).

Every image is tagged with the PDS line (``pds:0.5-local``): the images follow
the line a run uses. The Containerfiles start ``FROM`` the line's base and
node-services (the ``LINE`` build argument).
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

from podman_service import PodmanService

from atproto_bdd.services.docker_runtime import OFFICIAL_IMAGES
from atproto_bdd.services.go_install import go_environment
from atproto_bdd.services.progress import Progress
from atproto_bdd.services.toolchain import require_tool, run_logged

IMAGES = Path(__file__).parent / "images"
FEATURE_APPS = Path(__file__).resolve().parents[1] / "features" / "apps"
PREFIX = "localhost/atproto-bdd"
MAILPIT_PACKAGE = "github.com/axllent/mailpit"
#: The version of the official image (axllent/mailpit:vX.Y.Z), so the local image is its equivalent.
MAILPIT_VERSION = OFFICIAL_IMAGES["mailpit"].rsplit(":", 1)[1]
#: The services the local images stand in for.
SERVICES = ("pds", "plc", "relay", "mailpit")


def ensure_mailpit(cache_dir: Path) -> Path:
    """The mailpit binary at the official image's version, built with ``go install`` on first use."""
    bin_dir = cache_dir / "go" / "bin" / f"mailpit-{MAILPIT_VERSION}"
    binary = bin_dir / "mailpit"
    if binary.exists():
        return binary
    go = require_tool("go")
    bin_dir.mkdir(parents=True, exist_ok=True)
    # Static (no cgo): the base image has only the C libraries node and the relay link.
    env = {**go_environment(cache_dir), "GOBIN": str(bin_dir), "CGO_ENABLED": "0"}
    with Progress(f"building mailpit {MAILPIT_VERSION} (go install, once per version)"):
        run_logged(
            [go, "install", f"{MAILPIT_PACKAGE}@{MAILPIT_VERSION}"],
            cwd=bin_dir,
            log_path=bin_dir.parent / f"mailpit-{MAILPIT_VERSION}.build.log",
            timeout=30 * 60,
            what=f"go install {MAILPIT_PACKAGE}@{MAILPIT_VERSION}",
            env=env,
        )
    return binary


def _libraries(binary: str) -> list[str]:
    output = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    return sorted(set(re.findall(r"(/\S+\.so[.\d]*)", output)))


def base_rootfs(node: str, relay: Path) -> bytes:
    """A tar of the smallest root filesystem that runs ``node`` and the relay."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:

        def directory(path: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(path)
            info.type, info.mode = tarfile.DIRTYPE, mode
            archive.addfile(info)

        def text(path: str, content: str) -> None:
            data = content.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))

        for path in (
            "etc",
            "tmp",
            "app",
            "data",
            "data/relay",
            "usr",
            "usr/bin",
            "lib64",
            "lib",
            "lib/x86_64-linux-gnu",
        ):
            directory(path, 0o1777 if path == "tmp" else 0o755)
        text("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\n")
        text("etc/group", "root:x:0:\n")
        text("etc/nsswitch.conf", "hosts: files dns\n")
        archive.add(Path(node).resolve(), arcname="usr/bin/node")
        for library in sorted(set(_libraries(node) + _libraries(str(relay)))):
            archive.add(Path(library).resolve(), arcname=library.lstrip("/"))
    return buffer.getvalue()


def tag(line: str) -> str:
    """The tag of a line's local images (``0.5-local``)."""
    return f"{line}-local"


def build(
    podman: PodmanService, node_install: Path, relay: Path, mailpit: Path, *, node: str, line: str
) -> dict[str, str]:
    """Build every image of PDS line ``line`` (``node``: the Node.js that line runs on); the image per service."""
    base = base_rootfs(str(Path(node).resolve()), relay)
    _check(podman.podman("import", "-", f"{PREFIX}/base:{tag(line)}", input=base), "import base")
    _build(podman, "node-services", node_install, line)
    _build(podman, "pds", IMAGES / "pds", line)
    _build(podman, "plc", node_install / "node_modules" / "@did-plc" / "server", line)
    _build(podman, "relay", relay.parent, line)
    _build(podman, "mailpit", mailpit.parent, line)
    # Also as echo-app:local, the name atproto-bdd.toml gives it (the config is the same for both lines).
    _build(podman, "echo-app", FEATURE_APPS, line, also="local")
    return {service: f"{PREFIX}/{service}:{tag(line)}" for service in SERVICES}


def _build(podman: PodmanService, name: str, context: Path, line: str, also: str = "") -> None:
    containerfile = IMAGES / name / "Containerfile"
    tags = [f"{PREFIX}/{name}:{tag(line)}"] + ([f"{PREFIX}/{name}:{also}"] if also else [])
    result = podman.podman(
        "build",
        "--quiet",
        "--build-arg",
        f"LINE={tag(line)}",
        "-f",
        str(containerfile),
        *(option for name_tag in tags for option in ("-t", name_tag)),
        str(context),
    )
    _check(result, f"build {name}")


def _check(result: subprocess.CompletedProcess[bytes], what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"podman {what} failed:\n{result.stderr.decode()[-2000:]}")
