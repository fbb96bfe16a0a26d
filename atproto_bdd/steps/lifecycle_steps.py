"""Steps for an account's life: sign-in, deactivation, takedown by the PDS admin, deletion."""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..errors import UsageError, XrpcError
from ..world import World
from .support import atproto_step, world_of


def _sign_in_error(world: World, handle: str, password: str | None = None) -> XrpcError | None:
    """Sign in as a user would (no rate-limit bypass); the XRPC error, or None if it worked."""
    try:
        world.account(handle).sign_in(password, bypass_rate_limits=False)
    except XrpcError as error:
        return error
    return None


@then("{handle:Handle} can sign in")
@atproto_step
def then_can_sign_in(context: Any, handle: str) -> None:
    """Signs in as HANDLE with their current password (``com.atproto.server.createSession``)."""
    error = _sign_in_error(world_of(context), handle)
    assert error is None, f"signing in as {handle} failed: {error}"


@then('{handle:Handle} can sign in with password "{password}"')
@atproto_step
def then_can_sign_in_with(context: Any, handle: str, password: str) -> None:
    """Signs in as HANDLE with PASSWORD."""
    error = _sign_in_error(world_of(context), handle, password)
    assert error is None, f"signing in as {handle} with that password failed: {error}"


@then("signing in as {handle:Handle} fails with error {error:ErrorName}")
@then("signing in as {handle:Handle} fails with status {status:d} and error {error:ErrorName}")
@atproto_step
def then_sign_in_fails(context: Any, handle: str, error: str, status: int | None = None) -> None:
    """Signs in as HANDLE with their current password and expects the PDS's error ERROR (and STATUS)."""
    _assert_sign_in_fails(world_of(context), handle, None, error, status)


@then('signing in as {handle:Handle} with password "{password}" fails with error {error:ErrorName}')
@atproto_step
def then_sign_in_with_password_fails(context: Any, handle: str, password: str, error: str) -> None:
    """Signs in as HANDLE with PASSWORD and expects the PDS's error ERROR."""
    _assert_sign_in_fails(world_of(context), handle, password, error, None)


def _assert_sign_in_fails(world: World, handle: str, password: str | None, error: str, status: int | None) -> None:
    got = _sign_in_error(world, handle, password)
    wanted = f"{status} {error}" if status else error
    assert got is not None, f"signing in as {handle} worked, expected it to fail with {wanted}"
    assert got.error == error and status in (None, got.status_code), (
        f"signing in as {handle} failed with {got.status_code} {got.error} ({got.message}), expected {wanted}"
    )


@given("{handle:Handle} has deactivated their account")
@when("{handle:Handle} deactivates their account")
@atproto_step
def when_deactivates(context: Any, handle: str) -> None:
    """Deactivates HANDLE's account (``com.atproto.server.deactivateAccount``)."""
    world_of(context).account(handle).deactivate()


@when("{handle:Handle} reactivates their account")
@atproto_step
def when_reactivates(context: Any, handle: str) -> None:
    """Reactivates HANDLE's account (``com.atproto.server.activateAccount``)."""
    world_of(context).account(handle).activate()


#: What ``com.atproto.sync.getRepoStatus`` says an account is: active, or its status (the lexicon's known values).
ACCOUNT_STATES = ("active", "deactivated", "takendown", "suspended", "deleted", "desynchronized", "throttled")


@then("{handle:Handle}'s account is {state:Word}")
@atproto_step
def then_account_state(context: Any, handle: str, state: str) -> None:
    """Checks ``com.atproto.sync.getRepoStatus``: STATE is ``active``, ``deactivated``, ``takendown``..."""
    if state not in ACCOUNT_STATES:
        raise UsageError(f"unknown account state {state!r}; an account is one of: {', '.join(ACCOUNT_STATES)}")
    status = world_of(context).account(handle).status()
    actual = "active" if status.get("active") else status.get("status", "inactive")
    assert actual == state, f"{handle}'s account is {actual} ({status}), expected {state}"


@given("the admin of PDS {pds:PdsName} has taken down {handle:Handle}")
@when("the admin of PDS {pds:PdsName} takes down {handle:Handle}")
@atproto_step
def when_admin_takes_down(context: Any, pds: str, handle: str) -> None:
    """Takes HANDLE's account down as PDS PDS's admin (``com.atproto.admin.updateSubjectStatus``)."""
    world = world_of(context)
    world.pds(pds).takedown(world.account(handle).did)


@when("the admin of PDS {pds:PdsName} restores {handle:Handle}")
@atproto_step
def when_admin_restores(context: Any, pds: str, handle: str) -> None:
    """Reverses the takedown of HANDLE's account as PDS PDS's admin."""
    world = world_of(context)
    world.pds(pds).restore(world.account(handle).did)


@when("{handle:Handle} deletes their account")
@atproto_step
def when_deletes_account(context: Any, handle: str) -> None:
    """Deletes HANDLE's account for real: requests the deletion email, reads its token, deletes.

    Needs the account's PDS to capture email (``Given a PDS named A that captures email``).
    """
    world = world_of(context)
    account = world.account(handle)
    account.pds.require_mail()
    account.request_account_delete()
    account.delete_account(account.emailed_token("delete", world.settings.service_timeout))


@then("{handle:Handle}'s repository is gone")
@atproto_step
def then_repository_gone(context: Any, handle: str) -> None:
    """Checks the PDS no longer knows HANDLE's repository (getRepoStatus answers RepoNotFound)."""
    account = world_of(context).account(handle)
    try:
        status = account.status()
    except XrpcError as error:
        assert error.error == "RepoNotFound", f"getRepoStatus failed with {error}, expected RepoNotFound"
        return
    raise AssertionError(f"the PDS still has {handle}'s repository: {status}")


@when("{handle:Handle} exhausts the createSession rate limit")
@atproto_step
def when_exhausts_create_session(context: Any, handle: str) -> None:
    """Signs in as HANDLE, without the bypass key, until the PDS answers 429 (its budget is then spent)."""
    account = world_of(context).account(handle)
    account.pds.exhaust_rate_limit(lambda: account.sign_in(bypass_rate_limits=False))
