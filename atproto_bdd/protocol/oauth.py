"""An atproto OAuth client: PAR + PKCE, sign-in and consent, DPoP-bound tokens.

It plays both the client application and the user's browser, against the
PDS's own authorization server:

1. discovery (``/.well-known/oauth-protected-resource``, then the
   authorization server's metadata);
2. a pushed authorization request (PAR) with PKCE S256 and a DPoP proof;
3. the authorization page as a browser loads it, then the page's own JSON
   API for sign-in and consent, exactly as its frontend calls them (cookies,
   CSRF header, ``Sec-Fetch-*``, ``Referer``), and the redirect with the code;
4. the token exchange, refresh and revocation, each with a DPoP proof;
5. XRPC calls with ``Authorization: DPoP <token>`` and a proof carrying
   ``ath``; ``use_dpop_nonce`` answers are retried once with the new nonce.

The client id is a loopback client id, which the atproto OAuth profile allows
for development: ``http://localhost?redirect_uri=...&scope=...``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from ..errors import TransportError, XrpcError
from ..masking import masker
from .dpop import DPoPKey, PKCEChallenge
from .http import new_client
from .xrpc import Recorder, XrpcExchange, decode, error_from_response

REDIRECT_URI = "http://127.0.0.1/callback"
SCOPE = "atproto transition:generic"
PROVIDER_API = "/@atproto/oauth-provider/~api"
USER_AGENT = "atproto-bdd (OAuth test client)"


def loopback_client_id(redirect_uri: str = REDIRECT_URI, scope: str = SCOPE) -> str:
    """A development client id: no client metadata document, redirects to a loopback address."""
    return "http://localhost?" + urlencode({"redirect_uri": redirect_uri, "scope": scope}, quote_via=quote)


@dataclass(frozen=True)
class OAuthTokens:
    """What the token endpoint returned (tokens are masked in all output)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_type: str
    scope: str
    sub: str
    expires_in: int

    @classmethod
    def from_output(cls, output: Mapping[str, Any]) -> OAuthTokens:
        """Build from a token response."""
        return cls(
            masker.register(output["access_token"]),
            masker.register(output.get("refresh_token", "")),
            output.get("token_type", ""),
            output.get("scope", ""),
            output.get("sub", ""),
            int(output.get("expires_in", 0)),
        )


def _consent_body(signed_in: dict[str, Any]) -> dict[str, str]:
    """What the page posts to ``/consent``: the account's ``sub`` (oauth-provider of PDS 0.4), or ``did`` (0.5)."""
    account = signed_in.get("account") or {}
    if "sub" in account:
        return {"sub": account["sub"]}
    if "did" in account:
        return {"did": account["did"]}
    raise XrpcError(200, "UnexpectedSignIn", f"the sign-in answer names no account: {list(account)}", nsid="/sign-in")


