"""Podman with its Docker-compatible API socket, configured for this kind of machine.

No Docker engine runs here, but Debian's podman does, with two settings: the
``runc`` runtime (crun fails on cgroups in hybrid mode) and default ulimits no
higher than the process's own hard limit. Storage, configuration and the
socket live in one temporary directory; the service is ours to stop.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType


def ensure_podman() -> None:
    """Install podman and runc from Debian's packages if they are missing (needs root)."""
    if shutil.which("podman") and shutil.which("runc"):
        return
    print("atproto-bdd: installing podman and runc (apt-get, about 20 s) ...", flush=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", "podman", "runc"]
    if subprocess.run(install, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, check=True)
        subprocess.run(install, capture_output=True, check=True)


class PodmanService:
    """``podman system service`` on a unix socket, with storage in a temporary directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="atproto-bdd-podman-"))
        self.socket = self.root / "podman.sock"
        self.env = dict(os.environ)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def docker_host(self) -> str:
        """The ``DOCKER_HOST`` value that reaches this service."""
        return f"unix://{self.socket}"

    def __enter__(self) -> PodmanService:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nofile = 1048576 if hard == resource.RLIM_INFINITY else hard
        (self.root / "containers.conf").write_text(
            f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]\n'
            '[engine]\nruntime = "runc"\n'
        )
        (self.root / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{self.root}/storage"\nrunroot = "{self.root}/run"\n'
        )
        self.env.update(
            {
                "CONTAINERS_CONF": str(self.root / "containers.conf"),
                "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
            }
        )
        log = open(self.root / "service.log", "wb")  # noqa: SIM115 - lives as long as the service
        self.process = subprocess.Popen(
            ["podman", "system", "service", "--time=0", self.docker_host],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service did not start: {(self.root / 'service.log').read_text()}")
            time.sleep(0.05)
        return self

    def podman(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run a podman command against this service's storage."""
        return subprocess.run(["podman", *args], env=self.env, input=input, capture_output=True, check=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.podman("rm", "--all", "--force", "--time", "0")
        self.podman("network", "prune", "--force")
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.podman("system", "reset", "--force")
        shutil.rmtree(self.root, ignore_errors=True)
