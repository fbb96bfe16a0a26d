"""Layer 1: starting and stopping real AT Protocol services.

The embedded :class:`LocalRuntime` runs PLC and PDS instances from npm in a
Node host process; a :class:`Network` groups one PLC directory with named
PDSes. Nothing here knows about behave.
"""

from __future__ import annotations

from ..settings import Settings
from .local import LocalRuntime
from .network import Network
from .runtime import Runtime
from .specs import PdsService, PdsSpec, PlcService

__all__ = ["LocalRuntime", "Network", "PdsService", "PdsSpec", "PlcService", "Runtime", "create_runtime"]


def create_runtime(settings: Settings | None = None) -> Runtime:
    """Build the runtime the settings ask for (``runtime=local`` is the default, ``docker`` the other)."""
    settings = settings or Settings.load()
    if settings.runtime == "docker":
        from .docker_runtime import DockerRuntime

        return DockerRuntime(settings)
    return LocalRuntime(settings)
