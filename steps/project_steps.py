"""An example of a project's own steps on top of atproto-bdd's world API.

A project that stores its own records (here ``com.example.project``) adds
steps in its domain language; ``context.atproto`` gives them the accounts,
PDSes and XRPC calls. ``atproto_step`` is optional: it turns library errors
into one-line failures that name the step.
"""

from __future__ import annotations

from typing import Any

from behave import then, when

from atproto_bdd import XrpcError
from atproto_bdd.steps.support import atproto_step
from atproto_bdd.world.records import now_iso

PROJECT = "com.example.project"


@when('{handle:Handle} starts a project called "{name}"')
@atproto_step
def start_project(context: Any, handle: str, name: str) -> None:
    """Creates a com.example.project record owned by HANDLE."""
    account = context.atproto.account(handle)
    account.create_record(PROJECT, {"name": name, "owner": account.did, "createdAt": now_iso()})


@then('{handle:Handle} has a project called "{name}"')
@atproto_step
def has_project(context: Any, handle: str, name: str) -> None:
    """Lists HANDLE's com.example.project records on their PDS and looks for NAME."""
    names = [record.value.get("name") for record in context.atproto.account(handle).list_records(PROJECT)]
    assert name in names, f"{handle}'s projects are {names}, none is called {name!r}"


@then("{handle:Handle} has no project with record key {rkey}")
@atproto_step
def has_no_project(context: Any, handle: str, rkey: str) -> None:
    """Asks HANDLE's PDS for a project record that must not exist (expects RecordNotFound)."""
    account = context.atproto.account(handle)
    try:
        record = account.get_record(PROJECT, rkey)
    except XrpcError as error:
        assert error.error == "RecordNotFound", f"expected RecordNotFound, got {error}"
    else:
        raise AssertionError(f"{handle} has a project at {record.uri}: {record.value}")


@then('PDS {pds:PdsName} offers handles ending in "{suffix}"')
@atproto_step
def pds_offers_suffix(context: Any, pds: str, suffix: str) -> None:
    """Reads describeServer from PDS PDS and checks its available handle domains."""
    domains = context.atproto.pds(pds).xrpc_get("com.atproto.server.describeServer")["availableUserDomains"]
    assert suffix in domains, f"PDS {pds} offers {domains}"
