"""Steps that create accounts."""

from __future__ import annotations

from typing import Any

from behave import given, when

from .support import atproto_step, table_rows, world_of


@given("an account {handle:Handle} on PDS {pds:PdsName}")
@atproto_step
def given_account_on_pds(context: Any, handle: str, pds: str) -> None:
    """Creates the account HANDLE on PDS PDS with ``com.atproto.server.createAccount``.

    The account gets a random password and the e-mail ``<handle>@example.com``.
    If it already exists on that PDS (a shared network) it is reused.
    """
    world_of(context).ensure_account(handle, pds)


@given("an account {handle:Handle}")
@atproto_step
def given_account(context: Any, handle: str) -> None:
    """Creates the account HANDLE on the network's only PDS (PDS ``A`` is started if there is none)."""
    world_of(context).ensure_account(handle)


@given("the following accounts:")
@atproto_step
def given_accounts_table(context: Any) -> None:
    """Creates every account in the table; columns ``handle`` and optionally ``pds``.

    Example::

        Given the following accounts:
          | handle     | pds |
          | alice.test | A   |
          | bob.test   | B   |
    """
    world = world_of(context)
    for row in table_rows(context, world, required=["handle"], optional=["pds"]):
        world.ensure_account(row["handle"], row.get("pds") or None)


@when("{handle:Handle} tries to create an account on PDS {pds:PdsName}")
@atproto_step
def when_try_create_account_on_pds(context: Any, handle: str, pds: str) -> None:
    """Asks PDS PDS to create HANDLE; the outcome is checked by "Then the request ..." steps."""
    world = world_of(context)
    target = world.pds(pds)
    world.attempt(f"create account {handle} on PDS {pds}", lambda: world.create_account(handle, target.name))


@when("{handle:Handle} tries to create an account")
@atproto_step
def when_try_create_account(context: Any, handle: str) -> None:
    """Asks the network's only PDS to create HANDLE; check the outcome with "Then the request ..."."""
    world = world_of(context)
    target = world.default_pds()
    world.attempt(f"create account {handle} on PDS {target.name}", lambda: world.create_account(handle, target.name))
