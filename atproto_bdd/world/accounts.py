"""The world's accounts by handle: created through the PDS, several at once, found again by handle."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType

from ..errors import UsageError, XrpcError
from ..masking import masker
from ..protocol.syntax import handle_problem
from .account import Account
from .events import EventQuery, require_event_type
from .session import Session


class AccountsMixin:
    """Accounts by (lower-case) handle, created on their PDS."""

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
        check_handle: bool = True,
    ) -> Account:
        """Create an account on PDS ``pds`` (default: the only PDS) through createAccount.

        The handle is checked first (``check_handle``): the specification's
        syntax, and the PDS's own rule for handles on its domain (``.test``),
        so a mistake names the handle and the rule, not whatever the PDS trips
        over. ``check_handle=False`` sends it anyway ("tries to" steps: the
        PDS's answer is what they check). Asking for a handle the PDS already
        has goes to the PDS, which refuses it.
        """
        key = handle.lower()
        target = self.pds(pds) if pds is not None else self.default_pds()
        if check_handle:
            refuse_bad_handle(handle, target.name, target.service.spec.handle_domains)
        existing = self._accounts.get(key)
        if existing is not None and existing.pds is not target:
            # Handles are unique per PDS, but the world names accounts by handle alone.
            raise UsageError(f"account {handle} already exists on PDS {existing.pds.name}")
        password = masker.register(password) if password else self._new_account_password()
        email = email or default_email(key)
        try:
            output = target.xrpc_post(
                "com.atproto.server.createAccount",
                {"handle": handle, "email": email, "password": password},
                headers=target.internal_headers(),
            )
        except XrpcError as exc:
            if exc.error == "HandleNotAvailable" and "reserved" in exc.message.lower():
                first = handle.split(".")[0]
                raise UsageError(
                    f"PDS {target.name} refuses the handle {handle}: {first!r} is one of the about 1,000 names the "
                    "PDS reserves for itself (such as admin, api, bot, support, test: @atproto/pds's "
                    f"handle/reserved list); pick another, such as {first}1.{handle.partition('.')[2]} or "
                    f"my{first}.{handle.partition('.')[2]}"
                ) from None
            raise
        account = Account(target, output["handle"], output["did"], password, email, Session.from_output(output))
        return self._adopt_account(key, account)

    def _new_account_password(self) -> str:
        """The password of an account given none: random, masked; one per run with ``fast_password_hash``.

        The host memoizes the PDS's password hashes per password (the
        ``fast_password_hash`` setting, ``services/node/host/password_hash.js``),
        which only pays when passwords repeat: so while it is on, the accounts
        of the local runtime that are given no password all get the run's
        password (random per run, masked like the others), and only the run's
        first account pays for scrypt. The cost: such accounts sign in with
        each other's passwords; code that tests that gives them passwords of
        their own (``password=``), and a run of features about it turns the
        setting off (the account steps give no password).
        """
        if self.settings.fast_password_hash and self.settings.runtime == "local":
            return run_password()
        return masker.new_secret(12)

    def _adopt_account(self, key: str, account: Account) -> Account:
        """Know ``account`` by ``key`` (its lower-case handle), in the world and on its PDS."""
        self._accounts[key] = account
        account.pds.accounts[key] = account
        account.directory = self.accounts  # mentions of the network's accounts resolve without a request
        return account

    def prefetch_accounts(self, wanted: Sequence[tuple[str, str | None]]) -> None:
        """Create the accounts of ``wanted`` (handle, PDS name or None) that do not exist yet, all at once.

        The PDS hashes each password off its event loop, so two accounts take
        little more than one. Only accounts on PDSes that already run are made
        here; one that fails keeps its error, and :meth:`ensure_account` for that
        handle raises it - so the step that asked for it fails, not the one that
        happened to create it.
        """
        if not self._pdses and any(pds is None for _, pds in wanted):
            # The short form (`Given an account alice.test`, no PDS step): PDS A starts now, as the first
            # account would start it, so the accounts are still made together (issue 40: it cost ~40 ms).
            self.default_pds(create=True)
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
        """An :class:`EventQuery` about ``handle``'s account (which part of a stream counts is the window's job).

        A ``collection`` that is nearly a known lexicon's name but none (a
        typo) is refused: a "shows no" check on it would pass whatever happened.
        """
        if collection is not None:
            self.lexicons.refuse_near_miss(collection)
        return EventQuery(
            require_event_type(kind),
            did=self.account(handle).did if handle else None,
            action=action,
            collection=collection,
            status=status,
        )


#: The length of the name before the domain of a handle a PDS gives on its own domain (``@atproto/pds``'s
#: ``ensureHandleServiceConstraints``: "Handle too short", "Handle too long").
SERVICE_NAME_LENGTH = (3, 18)


def refuse_bad_handle(handle: str, pds: str, domains: Sequence[str]) -> None:
    """A :class:`UsageError` naming ``handle`` and the rule it breaks, before PDS ``pds`` is asked to create it.

    The specification's syntax (:func:`~atproto_bdd.protocol.syntax.handle_problem`),
    then the PDS's rule for a handle on one of its ``domains``: one name of
    3 to 18 characters before the domain, without dots. Handles on other
    domains are the PDS's to judge (it resolves them).
    """
    problem = handle_problem(handle)
    if problem is not None:
        raise UsageError(f"{handle!r} is not a valid handle: {problem} (expected something like alice.test)")
    domain = next((domain for domain in domains if handle.lower().endswith(domain.lower())), None)
    if domain is None:
        return
    name = handle[: len(handle) - len(domain)]
    shortest, longest = SERVICE_NAME_LENGTH
    rule = (
        f"a handle on the PDS's domain {domain} is one name of {shortest} to {longest} letters, digits or hyphens "
        f"before {domain}, such as alice{domain} (@atproto/pds's rule)"
    )
    if len(name) > longest:
        why = f"handle too long ({len(handle)} > {longest + len(domain)} characters)"
    elif "." in name:
        why = f"{name!r} before {domain} has a dot"
    elif len(name) < shortest:
        why = f"handle too short ({len(handle)} < {shortest + len(domain)} characters)"
    else:
        return
    raise UsageError(f"PDS {pds} would refuse the handle {handle!r}: {why}; {rule}")


_run_password: str | None = None
_run_password_lock = threading.Lock()


def run_password() -> str:
    """This run's password for accounts given none (with ``fast_password_hash``): random, made once, masked.

    One per process: a run (and each worker of ``atproto-bdd run -j N``) is
    one process with one Node host, whose memo the password is for.
    """
    global _run_password
    with _run_password_lock:
        if _run_password is None:
            _run_password = masker.new_secret(12)
        return _run_password


def default_email(handle: str) -> str:
    """An account's address unless one is given: its handle, shortened to an address's 64-character local part.

    A long handle must fail on the PDS's handle rules, not on an address made up for it.
    """
    if len(handle) <= 64:
        return f"{handle}@example.com"
    digest = hashlib.sha256(handle.encode()).hexdigest()[:8]
    return f"{handle[:55]}-{digest}@example.com"
