"""Steps for OAuth with DPoP against the PDS's own authorization server.

"Signs in with OAuth" runs the whole flow a client application runs: a
pushed authorization request with PKCE, sign-in and consent on the PDS's
authorization page (through its own API, as the page's frontend calls it),
and the token exchange, every request with a DPoP proof.
"""

from __future__ import annotations

from typing import Any

from behave import then, when

from ..errors import XrpcError
from .support import atproto_step, world_of


@when("{handle:Handle} signs in with OAuth")
@atproto_step
def when_signs_in_with_oauth(context: Any, handle: str) -> None:
    """Runs the OAuth flow for HANDLE with a loopback client id; the session's tokens are DPoP-bound."""
    world_of(context).account(handle).sign_in_with_oauth()


@when('{handle:Handle} tries to sign in with OAuth with password "{password}"')
@atproto_step
def when_tries_oauth_with_password(context: Any, handle: str, password: str) -> None:
    """Runs the OAuth flow with PASSWORD; a refusal is kept for "Then the request ..."."""
    world = world_of(context)
    account = world.account(handle)
    world.attempt(f"{handle} signs in with OAuth", lambda: account.sign_in_with_oauth(password))


@when("{handle:Handle} tries to sign in with OAuth on PDS {pds:PdsName}")
@atproto_step
def when_tries_oauth_on_pds(context: Any, handle: str, pds: str) -> None:
    """Runs the OAuth flow on PDS PDS for HANDLE, which may not exist there; the outcome is kept."""
    world = world_of(context)
    target = world.pds(pds)

    def sign_in() -> Any:
        client = target.oauth_client(f"OAuth {handle}")
        try:
            return client.authenticate(handle, "not-the-password")
        finally:
            client.close()

    world.attempt(f"{handle} signs in with OAuth on PDS {pds}", sign_in)


@then("{handle:Handle}'s OAuth session can create a post")
@atproto_step
def then_oauth_session_can_post(context: Any, handle: str) -> None:
    """Creates a post with the OAuth access token and a DPoP proof, then reads it back from the PDS."""
    account = world_of(context).account(handle)
    ref = account.oauth.post("posted through OAuth with DPoP")
    stored = account.get(ref)
    assert stored.value.get("text") == "posted through OAuth with DPoP", f"{ref.uri} holds {stored.value}"


@then("a request with {handle:Handle}'s OAuth access token but without a DPoP proof fails with status {status:d}")
@atproto_step
def then_request_without_proof_fails(context: Any, handle: str, status: int) -> None:
    """Calls getSession with ``Authorization: DPoP <token>`` and no ``DPoP`` header; expects STATUS."""
    session = world_of(context).account(handle).oauth
    try:
        session.xrpc_get("com.atproto.server.getSession", proof=False)
    except XrpcError as error:
        assert error.status_code == status, f"the request failed with {error}, expected status {status}"
        return
    raise AssertionError(f"the request without a DPoP proof succeeded, expected status {status}")


@when("{handle:Handle}'s OAuth tokens are refreshed")
@atproto_step
def when_oauth_tokens_refreshed(context: Any, handle: str) -> None:
    """Exchanges HANDLE's refresh token for new tokens (refresh_token grant, with DPoP)."""
    world_of(context).account(handle).oauth.refresh()


@when("{handle:Handle}'s OAuth session is revoked")
@atproto_step
def when_oauth_session_revoked(context: Any, handle: str) -> None:
    """Revokes HANDLE's OAuth session at the revocation endpoint."""
    world_of(context).account(handle).oauth.revoke()


@then("{handle:Handle}'s OAuth session works")
@atproto_step
def then_oauth_session_works(context: Any, handle: str) -> None:
    """Calls ``com.atproto.server.getSession`` with HANDLE's current OAuth access token."""
    account = world_of(context).account(handle)
    session = account.oauth.xrpc_get("com.atproto.server.getSession")
    assert session.get("did") == account.did, f"the OAuth session belongs to {session.get('did')}, not {account.did}"


@then("{handle:Handle}'s OAuth session is rejected")
@atproto_step
def then_oauth_session_rejected(context: Any, handle: str) -> None:
    """Calls getSession with HANDLE's OAuth access token and expects the PDS to refuse it (401)."""
    session = world_of(context).account(handle).oauth
    try:
        output = session.xrpc_get("com.atproto.server.getSession")
    except XrpcError as error:
        assert error.status_code == 401, f"the OAuth session was refused with {error}, expected status 401"
        return
    raise AssertionError(f"the OAuth session still works: {output}")
