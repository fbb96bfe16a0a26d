"""The world: one network's PDSes and accounts, and what the current scenario did.

This is the object steps reach as ``context.atproto``. It is a plain Python
API: pytest fixtures and scripts can use it the same way::

    with LocalRuntime() as runtime:
        world = World(runtime)
        alice = world.create_account("alice.test")
        alice.post("hello")
        world.close()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..errors import UsageError, XrpcError
from ..protocol.identity import PlcClient
from ..protocol.lexicon_docs import LexiconDoc
from ..protocol.xrpc import XrpcExchange
from ..services.app_config import AppConfig
from ..services.browser import Browsers
from ..services.lexicons import LexiconValidator
from ..services.network import Network
from ..services.registry import SERVICES
from ..services.runtime import Runtime
from ..settings import Settings
from . import placeholders
from .account import Account
from .accounts import AccountsMixin
from .app import App
from .app_scopes import AppScopes
from .apps import AppsMixin
from .identity import IdentityMixin
from .lexicons import Lexicons
from .pds import Pds
from .pdses import PdsesMixin
from .records import RecordRef
from .services import ServicesMixin
from .snapshots import SnapshotsMixin
from .windows import FirehoseChecks

T = TypeVar("T")


@dataclass(frozen=True)
class XrpcCall:
    """What an XRPC call sent: its method, parameters (a query's) and input (a procedure's JSON body)."""

    nsid: str
    params: Mapping[str, Any] | None = None
    input: Any = None
    #: A procedure (POST) changes things: it is never sent again on its own (a query may be).
    procedure: bool = False


@dataclass(frozen=True)
class Attempt:
    """The outcome of the latest "tries to" action: its result, or the XRPC error it got (and the call, if one)."""

    action: str
    error: XrpcError | None = None
    result: Any = None
    call: XrpcCall | None = None
    #: Sends the same request again (kept for queries only: ``within N seconds, the response ...``).
    again: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    @property
    def failed(self) -> bool:
        """True if the action got an XRPC error."""
        return self.error is not None


class World(PdsesMixin, ServicesMixin, AccountsMixin, IdentityMixin, AppsMixin, SnapshotsMixin, FirehoseChecks):
    """PDSes by name, accounts by handle, and the current scenario's transcript.

    A facade: each part lives in a module of its own - ``pdses`` (the network
    and its PDSes), ``services`` (the relay, the AppView, Jetstream, Tap),
    ``accounts``, ``identity``, ``apps`` (apps, feeds, labelers),
    ``snapshots`` and ``windows`` (what the scenario's streams showed).
    """

    def __init__(self, runtime: Runtime, settings: Settings | None = None) -> None:
        self.runtime = runtime
        self.settings = settings or getattr(runtime, "settings", None) or Settings.load()
        self._network: Network | None = None
        self._plc: PlcClient | None = None
        self._pdses: dict[str, Pds] = {}
        self._accounts: dict[str, Account] = {}
        #: The world's wrappers of the network's other services, by registry name (``relay``, ``appview``...).
        self._services: dict[str, Any] = {}
        self.transcript: list[XrpcExchange] = []
        self.last_attempt: Attempt | None = None
        self.scenario = ""
        self.current_step = ""
        self._last_step_type = ""
        self.relay_start: dict[str, int] = {}
        self.app_config: AppConfig = AppConfig()
        #: Where apps that outlive a scenario live (the hooks share one per run); None: this world keeps them.
        self.app_scopes: AppScopes | None = None
        #: The run's browser (``services/browser.py``), launched on first use; None: the world's own, if needed.
        self.browsers: Browsers | None = None
        #: How long this world's network lives: "scenario", "feature" when a feature (a pytest module) shares it,
        #: or "run" when the whole run (a pytest session) does.
        self.lifetime = "scenario"
        self._apps: dict[str, App] = {}
        #: Errors of accounts :meth:`prefetch_accounts` could not create, raised when they are asked for.
        self._prefetch_errors: dict[str, BaseException] = {}
        #: True when the world started from a snapshot (:meth:`restore`): a Background that ran once.
        self.restored = False
        #: The project's lexicon documents, and the run's validator with them loaded (None: made on first use).
        self.lexicon_docs: list[LexiconDoc] = []
        self.lexicon_validator: LexiconValidator | None = None
        self._lexicons: Lexicons | None = None
        #: Records the scenario named (``creates a ... record as "second":``): ``${records.second.uri}``.
        self.named_records: dict[str, RecordRef] = {}

    def begin_scenario(self, name: str) -> None:
        """Reset what belongs to one scenario (transcript, last attempt); keep the network."""
        self.scenario = name
        self._prefetch_errors.clear()  # an earlier scenario's failed account is that scenario's story
        self.transcript = []
        self.last_attempt = None
        self.current_step = ""
        self.close_window()
        self._last_step_type = ""
        self.named_records = {}
        if self.lifetime != "scenario" and self.started:  # a shared network: the scenario's records come after
            self.lexicons.begin_scenario()

    def name_record(self, name: str, ref: RecordRef) -> RecordRef:
        """Name the record ``ref`` for this scenario (``${records.NAME.uri}``); a name is given once."""
        if name in self.named_records:
            raise UsageError(f'a record is named "{name}" already in this scenario ({self.named_records[name].uri})')
        self.named_records[name] = ref
        return ref

    def named_record(self, name: str) -> RecordRef:
        """The record named ``name`` in this scenario; an error lists the names given."""
        if name not in self.named_records:
            given = ", ".join(f'"{n}"' for n in self.named_records) or "none"
            raise UsageError(
                f'no record is named "{name}" in this scenario (named: {given}); name one with '
                f'`When alice.test creates a NSID record as "{name}":`'
            )
        return self.named_records[name]

    @property
    def lexicons(self) -> Lexicons:
        """The lexicon checks: records and XRPC values against the project's lexicons and the PDS line's."""
        if self._lexicons is None:
            self._lexicons = Lexicons(self, self.lexicon_docs, self.lexicon_validator)
        return self._lexicons

    def end_scenario(self) -> None:
        """End what is the scenario's own - its people's pages, then its apps; a shared network keeps running.

        A PLC directory the scenario took down is back for the next one.
        """
        try:
            self.end_scenario_services()
        finally:
            try:
                AppsMixin.end_scenario(self)
            finally:
                if self._network is not None and self._network.plc_outage and not self._network.closed:
                    self._network.plc_up()

    def begin_step(self, text: str, step_type: str) -> None:
        """Note the running step; the first When-step of a group opens a new event window.

        Firehose expectations ("shows ...") look at events after each PDS's
        head at the start of the latest group of When-steps: the outcome of the
        action, not history (see :mod:`atproto_bdd.world.windows`). With an
        AppView, what the Given-steps wrote is indexed before the first When-step.
        """
        self.current_step = text
        if step_type == "when" and self._last_step_type != "when":
            if self.has_appview:
                # The Given-state is indexed before the action: the AppView indexes each account's events
                # on its own queue, so a reply written right after its parent could be indexed first and
                # miss its notification - a race production does not have with posts that are not new.
                self.appview.wait_indexed()
            self.open_window()
        self._last_step_type = step_type

    def _record(self, exchange: XrpcExchange) -> None:
        self.transcript.append(exchange)

    def record(self, exchange: XrpcExchange) -> None:
        """Add an exchange to the scenario's transcript (clients of apps report here)."""
        self._record(exchange)

    @contextmanager
    def waits_at_most(self, seconds: float) -> Iterator[None]:
        """Within the block, no wait of this world lasts longer than ``seconds`` ("within N seconds, ...")."""
        saved = self.settings
        limit = max(seconds, 0.001)
        self.settings = replace(
            saved,
            app_timeout=min(saved.app_timeout, limit),
            app_settle=min(saved.app_settle, limit),
            firehose_timeout=min(saved.firehose_timeout, limit),
            relay_timeout=min(saved.relay_timeout, limit),
        )
        try:
            yield
        finally:
            self.settings = saved

    def attempt(self, action: str, call: Callable[[], T], *, xrpc: XrpcCall | None = None) -> Attempt:
        """Run ``call``, keeping an XRPC error instead of raising it (for "tries to" steps).

        ``xrpc`` says which XRPC call it makes, for checks of the call itself
        (``Then the response is valid against its lexicon``).
        """
        again = call if xrpc is not None and not xrpc.procedure else None
        try:
            self.last_attempt = Attempt(action, result=call(), call=xrpc, again=again)
        except XrpcError as error:
            self.last_attempt = Attempt(action, error=error, call=xrpc, again=again)
        return self.last_attempt

    def query_app(
        self,
        name: str,
        nsid: str,
        params: Mapping[str, Any] | None = None,
        *,
        as_handle: str | None = None,
        at_once: bool = False,
    ) -> Attempt:
        """Query the app ``name`` (as ``as_handle``, with a service-auth token), once it has seen what came before.

        An app with ``cursor_http`` is first waited for (``app_timeout``) until
        its cursor reaches the firehose's head: a query right after a write
        asks an indexer that has indexed it (``at_once``: not waited for). The
        outcome is the latest attempt.
        """
        app = self.app(name)
        account = self.account(as_handle) if as_handle is not None else None
        who = f"{as_handle} queries {nsid}" if as_handle else nsid

        def ask() -> Any:
            if app.spec.cursor_http and not at_once:
                app.wait_caught_up(self.settings.app_timeout)
            return app.xrpc_get(nsid, params, as_account=account)

        return self.attempt(f"{who} on the app {name}", ask, xrpc=XrpcCall(nsid, dict(params or {})))

    def repeat_last_query(self) -> bool:
        """Send the latest query again (not a procedure: it would change things), keeping its outcome; whether it did.

        ``Then within N seconds, the response contains: ...`` asks again
        until the answer holds; a response kept from before could only time out.
        """
        attempt = self.last_attempt
        if attempt is None or attempt.again is None:
            return False
        self.attempt(attempt.action, attempt.again, xrpc=attempt.call)
        return True

    def resolve(self, text: str, *, extra: Mapping[str, str] | None = None) -> str:
        """Replace ``${...}`` placeholders in ``text`` (``extra``: more names, such as an app's ``run_dir``)."""
        return placeholders.resolve_text(text, self, extra=extra)

    def resolve_data(self, data: Any) -> Any:
        """Replace placeholders in every string inside parsed data."""
        return placeholders.resolve_data(data, self)

    def close(self, *, wait: bool = False) -> None:
        """Stop the world's apps, close clients and stop the network's services (whatever fails on the way).

        Apps kept in :attr:`app_scopes` belong to their feature or run and keep running.
        """
        own_apps = [app for app in self._apps.values() if self._owns(app)]
        self._apps.clear()
        # Apps first, then the services that read others (in reverse registry order), the PDSes, the PLC client.
        services = [self._services[name] for name in reversed(SERVICES) if name in self._services]
        clients: list[Any] = [*own_apps, *services, *self._pdses.values(), self._plc]
        try:
            for client in clients:
                if client is None:
                    continue
                try:
                    client.close()
                except Exception:  # a client that cannot close must not keep the services running
                    pass
        finally:
            if self._network is not None:
                self._network.close(wait=wait)
