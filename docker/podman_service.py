"""Podman with its Docker-compatible API socket, configured for this kind of machine.

No Docker engine runs here, but Debian's podman does, with three settings: the
``runc`` runtime (crun fails on cgroups in hybrid mode), default ulimits no
higher than the process's own hard limit, and the netavark network backend
(with aardvark-dns), without which containers cannot resolve each other by
name: ``--no-install-recommends`` podman alone is CNI without a DNS plugin.
Storage, configuration, networks and the socket live in one temporary
directory; the service is ours to stop.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from atproto_bdd.services.progress import Progress
from atproto_bdd.waiting import poll

#: What the proof needs from Debian: the engine, the runtime that works here, name-resolving networks
#: (netavark with aardvark-dns), and iptables, which netavark runs to set up every network and
#: published port ("netavark: No such file or directory" without it; podman only Suggests it).
PACKAGES = ("podman", "runc", "netavark", "aardvark-dns", "iptables")
#: The network backend whose networks resolve container names (aardvark-dns).
#: Seconds an exec session's monitor (conmon) stays after the command ended.
EXEC_EXIT_DELAY = 5
NETWORK_BACKEND = "netavark"


def missing_packages(packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """The Debian packages of ``packages`` that are not installed."""
    missing = []
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True, check=False
        )
        if status.stdout.strip() != "installed":
            missing.append(package)
    return missing


def ensure_podman() -> list[str]:
    """Install the missing ones of :data:`PACKAGES` (needs root); returns those it installed."""
    missing = missing_packages()
    if not missing:
        return []
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    with Progress(f"installing {' '.join(missing)} (apt-get)"):
        first = subprocess.run(install, capture_output=True, check=False)
        if first.returncode != 0:  # a fresh machine's package lists may be absent or stale
            subprocess.run(["apt-get", "update"], capture_output=True, check=True)
            second = subprocess.run(install, capture_output=True, check=False)
            if second.returncode != 0:
                raise RuntimeError(f"{' '.join(install)} failed:\n{second.stderr.decode()[-2000:]}")
    still = missing_packages()
    if still:
        raise RuntimeError(f"apt-get reported success but {', '.join(still)} is still not installed")
    return missing


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
            # An exec session's conmon waits exit_command_delay (300 s by default) for a client to read the
            # exit code, and outlives the containers: keep it short so nothing lingers after the run.
            f'[engine]\nruntime = "runc"\nexit_command_delay = {EXEC_EXIT_DELAY}\n'
            f'[network]\nnetwork_backend = "{NETWORK_BACKEND}"\nnetwork_config_dir = "{self.root}/networks"\n'
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
        try:
            poll(self._ready, timeout=30, on_timeout=self._failed, interval=0.02)
            self._check_network_backend()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _ready(self) -> bool:
        """Whether the socket is there; a service that exited fails at once."""
        if self.process is not None and self.process.poll() is not None:
            raise self._failed()
        return self.socket.exists()

    def _failed(self) -> RuntimeError:
        return RuntimeError(f"podman system service did not start: {(self.root / 'service.log').read_text()}")

    def _check_network_backend(self) -> None:
        """Fail unless podman uses netavark: with CNI and no dnsname plugin, containers cannot find each other."""
        result = self.podman("info", "--format", "{{.Host.NetworkBackend}}")
        backend = result.stdout.decode().strip()
        if result.returncode != 0 or backend != NETWORK_BACKEND:
            raise RuntimeError(
                f"podman uses the {backend or 'unknown'} network backend, not {NETWORK_BACKEND}: containers on one "
                f"network could not resolve each other by name. Install {' '.join(PACKAGES)} "
                f"(apt-get install --no-install-recommends ...). {result.stderr.decode()[-500:]}"
            )

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
