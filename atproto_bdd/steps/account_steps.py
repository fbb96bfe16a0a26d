"""Steps that create accounts."""

from __future__ import annotations

import re
from typing import Any

from behave import given, when

from ..protocol.syntax import HANDLE_PATTERN
from ..world import World
from .support import atproto_step, snapshot_safe, table_rows, world_of
from .types import PDS_NAME_PATTERN

ACCOUNT_STEP = re.compile(rf"^an account ({HANDLE_PATTERN})(?: on PDS ({PDS_NAME_PATTERN}))?$")


def _with_following_accounts(context: Any) -> World:
    """The world, after creating the accounts of this and the directly following account steps at once.

    Consecutive ``Given an account ...`` steps (background included) are
    created together (:meth:`~atproto_bdd.world.World.prefetch_accounts`); each
    step then finds its account, or fails with its own error.
    """
    world = world_of(context)
    step, scenario = getattr(context, "atproto_step", None), getattr(context, "scenario", None)
    steps = list(getattr(scenario, "all_steps", ()) or ())
    index = next((i for i, candidate in enumerate(steps) if candidate is step), None)
    if index is None:
        return world
    wanted: list[tuple[str, str | None]] = []
    for following in steps[index:]:
        match = ACCOUNT_STEP.match(following.name) if following.step_type == "given" else None
        if match is None:
            break
        wanted.append((match[1], match[2]))
    if len(wanted) > 1:
        world.prefetch_accounts(wanted)
    return world


@given("an account {handle:Handle} on PDS {pds:PdsName}")
@snapshot_safe
@atproto_step
def given_account_on_pds(context: Any, handle: str, pds: str) -> None:
    """Creates the account HANDLE on PDS PDS with ``com.atproto.server.createAccount``.

    The account gets a random password and the e-mail ``<handle>@example.com``.
    If it already exists on that PDS (a shared network) it is reused.
    Consecutive account steps create their accounts at the same time.
    The handle is checked before the PDS is asked: the handle syntax (at most
    253 characters, labels of 1 to 63) and, on the PDS's domain ``.test``,
    the PDS's rule (one name of 3 to 18 characters before ``.test``).
    """
    _with_following_accounts(context).ensure_account(handle, pds)


@given("an account {handle:Handle}")
@snapshot_safe
@atproto_step
def given_account(context: Any, handle: str) -> None:
    """Creates the account HANDLE on the network's only PDS (PDS ``A`` is started if there is none)."""
    _with_following_accounts(context).ensure_account(handle)


@given("the following accounts:")
@snapshot_safe
@atproto_step
def given_accounts_table(context: Any) -> None:
    """Creates every account in the table; columns ``handle`` and optionally ``pds``.

    Example::

        Given the following accounts:
          | handle     | pds |
          | alice.test | A   |
          | bob.test   | B   |

    The accounts are created at the same time; the first row the PDS refuses fails the step.
    """
    world = world_of(context)
    rows = [
        (row["handle"], row.get("pds") or None)
        for row in table_rows(context, world, required=["handle"], optional=["pds"])
    ]
    world.prefetch_accounts(rows)
    for handle, pds in rows:
        world.ensure_account(handle, pds)


@when("{handle:Handle} tries to create an account on PDS {pds:PdsName}")
@atproto_step
def when_try_create_account_on_pds(context: Any, handle: str, pds: str) -> None:
    """Asks PDS PDS to create HANDLE; the outcome is checked by "Then the request ..." steps."""
    world = world_of(context)
    target = world.pds(pds)
    world.attempt(
        f"create account {handle} on PDS {pds}", lambda: world.create_account(handle, target.name, check_handle=False)
    )


@when("{handle:Handle} tries to create an account")
@atproto_step
def when_try_create_account(context: Any, handle: str) -> None:
    """Asks the network's only PDS to create HANDLE; check the outcome with "Then the request ..."."""
    world = world_of(context)
    target = world.default_pds()
    world.attempt(
        f"create account {handle} on PDS {target.name}",
        lambda: world.create_account(handle, target.name, check_handle=False),
    )
