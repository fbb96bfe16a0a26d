"""OAuth: an account's DPoP-bound session from its PDS's authorization server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..protocol.oauth import OAuthClient, OAuthTokens
from .bsky import POST, post_record
from .records import RecordRef, RecordsMixin

if TYPE_CHECKING:
    from .account import Account


class OAuthSession:
    """The tokens an account obtained through OAuth, and calls made with them."""

    def __init__(self, account: Account, client: OAuthClient, tokens: OAuthTokens) -> None:
        self.account = account
        self.client = client
        self.tokens = tokens

    @classmethod
    def sign_in(cls, account: Account, password: str | None = None) -> OAuthSession:
        """The whole flow for ``account``: PAR with PKCE, sign-in and consent, token exchange."""
        client = account.pds.oauth_client(f"OAuth {account.handle}")
        return cls(account, client, client.authenticate(account.handle, password or account.password))

    def xrpc_get(self, nsid: str, params: dict[str, Any] | None = None, *, proof: bool = True) -> Any:
        """An XRPC query with the session's access token (and a DPoP proof unless ``proof`` is False)."""
        return self.client.xrpc_get(nsid, self.tokens.access_token, params, proof=proof)

    def xrpc_post(self, nsid: str, body: Any = None, *, proof: bool = True) -> Any:
        """An XRPC procedure with the session's access token (and a DPoP proof unless ``proof`` is False)."""
        return self.client.xrpc_post(nsid, self.tokens.access_token, body, proof=proof)

    def create_record(self, collection: str, record: dict[str, Any]) -> RecordRef:
        """Create a record through the OAuth session; the account remembers it like its own."""
        body = {"repo": self.account.did, "collection": collection, "record": {"$type": collection, **record}}
        output = self.xrpc_post("com.atproto.repo.createRecord", body)
        return self.account.remember(RecordRef(output["uri"], output["cid"]))

    def post(self, text: str) -> RecordRef:
        """Create an ``app.bsky.feed.post`` through the OAuth session."""
        return self.create_record(POST, post_record(text))

    def refresh(self) -> OAuthTokens:
        """Exchange the refresh token for new tokens."""
        self.tokens = self.client.refresh_tokens(self.tokens.refresh_token)
        return self.tokens

    def revoke(self) -> None:
        """Revoke the session (its access and refresh tokens)."""
        self.client.revoke_token(self.tokens.refresh_token)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


class OAuthMixin(RecordsMixin):
    """Signing in through OAuth, and the account's latest OAuth session."""

    _oauth: OAuthSession | None

    def sign_in_with_oauth(self, password: str | None = None) -> OAuthSession:
        """Sign in through OAuth (PAR, PKCE, sign-in and consent, DPoP-bound tokens)."""
        self._oauth = OAuthSession.sign_in(self, password)  # type: ignore[arg-type]
        return self._oauth

    @property
    def has_oauth_session(self) -> bool:
        """True once the account has signed in with OAuth."""
        return self._oauth is not None

    @property
    def oauth(self) -> OAuthSession:
        """The account's latest OAuth session."""
        if self._oauth is None:
            raise UsageError(f"{self.handle} has not signed in with OAuth yet (When {self.handle} signs in with OAuth)")
        return self._oauth