class _BrowserCookies:
    """The cookies of one emulated browser.

    Kept by hand: the provider marks its CSRF cookie ``Secure`` even on
    ``http://localhost``, which a standard cookie jar would never send back.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def update(self, response: httpx.Response) -> None:
        for raw in response.headers.get_list("set-cookie"):
            first, *attributes = [part.strip() for part in raw.split(";")]
            name, _, value = first.partition("=")
            if not value or "max-age=0" in (a.lower() for a in attributes):
                self.values.pop(name, None)
            else:
                self.values[name] = value

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.values.items())


class OAuthClient:
    """An OAuth client of one PDS, holding one DPoP key."""

    def __init__(
        self,
        pds_url: str,
        *,
        client_id: str | None = None,
        redirect_uri: str = REDIRECT_URI,
        scope: str = SCOPE,
        dpop_key: DPoPKey | None = None,
        timeout: float = 15.0,
        recorder: Recorder | None = None,
        name: str = "",
    ) -> None:
        self.pds_url = pds_url.rstrip("/")
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.client_id = client_id or loopback_client_id(redirect_uri, scope)
        self.dpop_key = dpop_key or DPoPKey()
        self.recorder = recorder
        self.name = name or f"OAuth {self.pds_url}"
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self._http = new_client(timeout=timeout, follow_redirects=False, cookies=no_cookies)
        self._states: dict[str, str] = {}

    # -- discovery -----------------------------------------------------------------

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The authorization server's metadata (found through the PDS's protected-resource metadata)."""
        resource = self._json(self._send("GET", f"{self.pds_url}/.well-known/oauth-protected-resource"))
        issuer = resource["authorization_servers"][0]
        return self._json(self._send("GET", f"{issuer}/.well-known/oauth-authorization-server"))

    @property
    def issuer(self) -> str:
        """The authorization server's issuer URL."""
        return str(self.metadata["issuer"])

    # -- the authorization flow ----------------------------------------------------

    def pushed_authorization_request(
        self, pkce: PKCEChallenge, *, login_hint: str | None = None, state: str | None = None
    ) -> str:
        """Push the authorization request; returns its ``request_uri``."""
        state = state or secrets.token_urlsafe(16)
        form = {
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
        }
        if login_hint:
            form["login_hint"] = login_hint
        output = self._json(self._dpop("POST", self.metadata["pushed_authorization_request_endpoint"], data=form))
        request_uri = str(output["request_uri"])
        self._states[request_uri] = state
        return request_uri

    def authorize(self, request_uri: str, username: str, password: str) -> str:
        """Sign in and consent on the authorization page, as a browser would; returns the code."""
        cookies = _BrowserCookies()
        page = f"{self.issuer}/oauth/authorize?" + urlencode({"client_id": self.client_id, "request_uri": request_uri})
        navigate = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
        response = self._send("GET", page, headers={**navigate, "Sec-Fetch-Site": "cross-site", "Accept": "text/html"})
        cookies.update(response)
        if response.status_code != 200:
            raise _page_error(response, "GET /oauth/authorize")
        signed_in = self._json(
            self._page_api(cookies, page, "/sign-in", {"locale": "en", "username": username, "password": password})
        )
        consent = self._json(
            self._page_api(cookies, page, "/consent", _consent_body(signed_in), bearer=signed_in.get("ephemeralToken"))
        )
        redirect = self._send(
            "GET",
            consent["url"],
            headers={**navigate, "Sec-Fetch-Site": "same-origin", "Referer": page, "Cookie": cookies.header()},
        )
        location = redirect.headers.get("location", consent["url"])
        query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        if "error" in query or "code" not in query:
            raise XrpcError(
                redirect.status_code,
                query.get("error", "NoCode"),
                query.get("error_description", f"no code in {location}"),
                method="GET",
                nsid="/oauth/authorize/redirect",
            )
        expected_state = self._states.get(request_uri)
        if expected_state is not None and query.get("state") != expected_state:
            raise XrpcError(redirect.status_code, "StateMismatch", "the redirect carried another state", nsid="/oauth")
        return query["code"]

    def token_exchange(self, code: str, pkce: PKCEChallenge) -> OAuthTokens:
        """Exchange an authorization code for DPoP-bound tokens."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": pkce.verifier,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
        }
        return OAuthTokens.from_output(self._json(self._dpop("POST", self.metadata["token_endpoint"], data=form)))

    def refresh_tokens(self, refresh_token: str) -> OAuthTokens:
        """New tokens for a refresh token (the old ones stop working)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}
        return OAuthTokens.from_output(self._json(self._dpop("POST", self.metadata["token_endpoint"], data=form)))

    def revoke_token(self, token: str) -> None:
        """Revoke an access or refresh token (and with it the whole session)."""
        form = {"token": token, "client_id": self.client_id}
        self._json(self._dpop("POST", self.metadata["revocation_endpoint"], data=form))

    def authenticate(self, username: str, password: str, *, login_hint: str | None = None) -> OAuthTokens:
        """The whole flow: PAR, sign-in and consent, token exchange."""
        pkce = PKCEChallenge.generate()
        request_uri = self.pushed_authorization_request(pkce, login_hint=login_hint or username)
        return self.token_exchange(self.authorize(request_uri, username, password), pkce)

    # -- resource requests -------------------------------------------------------------

    def xrpc_get(
        self, nsid: str, access_token: str, params: Mapping[str, Any] | None = None, *, proof: bool = True
    ) -> Any:
        """An XRPC query with the access token (and, unless ``proof`` is False, a DPoP proof)."""
        return self._xrpc("GET", nsid, access_token, params=dict(params or {}), proof=proof)

    def xrpc_post(self, nsid: str, access_token: str, body: Any = None, *, proof: bool = True) -> Any:
        """An XRPC procedure with the access token (and, unless ``proof`` is False, a DPoP proof)."""
        return self._xrpc("POST", nsid, access_token, json=body, proof=proof)

    def _xrpc(self, method: str, nsid: str, access_token: str, *, proof: bool = True, **kwargs: Any) -> Any:
        url = f"{self.pds_url}/xrpc/{nsid}"
        if proof:
            response = self._dpop(method, url, access_token=access_token, **kwargs)
        else:
            response = self._send(method, url, headers={"Authorization": f"DPoP {access_token}"}, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response, method=method, nsid=nsid)
        return decode(response)

    # -- plumbing ------------------------------------------------------------------------

    def _page_api(
        self, cookies: _BrowserCookies, page: str, path: str, body: dict[str, Any], bearer: str | None = None
    ) -> httpx.Response:
        """A call of the authorization page's frontend to the provider's JSON API."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Origin": self.issuer,
            "Referer": page,
            "Sec-Fetch-Mode": "same-origin",
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Dest": "empty",
            "x-csrf-token": cookies.values.get("csrf-token", ""),
            "Cookie": cookies.header(),
        }
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = self._send("POST", f"{self.issuer}{PROVIDER_API}{path}", headers=headers, content=json.dumps(body))
        cookies.update(response)  # sign-in rotates the device cookies
        return response

    def _dpop(self, method: str, url: str, *, access_token: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send with a DPoP proof; answer ``use_dpop_nonce`` once with the server's new nonce."""
        response = None
        for _ in range(2):
            headers = dict(kwargs.pop("headers", None) or {})
            headers["DPoP"] = self.dpop_key.proof(method, url, access_token=access_token)
            if access_token:
                headers["Authorization"] = f"DPoP {access_token}"
            response = self._send(method, url, headers=headers, **kwargs)
            self.dpop_key.remember_nonce(url, response.headers.get("dpop-nonce"))
            if not _wants_nonce(response):
                return response
            kwargs["headers"] = {k: v for k, v in headers.items() if k not in ("DPoP", "Authorization")}
        assert response is not None
        return response

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"User-Agent": USER_AGENT, **(kwargs.pop("headers", None) or {})}
        started = time.perf_counter()
        try:
            response = self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {url} failed: {exc}") from None
        if self.recorder is not None:
            path = urlsplit(url).path
            error = error_from_response(response).error if response.status_code >= 400 else ""
            elapsed = (time.perf_counter() - started) * 1000
            self.recorder(XrpcExchange(self.name, method, path, response.status_code, error, "", elapsed))
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise error_from_response(
                response, method=response.request.method, nsid=urlsplit(str(response.request.url)).path
            )
        return response.json()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()


def _wants_nonce(response: httpx.Response) -> bool:
    # The authorization server answers 400 {"error": "use_dpop_nonce"}; the PDS
    # (resource server) answers 401 with it in WWW-Authenticate.
    if response.status_code not in (400, 401):
        return False
    if 'error="use_dpop_nonce"' in response.headers.get("www-authenticate", ""):
        return True
    return error_from_response(response).error == "use_dpop_nonce"


def _page_error(response: httpx.Response, where: str) -> XrpcError:
    """The authorization page shows errors as HTML with the error JSON embedded."""
    match = re.search(r'__errorData"\]=JSON\.parse\("(.*?)"\)', response.text)
    if match:
        try:
            data = json.loads(json.loads(f'"{match.group(1)}"'))
            return XrpcError(
                response.status_code,
                str(data.get("error", "")),
                str(data.get("error_description", "")),
                method="GET",
                nsid=where,
            )
        except ValueError:
            pass
    return XrpcError(response.status_code, "AuthorizationPageError", response.text[:300], method="GET", nsid=where)
