"""Steps that declare the PDSes of a network."""

from __future__ import annotations

from typing import Any

from behave import given

from .support import atproto_step, world_of


@given("a PDS named {name:PdsName}")
@atproto_step
def given_a_pds(context: Any, name: str) -> None:
    """Starts a fresh PDS called NAME (``@atproto/pds``) in the scenario's network.

    The PDS runs in dev mode on ``http://localhost:<free port>``, accepts
    handles under ``.test`` without invite codes, and has a random admin
    password, JWT secret and PLC rotation key. If the network already has a
    PDS of that name (a network shared by ``@network:feature``), it is reused.
    """
    world_of(context).ensure_pds(name)
