"""atproto-bdd: behaviour-driven acceptance tests against a real, ephemeral AT Protocol network.

The layers, each usable without the ones above it:

* :mod:`atproto_bdd.services` - runtimes that start real PLC/PDS services;
* :mod:`atproto_bdd.protocol` - XRPC client and identifier syntax;
* :mod:`atproto_bdd.world` - accounts, PDSes and records as a plain Python API;
* :mod:`atproto_bdd.steps` - the Gherkin step library for behave;
* :mod:`atproto_bdd.hooks` - behave environment hooks.
"""

from __future__ import annotations

from .errors import AtprotoBddError, InstallError, ServiceError, TransportError, UsageError, XrpcError
from .services import LocalRuntime, Network, PdsSpec, Runtime, create_runtime
from .settings import Settings
from .world import Account, Pds, RecordRef, StoredRecord, World

__version__ = "0.1.0"

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
