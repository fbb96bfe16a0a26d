"""What the world's parts need of the world: small roles, each a few members of :class:`World`.

A part of the world (an app, the AppView, a feed, a labeler, Jetstream,
Tap) is given the world it belongs to, but is typed by - and uses only -
the roles it needs, composed into one protocol in its own module
(``AppViewWorld`` in ``world/appview.py``...). ``tests/test_world_needs.py``
checks that each part uses nothing beyond its protocol and that ``World``
provides every role. A part made in a script or a test can be given any
object with those members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..protocol.identity import DidDocument, PlcClient
    from ..protocol.xrpc import XrpcExchange
    from ..services.network import Network
    from ..services.runtime import Runtime
    from ..settings import Settings
    from .account import Account
    from .app import App
    from .events import EventQuery, InWindow
    from .pds import Pds
    from .relay import Relay


class Configured(Protocol):
    """The run's settings (timeouts above all)."""

    @property
    def settings(self) -> Settings: ...


class Recording(Protocol):
    """Where the scenario's XRPC exchanges go (its transcript)."""

    def record(self, exchange: XrpcExchange) -> None: ...


class Describing(Protocol):
    """How messages name a DID (by its handle) and a record URI."""

    def name_of(self, did: str) -> str: ...

    def describe_uri(self, uri: str) -> str: ...


class ResolvingDids(Protocol):
    """DID documents from the network's PLC directory."""

    def resolve_did(self, did: str) -> DidDocument: ...


class OnTheRuntime(Protocol):
    """The runtime and the network the world runs on."""

    @property
    def runtime(self) -> Runtime: ...

    @property
    def network(self) -> Network: ...


class PdsHeads(Protocol):
    """The network's PDSes and where their event streams are."""

    @property
    def pdses(self) -> Mapping[str, Pds]: ...

    def pds(self, name: str | None = None) -> Pds: ...

    def pds_head(self, pds: str) -> int: ...

    def sequenced_head(self, pds: str) -> int: ...


class RelayWindows(Protocol):
    """The network's relay and the event windows checked against its stream."""

    @property
    def relay(self) -> Relay: ...

    def relay_head(self) -> int: ...

    def relay_window(self, *, whole: bool = False) -> InWindow: ...

    def start_crawled_recorders(self) -> None: ...

    def sync_relay(self, query: EventQuery | None = None) -> None: ...


class Placeholders(Protocol):
    """``${...}`` placeholders, resolved against the world."""

    def resolve(self, text: str, *, extra: Mapping[str, str] | None = None) -> str: ...


class Apps(Protocol):
    """The apps under test, found by their DID."""

    def app_with_did(self, did: str) -> App | None: ...


class HasAccounts(Protocol):
    """The world's accounts, made when first asked for (an app's own account)."""

    def ensure_account(self, handle: str, pds: str | None = None) -> Account: ...


class HasServices(Protocol):
    """Reads the network's other services by registry name (the AppView settles Ozone before it judges)."""

    def has_service(self, name: str) -> bool: ...

    def service(self, name: str) -> Any: ...


class HasDefaultPds(Protocol):
    """Starts the network's default PDS (``A``) when it has none (Ozone pushes takedowns to it)."""

    def default_pds(self, *, create: bool = True) -> Pds: ...


class AddsServices(Protocol):
    """The network's other services, started when first asked for (the faults' Toxiproxy)."""

    def add_service(self, name: str, spec: Any = None) -> Any: ...


class Lifetime(Protocol):
    """How long the world lives (``scenario``, ``feature``, ``run``) and its PLC directory's client."""

    @property
    def lifetime(self) -> str: ...

    @property
    def plc(self) -> PlcClient: ...
