"""Steps that declare the PDSes of a network."""

from __future__ import annotations

from typing import Any

from behave import given

from .support import atproto_step, snapshot_safe, world_of


@given("a PDS named {name:PdsName}")
@snapshot_safe
@atproto_step
def given_a_pds(context: Any, name: str) -> None:
    """Starts a fresh PDS called NAME (``@atproto/pds``) in the scenario's network.

    The PDS runs in dev mode on ``http://localhost:<free port>``, accepts
    handles under ``.test`` without invite codes, and has a random admin
    password, JWT secret and PLC rotation key. If the network already has a
    PDS of that name (a network shared by ``@network:feature``), it is reused.
    """
    world_of(context).ensure_pds(name)


@given("a PDS named {name:PdsName} that captures email")
@atproto_step
def given_a_pds_capturing_email(context: Any, name: str) -> None:
    """Starts PDS NAME sending its email to the run's SMTP capture (a real SMTP server on 127.0.0.1).

    Email confirmation, password reset and account deletion then work for
    real: the steps read the token from the email the PDS sent.
    """
    world_of(context).ensure_pds(name, capture_email=True)


@given("a PDS named {name:PdsName} with rate limits")
@snapshot_safe
@atproto_step
def given_a_pds_with_rate_limits(context: Any, name: str) -> None:
    """Starts PDS NAME with its rate limits on, as in production.

    The framework's own calls (account creation, seeding, set-up sign-ins)
    carry the PDS's random bypass key and never spend budget; sign-ins in
    Then-steps do not.
    """
    world_of(context).ensure_pds(name, rate_limits=True)


@given("a PDS named {name:PdsName} with rate limits that captures email")
@atproto_step
def given_a_pds_with_rate_limits_capturing_email(context: Any, name: str) -> None:
    """Starts PDS NAME with its rate limits on and its email captured."""
    world_of(context).ensure_pds(name, rate_limits=True, capture_email=True)
