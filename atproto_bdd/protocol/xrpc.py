"""A small synchronous XRPC client over httpx.

Queries are GETs, procedures POSTs; JSON responses are decoded, anything else
is returned as bytes. An error status raises :class:`XrpcError` carrying the
XRPC error name and message; a request that gets no answer raises
:class:`TransportError`. Every exchange can be reported to a recorder, which is
how the world keeps a per-scenario transcript.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import ServiceError, TransportError, XrpcError
from .http import new_client

JSON = "application/json"


@dataclass(frozen=True)
class XrpcExchange:
    """One request and its outcome, as kept in transcripts (no bodies, no credentials)."""

    service: str
    method: str
    nsid: str
    status: int
    error: str = ""
    message: str = ""
    duration_ms: float = 0.0

    def summary(self) -> str:
        """One line: ``POST com.atproto.repo.createRecord -> 200 (3.1 ms)``."""
        outcome = f"{self.status} {self.error}".strip() if self.status else self.error
        detail = f": {self.message}" if self.message else ""
        return f"[{self.service}] {self.method} {self.nsid} -> {outcome}{detail} ({self.duration_ms:.1f} ms)"


Recorder = Callable[[XrpcExchange], None]


class XrpcClient:
    """XRPC calls against one service (``base_url`` without ``/xrpc``)."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str = "",
        timeout: float = 15.0,
        headers: Mapping[str, str] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name or self.base_url
        self.recorder = recorder
        self.timeout = timeout
        self._http = new_client(base_url=self.base_url, timeout=timeout, headers=dict(headers or {}))

    def query(
        self, nsid: str, params: Mapping[str, Any] | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """Call an XRPC query (GET) and return its decoded output."""
        return decode(self.request("GET", nsid, params=params, headers=headers))

    def procedure(
        self,
        nsid: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Call an XRPC procedure (POST) with a JSON ``body`` or raw ``data``; return its decoded output."""
        return decode(
            self.request(
                "POST", nsid, params=params, json_body=body, data=data, content_type=content_type, headers=headers
            )
        )

    def request(
        self,
        method: str,
        nsid: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one XRPC request; return the response or raise XrpcError / TransportError."""
        all_headers = dict(headers or {})
        if content_type:
            all_headers["content-type"] = content_type
        started = time.perf_counter()
        try:
            response = self._http.request(
                method,
                f"/xrpc/{nsid}",
                params=_clean_params(params),
                json=json_body if data is None else None,
                content=data,
                headers=all_headers,
            )
        except httpx.TimeoutException:
            self._record(method, nsid, 0, "Timeout", "", started)
            raise TransportError(
                f"{method} {self.base_url}/xrpc/{nsid} got no answer within {self.timeout:g}s "
                "(the request_timeout setting: -D request_timeout=SECONDS)"
            ) from None
        except httpx.TransportError as exc:
            self._record(method, nsid, 0, "ConnectionFailed", str(exc), started)
            raise TransportError(f"{method} {self.base_url}/xrpc/{nsid} failed: {exc}") from None
        if response.status_code >= 400:
            error = error_from_response(response, method=method, nsid=nsid)
            self._record(method, nsid, response.status_code, error.error, error.message, started)
            raise error
        self._record(method, nsid, response.status_code, "", "", started)
        return response

    def paginate(
        self,
        nsid: str,
        params: Mapping[str, Any] | None = None,
        *,
        items: str,
        limit: int = 100,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Any]:
        """Every item of a cursor-paginated query: the ``items`` list of each page, following ``cursor``.

        A service that answers a cursor it was already given would be asked
        forever: that raises :class:`~atproto_bdd.errors.ServiceError`.
        """
        cursor: str | None = None
        asked: set[str] = set()
        while True:
            page = self.query(nsid, {**(params or {}), "limit": limit, "cursor": cursor}, headers=headers) or {}
            batch = page.get(items) or []
            yield from batch
            cursor = page.get("cursor")
            if not cursor or not batch:
                return
            if cursor in asked:
                raise ServiceError(
                    f"{self.name or self.base_url} answered {nsid} with the cursor {cursor!r} again (after "
                    f"{len(asked) + 1} pages): its pagination does not advance, so a client would ask forever"
                )
            asked.add(cursor)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _record(self, method: str, nsid: str, status: int, error: str, message: str, started: float) -> None:
        if self.recorder is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self.recorder(XrpcExchange(self.name, method, nsid, status, error, message, elapsed))


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    cleaned: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        cleaned[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return cleaned


def decode(response: httpx.Response) -> Any:
    """JSON output as Python data, other output as bytes, no output as None."""
    if not response.content:
        return None
    if response.headers.get("content-type", "").split(";")[0].strip() == JSON:
        return response.json()
    return response.content


def request_json(
    client: httpx.Client, method: str, url: str, *, name: str = "", text_ok: bool = False, **kwargs: Any
) -> Any:
    """JSON over HTTP with our error types: the one way a non-XRPC endpoint (admin APIs, PLC, did:web) is called.

    Sends ``method url`` (a path below the client's base URL, or a whole URL)
    with ``kwargs`` for httpx; returns the decoded JSON body, or None for an
    empty one (with ``text_ok``, a body that is not JSON comes back as text).
    A request that gets no answer raises :class:`~atproto_bdd.errors.TransportError`
    naming it; a status of 400 or more raises :class:`XrpcError`
    (:func:`error_from_response`), with ``name`` (default: the URL) as what was called.
    """
    shown = url if url.startswith(("http://", "https://")) else f"{str(client.base_url).rstrip('/')}{url}"
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise TransportError(f"{method} {shown} failed: {exc}") from None
    if response.status_code >= 400:
        raise error_from_response(response, method=method, nsid=name or url)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if text_ok:
            return response.text
        raise TransportError(f"{method} {shown} answered {response.text[:80]!r}, not JSON") from None


def error_from_response(response: httpx.Response, *, method: str = "", nsid: str = "") -> XrpcError:
    """Build an XrpcError from an error response, whatever its body looks like.

    XRPC bodies carry ``error`` and ``message``; OAuth bodies (RFC 6749)
    ``error`` and ``error_description``; anything else keeps its text.
    """
    error, message = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = str(body.get("error") or "")
        message = str(body.get("message") or body.get("error_description") or "")
    if not error:
        error = response.reason_phrase.replace(" ", "") or f"HTTP{response.status_code}"
    if not message and body is None:
        message = response.text[:300]
    return XrpcError(response.status_code, error, message, nsid=nsid, method=method, body=response.text[:2000])
