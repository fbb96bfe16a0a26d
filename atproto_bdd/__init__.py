"""atproto-bdd: behaviour-driven acceptance tests against a real, ephemeral AT Protocol network.

The layers, each usable without the ones above it (lower layers never import
higher ones):

1. :mod:`atproto_bdd.protocol` - XRPC over httpx, the firehose, CAR/DAG-CBOR/CIDs/MST,
   keys and signatures, OAuth + DPoP, identifier syntax;
2. :mod:`atproto_bdd.services` - runtimes that start real PLC/PDS/relay services;
3. :mod:`atproto_bdd.world` - accounts, PDSes and records as a plain Python API;
4. :mod:`atproto_bdd.steps` - the Gherkin step library for behave;
5. :mod:`atproto_bdd.hooks` and :mod:`atproto_bdd.pytest_plugin` - behave's hooks and the pytest plugin,
   adapters over one :class:`~atproto_bdd.session.RunSession`.

The names below are loaded on first use, so ``import atproto_bdd.protocol``
does not load the services or the steps.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "AtprotoBddError": "errors",
    "InstallError": "errors",
    "ServiceError": "errors",
    "TransportError": "errors",
    "UsageError": "errors",
    "XrpcError": "errors",
    "Settings": "settings",
    "LocalRuntime": "services",
    "Network": "services",
    "PdsSpec": "services",
    "Runtime": "services",
    "create_runtime": "services",
    "Account": "world",
    "Pds": "world",
    "RecordRef": "world",
    "StoredRecord": "world",
    "World": "world",
}

__all__ = [
    "Account",
    "AtprotoBddError",
    "InstallError",
    "LocalRuntime",
    "Network",
    "Pds",
    "PdsSpec",
    "RecordRef",
    "Runtime",
    "ServiceError",
    "Settings",
    "StoredRecord",
    "TransportError",
    "UsageError",
    "World",
    "XrpcError",
    "create_runtime",
]


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'atproto_bdd' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from .errors import AtprotoBddError, InstallError, ServiceError, TransportError, UsageError, XrpcError
    from .services import LocalRuntime, Network, PdsSpec, Runtime, create_runtime
    from .settings import Settings
    from .world import Account, Pds, RecordRef, StoredRecord, World
