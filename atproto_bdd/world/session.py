"""An account's identity and session: the base every account mixin builds on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import XrpcError
from ..masking import masker

if TYPE_CHECKING:
    from .pds import Pds

T = TypeVar("T")


@dataclass
class Session:
    """The JWTs of a signed-in account."""

    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)

    @classmethod
    def from_output(cls, output: Mapping[str, Any]) -> Session:
        """Build from createAccount / createSession / refreshSession output (tokens get masked)."""
        return cls(masker.register(output["accessJwt"]), masker.register(output["refreshJwt"]))


class AccountCore:
    """Who the account is (handle, DID, PDS, credentials) and its authenticated XRPC calls.

    The other parts of :class:`~atproto_bdd.world.account.Account` (records,
    lifecycle, email, OAuth, repository, blobs, app.bsky helpers) are mixins
    over this class.
    """

    def __init__(self, pds: Pds, handle: str, did: str, password: str, email: str, session: Session) -> None:
        self.pds = pds
        self.handle = handle
        self.did = did
        self.password = password
        self.email = email
        self.session = session
        self._app_password: str | None = None
        #: The accounts of the account's network by lower-case handle (the world's), for resolving mentions.
        self.directory: Mapping[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Account {self.handle} {self.did} on PDS {self.pds.name}>"

    def auth_headers(self) -> dict[str, str]:
        """Bearer credentials of the current session plus the framework's internal headers."""
        return {"authorization": f"Bearer {self.session.access_jwt}", **self.pds.internal_headers()}

    def xrpc_get(self, nsid: str, params: Mapping[str, Any] | None = None, *, proxy: str | None = None) -> Any:
        """XRPC query as this account; ``proxy`` (``did#service``): the PDS forwards it there (``atproto-proxy``)."""
        return self._authed(lambda: self.pds.client.query(nsid, params, headers=self._headers(proxy)))

    def _headers(self, proxy: str | None) -> dict[str, str]:
        return {**self.auth_headers(), **({"atproto-proxy": proxy} if proxy else {})}

    def service_auth(self, audience: str, lxm: str) -> str:
        """A service-auth JWT the account's PDS issues for ``audience`` (a DID) and method ``lxm``.

        This is what an AppView sends a feed generator or labeler on the
        user's behalf (``com.atproto.server.getServiceAuth``); it is masked.
        """
        from ..masking import masker

        token = self.xrpc_get("com.atproto.server.getServiceAuth", {"aud": audience, "lxm": lxm})["token"]
        return masker.register(token)

    def xrpc_post(self, nsid: str, body: Any = None, *, proxy: str | None = None, **kwargs: Any) -> Any:
        """XRPC procedure as this account; ``proxy`` (``did#service``): the PDS forwards it there."""
        return self._authed(lambda: self.pds.client.procedure(nsid, body, headers=self._headers(proxy), **kwargs))

    def sign_in(self, password: str | None = None, *, bypass_rate_limits: bool = True) -> Session:
        """Create a new session with ``com.atproto.server.createSession``.

        Sign-ins the framework makes for itself bypass rate limits; pass
        ``bypass_rate_limits=False`` to sign in as a user would.
        """
        headers = self.pds.internal_headers() if bypass_rate_limits else {}
        output = self.pds.xrpc_post(
            "com.atproto.server.createSession",
            {"identifier": self.handle, "password": password or self.password},
            headers=headers,
        )
        self.session = Session.from_output(output)
        return self.session

    def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle``: an account of the network, or what the account's PDS resolves; None if neither."""
        known = self.directory.get(handle.lower())
        if known is not None:
            return str(known.did)
        try:
            return str(self.pds.xrpc_get("com.atproto.identity.resolveHandle", {"handle": handle})["did"])
        except XrpcError:
            return None

    def app_password(self) -> str:
        """An app password of this account (``com.atproto.server.createAppPassword``), made once, masked.

        What a bot signs in with; it works with createSession like the account's password.
        """
        if self._app_password is None:
            output = self.xrpc_post("com.atproto.server.createAppPassword", {"name": "atproto-bdd"})
            self._app_password = masker.register(output["password"])
        return self._app_password

    def refresh_session(self) -> Session:
        """Exchange the refresh token for a new session."""
        output = self.pds.xrpc_post(
            "com.atproto.server.refreshSession",
            headers={"authorization": f"Bearer {self.session.refresh_jwt}", **self.pds.internal_headers()},
        )
        self.session = Session.from_output(output)
        return self.session

    def _authed(self, call: Callable[[], T]) -> T:
        """Run ``call``; if the access token expired, refresh the session once and run it again."""
        try:
            return call()
        except XrpcError as exc:
            if exc.error != "ExpiredToken":
                raise
        self.refresh_session()
        return call()
