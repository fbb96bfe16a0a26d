"""Test-speed password hashing (the ``fast_password_hash`` setting; services/node/host/password_hash.js).

On both PDS lines, with the setting on and off: the host memoizes the PDS's
password hashes per password only when it is on (two accounts with one
password get one hash, read from the PDS's account database), every stored
hash is a real scrypt hash of its password, and the PDS's own checks still
hold: the right password signs in, a wrong one is refused, a changed or
reset password works (and the old one no longer does), app passwords work.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from types import SimpleNamespace
from typing import Any

import pytest

from atproto_bdd.errors import UsageError, XrpcError
from atproto_bdd.masking import masker
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.pds_lines import PDS_LINES
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.account import Account
from atproto_bdd.world.accounts import AccountsMixin

#: How each line's seam is installed (password_hash.js): the exports object, or a resolution hook.
SEAMS = {"0.4": "exports", "0.5": "resolve-hook"}
_handles = count()


@dataclass
class Hashing:
    line: str
    on: bool
    runtime: LocalRuntime
    world: World

    def report(self) -> dict[str, Any]:
        return self.runtime.host.call("pds.passwordHashing", {}, timeout=10)

    def account(self, password: str | None = None) -> Account:
        return self.world.create_account(f"hash{next(_handles)}.test", "A", password=password)

    def stored_hash(self, account: Account) -> str:
        """The account's ``passwordScrypt`` in its PDS's account database: ``salt:hash``."""
        assert self.runtime.run_dir is not None
        (data_dir,) = (self.runtime.run_dir / "data").glob("A-*")
        connection = sqlite3.connect(f"file:{data_dir / 'account.sqlite'}?mode=ro", uri=True)
        try:
            (row,) = connection.execute("SELECT passwordScrypt FROM account WHERE did = ?", (account.did,)).fetchall()
        finally:
            connection.close()
        return str(row[0])


@pytest.fixture(
    scope="module",
    params=[(line, on) for line in sorted(PDS_LINES) for on in (True, False)],
    ids=lambda param: f"{param[0]}-{'on' if param[1] else 'off'}",
)
def hashing(request: pytest.FixtureRequest) -> Iterator[Hashing]:
    line, on = request.param
    runtime = LocalRuntime(Settings.load({"pds_version": line, "fast_password_hash": "true" if on else "false"}))
    runtime.start()
    world = World(runtime)
    world.add_pds("A", capture_email=True)
    try:
        yield Hashing(line, on, runtime, world)
    finally:
        world.close()
        runtime.close()


def new_password() -> str:
    return secrets.token_urlsafe(12)


def is_scrypt_of(password: str, stored: str) -> bool:
    """Whether ``salt:hash`` is Node.js's scrypt (N=16384, r=8, p=1, 64 bytes) of ``password`` with that salt."""
    salt, derived = stored.split(":")
    return hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=8, p=1, dklen=64).hex() == derived


def refused(account: Account, password: str) -> str | None:
    """The PDS's error for signing in as ``account`` with ``password``; None if it signed in."""
    try:
        account.sign_in(password)
    except XrpcError as error:
        return error.error
    return None


# -- the setting ---------------------------------------------------------------------------------------


def test_the_setting_is_on_by_default_and_read_like_the_others() -> None:
    assert Settings.load({}, environ={}).fast_password_hash is True
    assert Settings.load({"fast_password_hash": "false"}, environ={}).fast_password_hash is False
    assert Settings.load({}, environ={"ATPROTO_BDD_FAST_PASSWORD_HASH": "0"}).fast_password_hash is False
    # Userdata wins over the environment.
    on = Settings.load({"fast_password_hash": "on"}, environ={"ATPROTO_BDD_FAST_PASSWORD_HASH": "off"})
    assert on.fast_password_hash is True
    with pytest.raises(UsageError, match="ATPROTO_BDD_FAST_PASSWORD_HASH='fast' must be true or false"):
        Settings.load({}, environ={"ATPROTO_BDD_FAST_PASSWORD_HASH": "fast"})
    with pytest.raises(UsageError, match="did you mean fast_password_hash"):
        Settings.load({"fast_pasword_hash": "false"}, environ={})


def test_accounts_share_the_runs_password_only_when_the_memo_can_use_it() -> None:
    def password_of(**userdata: str) -> str:
        world = SimpleNamespace(settings=Settings.load(userdata, environ={}))
        return AccountsMixin._new_account_password(world)  # type: ignore[arg-type]  # noqa: SLF001

    shared = password_of()
    assert shared == password_of() and masker.mask(f"pw {shared}") == "pw ***"
    # Off, or where no host memoizes (the Docker runtime's PDS hashes in its container): one each, as before.
    assert password_of(fast_password_hash="false") not in (shared, password_of(fast_password_hash="false"))
    assert password_of(runtime="docker") != shared


