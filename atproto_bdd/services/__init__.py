"""Layer 2: starting and stopping real AT Protocol services (it uses the protocol layer, never the ones above).

The embedded :class:`LocalRuntime` runs PLC and PDS instances from npm in a
Node host process; a :class:`Network` groups one PLC directory with named
PDSes. Nothing here knows about behave.

The names below are loaded on first use, so importing one small module of
this package (``atproto_bdd.services.host_prestart``, which runs while behave
loads ``environment.py``) does not load every runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "LocalRuntime": "local",
    "Network": "network",
    "Runtime": "runtime",
    "PdsService": "specs",
    "PdsSpec": "specs",
    "PlcService": "specs",
}

__all__ = ["LocalRuntime", "Network", "PdsService", "PdsSpec", "PlcService", "Runtime", "create_runtime"]


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'atproto_bdd.services' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def create_runtime(settings: Settings | None = None) -> Runtime:
    """Build the runtime the settings ask for (``runtime=local`` is the default, ``docker`` the other)."""
    from ..settings import Settings

    settings = settings or Settings.load()
    if settings.runtime == "docker":
        from .docker_runtime import DockerRuntime

        return DockerRuntime(settings)
    from .local import LocalRuntime

    return LocalRuntime(settings)


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from ..settings import Settings
    from .local import LocalRuntime
    from .network import Network
    from .runtime import Runtime
    from .specs import PdsService, PdsSpec, PlcService
