"""Apps under test as containers: an app that names an ``image`` runs as one on the Docker runtime.

The container shares the host's network (``network_mode = host``), so the
app gets exactly what a local app gets: the same loopback URLs in its
environment (the PDSes, the PLC directory and the relay are published on
this machine's 127.0.0.1, and the PDSes name themselves ``localhost:PORT`` in
every DID document), the same port to bind on 127.0.0.1, and the same
readiness checks. On a test network instead, those URLs would point at the
container itself, and an app bound to 127.0.0.1 could not be published.
The app's scratch directory (``${run_dir}``) is mounted at the same path.
The container carries the run's labels and is removed when the app stops,
with its scenario's services, or with the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..app_config import AppSpec
from ..app_process import AppProcess
from .cleanup import CleanupMixin
from .engine import _force_remove
from .images import ImagesMixin


class ContainerApp:
    """An app's container, answering what :class:`~atproto_bdd.services.app_process.RunningApp` asks."""

    def __init__(self, container: Any, forget: Any) -> None:
        self.container = container
        self._forget = forget
        self._returncode: int | None = None

    @property
    def pid(self) -> int | None:
        """The host pid of the container's main process (None once it stopped)."""
        try:
            self.container.reload()
        except Exception:  # removed
            return None
        return self.container.attrs.get("State", {}).get("Pid") or None

    @property
    def returncode(self) -> int | None:
        """The exit code once the container has stopped."""
        return self._returncode

    def alive(self) -> bool:
        """Whether the container runs (keeps its exit code when it stopped)."""
        try:
            self.container.reload()
        except Exception:  # removed
            return False
        state = self.container.attrs.get("State", {})
        if state.get("Status") in ("exited", "dead", "stopped"):
            self._returncode = state.get("ExitCode")
            return False
        return True

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, SIGKILL after ``grace`` seconds, then remove the container; its exit code."""
        try:
            self.container.stop(timeout=max(1, round(grace)))
            self.alive()
        except Exception:  # already gone
            pass
        _force_remove(self.container)
        self._forget(self.container.id)
        return self._returncode

    def kill(self) -> int | None:
        """SIGKILL the container at once (a crash), then remove it; its exit code."""
        try:
            self.container.kill()
            self.alive()
        except Exception:  # already gone
            pass
        _force_remove(self.container)
        self._forget(self.container.id)
        return self._returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the container's output (stdout and stderr)."""
        try:
            return self.container.logs(tail=lines).decode("utf-8", "replace")
        except Exception:  # removed
            return ""


class AppMixin(CleanupMixin, ImagesMixin):
    """Running apps that name an image as containers; other apps run as local processes."""

    def run_app(
        self, spec: AppSpec, *, port: int, env: Mapping[str, str], log_path: Path, data_dir: Path | None = None
    ) -> AppProcess:
        """Start the app (a container of its ``image``, else a local process) and wait until it is ready."""
        if not spec.image:
            return AppProcess.start(
                spec, port=port, env=env, log_path=log_path, log_max_bytes=self.settings.app_log_max_bytes
            )
        container = self._run(
            f"app {spec.name}",
            name=f"app-{spec.name}-{uuid.uuid4().hex[:6]}",
            network=None,
            labels=self.labels(),
            image=spec.image,
            command=list(spec.command) or None,
            environment=dict(env),
            network_mode="host",
            # ${run_dir} names a directory of this machine: the same path inside.
            volumes={str(data_dir): {"bind": str(data_dir), "mode": "rw"}} if data_dir is not None else None,
        )
        self._containers[container.id] = [container]
        process = ContainerApp(container, lambda cid: self._containers.pop(cid, None))
        return AppProcess.ready(spec, process, port, launched=f"image {spec.image} (container {container.name})")