# -- on a real network, both lines, on and off -----------------------------------------------------------


def test_the_host_memoizes_only_when_the_setting_is_on(hashing: Hashing) -> None:
    report = hashing.report()
    assert report["seam"] == SEAMS[hashing.line]  # the seam is installed either way, and used only when on
    assert report["on"] is hashing.on
    hashing.world.restart_pds("A")  # a restart starts the PDS with the same setting
    assert hashing.report()["on"] is hashing.on


def test_two_accounts_with_one_password_get_one_hash_only_when_on(hashing: Hashing) -> None:
    password = new_password()  # never used before in this host: the first account misses the memo
    before = hashing.report()
    first, second = hashing.account(password), hashing.account(password)
    other = hashing.account(new_password())
    after = hashing.report()
    hashes = [hashing.stored_hash(account) for account in (first, second)]
    assert all(is_scrypt_of(password, stored) for stored in hashes)
    assert is_scrypt_of(other.password, hashing.stored_hash(other))
    salts = {stored.split(":")[0] for stored in [*hashes, hashing.stored_hash(other)]}
    if hashing.on:
        assert hashes[0] == hashes[1]  # the second account reused the first one's hash
        assert len(salts) == 2  # another password: a hash of its own
        assert (after["misses"] - before["misses"], after["hits"] - before["hits"]) == (2, 1)
    else:
        assert len(salts) == 3  # a random salt for every account
        assert (after["misses"], after["hits"]) == (before["misses"], before["hits"]) == (0, 0)


def test_accounts_given_no_password_share_the_runs_password_only_when_on(hashing: Hashing) -> None:
    first, second = hashing.account(), hashing.account()
    assert (first.password == second.password) is hashing.on
    assert (hashing.stored_hash(first) == hashing.stored_hash(second)) is hashing.on
    assert is_scrypt_of(second.password, hashing.stored_hash(second))
    assert masker.mask(second.password) == "***"


def test_the_right_password_signs_in_and_a_wrong_one_is_refused(hashing: Hashing) -> None:
    password = new_password()
    first, second = hashing.account(password), hashing.account(password)  # the second one's hash: the memo's
    for account in (first, second):
        assert refused(account, password) is None
        assert refused(account, password + "x") == "AuthenticationRequired"
        assert refused(account, new_password()) == "AuthenticationRequired"


def test_a_changed_or_reset_password_works_and_the_old_one_no_longer_does(hashing: Hashing) -> None:
    old, new = new_password(), new_password()
    changed, reset, kept = hashing.account(old), hashing.account(old), hashing.account(old)
    # Changed by the PDS's admin (com.atproto.admin.updateAccountPassword) ...
    hashing.world.pds("A").admin_post("com.atproto.admin.updateAccountPassword", {"did": changed.did, "password": new})
    # ... and reset with the emailed token, to the same new password.
    reset.request_password_reset()
    reset.reset_password(reset.emailed_token("reset", hashing.world.settings.service_timeout), new)
    for account in (changed, reset):
        assert refused(account, new) is None
        assert refused(account, old) == "AuthenticationRequired"
        assert is_scrypt_of(new, hashing.stored_hash(account))
    assert refused(kept, old) is None  # the hash it shares (when on) was not touched
    assert refused(kept, new) == "AuthenticationRequired"
    # A new password goes through the same memo as a new account's.
    assert (hashing.stored_hash(changed) == hashing.stored_hash(reset)) is hashing.on


def test_app_passwords_sign_in_and_are_hashed_by_the_pds_alone(hashing: Hashing) -> None:
    password = new_password()
    first, second = hashing.account(password), hashing.account(password)
    before = hashing.report()
    app_passwords = [first.app_password(), second.app_password()]
    assert hashing.report() == before  # hashAppPassword does not go through the memo
    assert app_passwords[0] != app_passwords[1]
    for account, app_password in zip((first, second), app_passwords, strict=True):
        assert refused(account, app_password) is None
        wrong = app_password[:-1] + ("a" if app_password[-1] != "a" else "b")  # one character off
        assert refused(account, wrong) == "AuthenticationRequired"
    assert refused(first, app_passwords[1]) == "AuthenticationRequired"  # another account's app password
