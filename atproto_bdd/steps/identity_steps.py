"""Steps that check handles and DIDs: what resolves where."""

from __future__ import annotations

from typing import Any

from behave import then

from .support import atproto_step, world_of


@then("{handle:Handle}'s handle resolves to their DID on PDS {pds:PdsName}")
@atproto_step
def then_handle_resolves(context: Any, handle: str, pds: str) -> None:
    """Asks PDS PDS to resolve HANDLE (``com.atproto.identity.resolveHandle``) and compares the DID."""
    world = world_of(context)
    account = world.account(handle)
    resolved = world.pds(pds).resolve_handle(handle)
    assert resolved == account.did, f"PDS {pds} resolves {handle} to {resolved}, expected {account.did}"


@then("the DID document of {handle:Handle} names PDS {pds:PdsName} as its service endpoint")
@atproto_step
def then_did_document_names_pds(context: Any, handle: str, pds: str) -> None:
    """Reads HANDLE's DID document from the PLC directory and checks its ``#atproto_pds`` endpoint."""
    world = world_of(context)
    document = world.did_document(handle)
    expected = world.pds(pds).url
    assert document.pds_endpoint == expected, (
        f"{document.id} names {document.pds_endpoint} as its PDS, expected PDS {pds} at {expected}"
    )


@then("the DID document of {handle:Handle} claims the handle {claimed:Handle}")
@atproto_step
def then_did_document_claims_handle(context: Any, handle: str, claimed: str) -> None:
    """Reads HANDLE's DID document from the PLC directory and checks its ``alsoKnownAs`` handle."""
    document = world_of(context).did_document(handle)
    assert claimed in document.handles, f"{document.id} claims {document.handles}, expected {claimed}"
