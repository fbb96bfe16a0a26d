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

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, TypeVar

from ..errors import UsageError, XrpcError
from ..masking import masker
from ..protocol.identity import DidDocument, PlcClient, fetch_did_web
from ..protocol.xrpc import XrpcExchange
from ..services.app_config import AppConfig
from ..services.email import Mailbox
from ..services.network import Network
from ..services.runtime import Runtime
from ..services.specs import PdsService, PdsSpec, TapSpec
from ..settings import Settings
from . import placeholders
from .account import Account
from .app import App
from .app_scopes import AppScopes
from .appview import AppView
from .events import EventQuery, require_event_type
from .feeds import Feed, publish
from .jetstream import Jetstream
from .labels import Labeler
from .pds import Pds
from .relay import Relay
from .session import Session
from .snapshots import AccountState, WorldSnapshot
from .tap import Tap
from .windows import FirehoseChecks

DEFAULT_PDS_NAME = "A"
T = TypeVar("T")


@dataclass(frozen=True)
class Attempt:
    """The outcome of the latest "tries to" action: its result, or the XRPC error it got."""

    action: str
    error: XrpcError | None = None
    result: Any = None

    @property
    def failed(self) -> bool:
        """True if the action got an XRPC error."""
        return self.error is not None


class World(FirehoseChecks):
    """PDSes by name, accounts by handle, and the current scenario's transcript."""

    def __init__(self, runtime: Runtime, settings: Settings | None = None) -> None:
        self.runtime = runtime
        self.settings = settings or getattr(runtime, "settings", None) or Settings.load()
        self._network: Network | None = None
        self._plc: PlcClient | None = None
        self._pdses: dict[str, Pds] = {}
        self._accounts: dict[str, Account] = {}
        self._relay: Relay | None = None
        self._appview: AppView | None = None
        self._jetstream: Jetstream | None = None
        self._tap: Tap | None = None
        self.transcript: list[XrpcExchange] = []
        self.last_attempt: Attempt | None = None
        self.scenario = ""
        self.current_step = ""
        self._last_step_type = ""
        self.relay_start: dict[str, int] = {}
        self.app_config: AppConfig = AppConfig()
        #: Where apps that outlive a scenario live (the hooks share one per run); None: this world keeps them.
        self.app_scopes: AppScopes | None = None
        #: How long this world's network lives: "scenario", "feature" when a feature (a pytest module) shares it,
        #: or "run" when the whole run (a pytest session) does.
        self.lifetime = "scenario"
        self._apps: dict[str, App] = {}
        #: Errors of accounts :meth:`prefetch_accounts` could not create, raised when they are asked for.
        self._prefetch_errors: dict[str, BaseException] = {}
        #: True when the world started from a snapshot (:meth:`restore`): a Background that ran once.
        self.restored = False

    # -- the network, started on first use ----------------------------------------

    @property
    def network(self) -> Network:
        """The services of this world; the PLC directory starts on first access."""
        if self._network is None:
            self._network = Network(self.runtime)
        return self._network

    @property
    def started(self) -> bool:
        """True once the network has been started (a scenario may never need it)."""
        return self._network is not None

    @property
    def plc(self) -> PlcClient:
        """A client of the network's PLC directory."""
        if self._plc is None:
            self._plc = PlcClient(self.network.plc.url, timeout=self.settings.request_timeout)
        return self._plc

    # -- scenario bookkeeping ------------------------------------------------

    def begin_scenario(self, name: str) -> None:
        """Reset what belongs to one scenario (transcript, last attempt); keep the network."""
        self.scenario = name
        self._prefetch_errors.clear()  # an earlier scenario's failed account is that scenario's story
        self.transcript = []
        self.last_attempt = None
        self.current_step = ""
        self.close_window()
        self._last_step_type = ""

    def begin_step(self, text: str, step_type: str) -> None:
        """Note the running step; the first When-step of a group opens a new event window.

        Firehose expectations ("shows ...") look at events after each PDS's
        head at the start of the latest group of When-steps: the outcome of the
        action, not history (see :mod:`atproto_bdd.world.windows`). With an
        AppView, what the Given-steps wrote is indexed before the first When-step.
        """
        self.current_step = text
        if step_type == "when" and self._last_step_type != "when":
            if self._appview is not None:
                # The Given-state is indexed before the action: the AppView indexes each account's events
                # on its own queue, so a reply written right after its parent could be indexed first and
                # miss its notification - a race production does not have with posts that are not new.
                self._appview.wait_indexed()
            self.open_window()
        self._last_step_type = step_type

    def _record(self, exchange: XrpcExchange) -> None:
        self.transcript.append(exchange)

    def record(self, exchange: XrpcExchange) -> None:
        """Add an exchange to the scenario's transcript (clients of apps report here)."""
        self._record(exchange)

    # -- PDSes -----------------------------------------------------------------

    @property
    def pdses(self) -> Mapping[str, Pds]:
        """The network's PDSes by name (read-only view)."""
        return MappingProxyType(self._pdses)

    def add_pds(
        self,
        name: str,
        *,
        rate_limits: bool = False,
        capture_email: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> Pds:
        """Start a new PDS called ``name``.

        ``rate_limits`` turns the PDS's rate limiting on (the framework's own
        calls bypass it); ``capture_email`` sends its mail to the run's SMTP
        capture (:attr:`mail`); ``extra_env`` takes the PDS's ``PDS_*`` settings.
        """
        if name in self._pdses:
            raise UsageError(f"PDS {name} already exists in this network")
        smtp_url = self.runtime.mail_capture().smtp_url if capture_email else None
        spec = PdsSpec(name=name, rate_limits=rate_limits, smtp_url=smtp_url, extra_env=dict(extra_env or {}))
        service = self.network.add_pds(spec)
        return self._adopt_pds(service, self.runtime.mail_capture() if capture_email else None)

    def _adopt_pds(self, service: PdsService, mail: Mailbox | None = None) -> Pds:
        """The world's client of a running PDS, known by its name from now on."""
        pds = Pds(service, timeout=self.settings.request_timeout, recorder=self._record, mail=mail)
        self._pdses[service.name] = pds
        return pds

    def ensure_pds(self, name: str, *, rate_limits: bool = False, capture_email: bool = False) -> Pds:
        """The PDS called ``name``, started first if the network does not have it yet.

        An existing PDS must have been started with the same options.
        """
        existing = self._pdses.get(name)
        if existing is None:
            return self.add_pds(name, rate_limits=rate_limits, capture_email=capture_email)
        spec = existing.service.spec
        if spec.rate_limits != rate_limits or bool(spec.smtp_url) != capture_email:
            raise UsageError(
                f"PDS {name} already exists with rate limits {'on' if spec.rate_limits else 'off'} and email "
                f"capture {'on' if spec.smtp_url else 'off'}: declare it once, with the options it needs"
            )
        return existing

    @property
    def mail(self) -> Mailbox:
        """The run's email capture: what PDSes declared with ``capture_email`` have sent."""
        return self.runtime.mail_capture()

    def pds(self, name: str | None = None) -> Pds:
        """The PDS called ``name``; without a name, the network's only PDS."""
        if name is None:
            return self.default_pds(create=False)
        try:
            return self._pdses[name]
        except KeyError:
            raise UsageError.unknown("PDS", name, self._pdses, "declare it first: Given a PDS named " + name) from None

    def default_pds(self, *, create: bool = True) -> Pds:
        """The only PDS of the network; PDS ``A`` is started if there is none and ``create``."""
        if not self._pdses:
            if create:
                return self.add_pds(DEFAULT_PDS_NAME)
            raise UsageError("this network has no PDS yet (declare one: Given a PDS named A)")
        if len(self._pdses) > 1:
            names = ", ".join(sorted(self._pdses))
            raise UsageError(f"this network has several PDSes ({names}): say which one to use")
        return next(iter(self._pdses.values()))

    # -- the relay -------------------------------------------------------------

    @property
    def has_relay(self) -> bool:
        """True once the network has a relay."""
        return self._relay is not None

    @property
    def relay(self) -> Relay:
        """The network's relay."""
        if self._relay is None:
            raise UsageError("this network has no relay yet (declare one: Given a relay crawling PDS A)")
        return self._relay

    def add_relay(self, *pds_names: str) -> Relay:
        """Start the network's relay crawling the named PDSes, or make the running relay crawl them too.

        Declare the relay before the accounts whose creation it should see: it
        subscribes to each PDS's live stream.
        """
        service = self.network.add_relay(list(pds_names))
        if self._relay is None:
            self._relay = Relay(service, timeout=self.settings.request_timeout, recorder=self._record)
        else:
            self._relay.service = service
        self.note_relay_start()
        return self._relay

    # -- the AppView ------------------------------------------------------------------

    @property
    def has_appview(self) -> bool:
        """True once the network has an AppView."""
        return self._appview is not None

    @property
    def appview(self) -> AppView:
        """The network's AppView."""
        if self._appview is None:
            raise UsageError("this network has no AppView yet (declare one first: Given an AppView)")
        return self._appview

    def add_appview(self) -> AppView:
        """Start the network's AppView (before its PDSes, which are configured with it); idempotent."""
        if self._appview is None:
            self._appview = AppView(self, self.network.add_appview())
        return self._appview

    # -- Jetstream and Tap (on the relay) ------------------------------------------

    @property
    def has_jetstream(self) -> bool:
        """True once the network has Jetstream."""
        return self._jetstream is not None

    @property
    def jetstream(self) -> Jetstream:
        """The network's Jetstream."""
        if self._jetstream is None:
            raise UsageError("this network has no Jetstream yet (declare it first: Given Jetstream on the relay)")
        return self._jetstream

    def add_jetstream(self) -> Jetstream:
        """Start Jetstream on the network's relay; idempotent."""
        if self._jetstream is None:
            self._jetstream = Jetstream(self, self.network.add_jetstream())
        return self._jetstream

    @property
    def has_tap(self) -> bool:
        """True once the network has Tap."""
        return self._tap is not None

    @property
    def tap(self) -> Tap:
        """The network's Tap."""
        if self._tap is None:
            raise UsageError("this network has no Tap yet (declare it first: Given Tap tracking alice.test)")
        return self._tap

    def add_tap(self, collection_filters: tuple[str, ...] = (), *, spec: TapSpec | None = None) -> Tap:
        """Start Tap on the network's relay (keeping only ``collection_filters`` if given); idempotent.

        ``spec`` says more (webhook mode: :meth:`add_tap_webhook`); a running
        Tap configured otherwise is refused.
        """
        if spec is None and (collection_filters or self._tap is None):
            spec = TapSpec(collection_filters=collection_filters)
        before = {consumer.get("id") for consumer in self.relay.consumers()} if self._tap is None else set()
        service = self.network.add_tap(spec)
        if self._tap is None:
            self._tap = Tap(self, service)
            self._tap.wait_subscribed(before)
        return self._tap

    def add_tap_webhook(self, collection: str, app: str, path: str) -> Tap:
        """Start Tap sending ``collection``'s records to the app ``app`` at ``path``, as apps built on Tap run it.

        Tap tracks every account that writes ``collection`` (signal
        collection), keeps only that collection, and POSTs each event to the
        app's URL + ``path`` with basic auth ``admin:${tap.admin_password}``.
        The app's port is chosen now if it has not started yet, so the app
        can start after Tap with ``${tap.url}`` in its env.
        """
        if not path.startswith("/"):
            raise UsageError(f"the webhook path {path!r} must start with / (the app's route, like /api/webhook)")
        url = self.app(app).reserve_url() + path
        spec = TapSpec(collection_filters=(collection,), signal_collection=collection, webhook_url=url)
        return self.add_tap(spec=spec)

    # -- apps under test -----------------------------------------------------------

    @property
    def apps(self) -> Mapping[str, App]:
        """The apps this world has used, by name (read-only view)."""
        return MappingProxyType(self._apps)

    def app(self, name: str) -> App:
        """The declared app called ``name`` (not started: see :meth:`App.start`).

        An app whose ``scope`` is ``feature`` or ``run`` comes from
        :attr:`app_scopes` and keeps running after this world's scenario.
        """
        if name not in self._apps:
            spec = self.app_config.app(name)
            if spec.scope != "scenario" and self.app_scopes is not None:
                self._apps[name] = self.app_scopes.get(self, spec)
            else:
                self._apps[name] = App(self, spec)
        return self._apps[name]

    def app_with_did(self, did: str) -> App | None:
        """The app of this world whose DID is ``did``, if any (started apps only)."""
        for app in self._apps.values():
            if app.has_did and app.did == did:
                return app
        return None

    def _owns(self, app: App) -> bool:
        return app.spec.scope == "scenario" or self.app_scopes is None

    def end_scenario(self) -> None:
        """Stop the scenario's own apps (a network shared by a feature keeps running; so do longer-lived apps)."""
        for name, app in list(self._apps.items()):
            del self._apps[name]
            if self._owns(app):
                try:
                    app.close()
                except Exception:  # the next app must still stop
                    pass

    # -- feeds and labelers ------------------------------------------------------------

    def feed(self, handle: str, rkey: str) -> Feed:
        """The feed ``rkey`` of the account ``handle`` (its ``app.bsky.feed.generator`` record)."""
        return Feed(self, self.account(handle), rkey)

    def publish_feed(self, handle: str, rkey: str, app: str, display_name: str = "") -> Feed:
        """Create ``handle``'s feed ``rkey`` served by the app ``app`` (its DID); the feed."""
        publish(self.account(handle), rkey, self.app(app).did, display_name)
        return self.feed(handle, rkey)

    def labeler(self, app: str) -> Labeler:
        """The labeler the app ``app`` runs."""
        return Labeler(self, self.app(app))

    # -- accounts --------------------------------------------------------------

    @property
    def accounts(self) -> Mapping[str, Account]:
        """Accounts by (lower-case) handle (read-only view)."""
        return MappingProxyType(self._accounts)

    def account(self, handle: str) -> Account:
        """The account with ``handle``."""
        try:
            return self._accounts[handle.lower()]
        except KeyError:
            raise UsageError.unknown(
                "account", handle, self._accounts, "create it first: Given an account " + handle
            ) from None

    def create_account(
        self,
        handle: str,
        pds: str | None = None,
        *,
        password: str | None = None,
        email: str | None = None,
    ) -> Account:
        """Create an account on PDS ``pds`` (default: the only PDS) through createAccount.

        Asking for a handle the PDS already has goes to the PDS, which refuses it.
        """
        key = handle.lower()
        target = self.pds(pds) if pds is not None else self.default_pds()
        existing = self._accounts.get(key)
        if existing is not None and existing.pds is not target:
            # Handles are unique per PDS, but the world names accounts by handle alone.
            raise UsageError(f"account {handle} already exists on PDS {existing.pds.name}")
        password = masker.register(password) if password else masker.new_secret(12)
        email = email or f"{key}@example.com"
        output = target.xrpc_post(
            "com.atproto.server.createAccount",
            {"handle": handle, "email": email, "password": password},
            headers=target.internal_headers(),
        )
        account = Account(target, output["handle"], output["did"], password, email, Session.from_output(output))
        return self._adopt_account(key, account)

    def _adopt_account(self, key: str, account: Account) -> Account:
        """Know ``account`` by ``key`` (its lower-case handle), in the world and on its PDS."""
        self._accounts[key] = account
        account.pds.accounts[key] = account
        return account

    def prefetch_accounts(self, wanted: Sequence[tuple[str, str | None]]) -> None:
        """Create the accounts of ``wanted`` (handle, PDS name or None) that do not exist yet, all at once.

        The PDS hashes each password off its event loop, so two accounts take
        little more than one. Only accounts on PDSes that already run are made
        here; one that fails keeps its error, and :meth:`ensure_account` for that
        handle raises it - so the step that asked for it fails, not the one that
        happened to create it.
        """
        todo: dict[str, str | None] = {}
        for handle, pds in wanted:
            key = handle.lower()
            if key in self._accounts or key in todo or key in self._prefetch_errors:
                continue
            if (pds is None and len(self._pdses) != 1) or (pds is not None and pds not in self._pdses):
                continue
            todo[key] = pds
        if len(todo) < 2:
            return
        with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="atproto-bdd-account") as pool:
            futures = {key: pool.submit(self.create_account, key, pds) for key, pds in todo.items()}
        for key, future in futures.items():
            error = future.exception()
            if error is not None:
                self._prefetch_errors[key] = error

    def ensure_account(self, handle: str, pds: str | None = None) -> Account:
        """The account with ``handle``, created first if needed; it must be on ``pds`` if given."""
        failed = self._prefetch_errors.pop(handle.lower(), None)
        if failed is not None:
            raise failed
        existing = self._accounts.get(handle.lower())
        if existing is None:
            return self.create_account(handle, pds)
        if pds is not None and existing.pds.name != pds:
            raise UsageError(f"account {handle} already exists on PDS {existing.pds.name}, not on PDS {pds}")
        return existing

    def event_query(
        self,
        kind: str = "commit",
        handle: str | None = None,
        *,
        action: str | None = None,
        collection: str | None = None,
        status: str | None = None,
    ) -> EventQuery:
        """An :class:`EventQuery` about ``handle``'s account (which part of a stream counts is the window's job)."""
        return EventQuery(
            require_event_type(kind),
            did=self.account(handle).did if handle else None,
            action=action,
            collection=collection,
            status=status,
        )

    def name_of(self, did: str) -> str:
        """The handle of the account with ``did``, or the DID itself if it is not ours."""
        for account in self._accounts.values():
            if account.did == did:
                return account.handle
        return did

    def did_document(self, handle: str) -> DidDocument:
        """The DID document of an account, as the network's PLC directory serves it."""
        return self.plc.document(self.account(handle).did)

    def resolve_did(self, did: str) -> DidDocument:
        """The DID document of any DID: did:plc from the network's PLC directory, did:web from its host."""
        if did.startswith("did:plc:"):
            return self.plc.document(did)
        if did.startswith("did:web:"):
            return fetch_did_web(did, timeout=self.settings.request_timeout)
        raise UsageError(f"cannot resolve {did!r}: atproto uses did:plc and did:web")

    def describe_uri(self, uri: str) -> str:
        """An AT-URI with its account's handle, for messages (``at://... (bob.test's app.bsky.feed.post)``)."""
        parts = uri.removeprefix("at://").split("/")
        if len(parts) == 3:
            owner = self.name_of(parts[0])
            return f"{uri} ({owner}'s {parts[1]})" if owner != parts[0] else uri
        return uri

    # -- waiting ----------------------------------------------------------------------

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

    # -- attempts and placeholders -----------------------------------------------

    def attempt(self, action: str, call: Callable[[], T]) -> Attempt:
        """Run ``call``, keeping an XRPC error instead of raising it (for "tries to" steps)."""
        try:
            self.last_attempt = Attempt(action, result=call())
        except XrpcError as error:
            self.last_attempt = Attempt(action, error=error)
        return self.last_attempt

    def resolve(self, text: str, *, extra: Mapping[str, str] | None = None) -> str:
        """Replace ``${...}`` placeholders in ``text`` (``extra``: more names, such as an app's ``run_dir``)."""
        return placeholders.resolve_text(text, self, extra=extra)

    def resolve_data(self, data: Any) -> Any:
        """Replace placeholders in every string inside parsed data."""
        return placeholders.resolve_data(data, self)

    # -- snapshots (world/snapshots.py) -------------------------------------------------

    def snapshot(self) -> WorldSnapshot:
        """Copy this world's network and accounts, for :meth:`restore` into other worlds.

        Only a network of PDSes and accounts can be copied: a world with a relay, an
        AppView, Jetstream, Tap, apps, an email-capturing PDS or OAuth sessions raises
        :class:`~atproto_bdd.errors.UsageError` saying which.
        """
        if not self.started:
            raise UsageError("this world has no network to copy yet")
        if self._apps:
            raise UsageError(f"a snapshot cannot hold apps; this world has {', '.join(sorted(self._apps))}")
        for pds in self._pdses.values():
            if pds.service.spec.smtp_url:
                raise UsageError(f"a snapshot cannot hold the run's captured email; PDS {pds.name} sends it there")
        for account in self._accounts.values():
            if account.has_oauth_session:
                raise UsageError(f"a snapshot cannot hold OAuth sessions; {account.handle} has one")
        network = self.network.snapshot()
        accounts = tuple(
            AccountState(
                pds=account.pds.name,
                handle=account.handle,
                did=account.did,
                password=account.password,
                email=account.email,
                access_jwt=account.session.access_jwt,
                refresh_jwt=account.session.refresh_jwt,
                records=tuple(account.records),
                blobs=tuple(account.blobs),
            )
            for account in self._accounts.values()
        )
        return WorldSnapshot(network, accounts, tuple(self.transcript))

    def restore(self, snapshot: WorldSnapshot) -> None:
        """Give this new world the state of ``snapshot``, in new services (a copy: the snapshot stays as it is)."""
        if self._network is not None:
            raise UsageError("a snapshot is restored into a new world, before its network starts")
        self._network = Network.restored(self.runtime, snapshot.network)
        for service in self._network.pdses.values():
            self._adopt_pds(service)
        for state in snapshot.accounts:
            pds = self._pdses[state.pds]
            account = Account(pds, state.handle, state.did, state.password, state.email, state.session())
            account.records.extend(state.records)
            account.blobs.extend(state.blobs)
            self._adopt_account(state.handle.lower(), account)
        self.transcript.extend(snapshot.transcript)
        self.restored = True

    # -- lifecycle -------------------------------------------------------------------

    def close(self, *, wait: bool = False) -> None:
        """Stop the world's apps, close clients and stop the network's services (whatever fails on the way).

        Apps kept in :attr:`app_scopes` belong to their feature or run and keep running.
        """
        own_apps = [app for app in self._apps.values() if self._owns(app)]
        self._apps.clear()
        clients: list[Any] = [*own_apps, self._jetstream, self._tap, *self._pdses.values(), self._relay, self._plc]
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
