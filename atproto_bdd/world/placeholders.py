"""``${...}`` placeholders in docstrings and table cells, resolved when a step runs.

Known forms::

    ${alice.test.did}         the account's DID
    ${alice.test.handle}      the account's handle
    ${alice.test.latest.uri}  AT-URI of the latest record the account created
    ${alice.test.latest.cid}  CID of that record
    ${alice.test.latest.rkey} record key of that record
    ${A.url}  ${A.did}        a PDS's URL and service DID
    ${A.ws_url}               the PDS's URL with a ws:// scheme (for firehose subscribers)
    ${plc.url}                the network's PLC directory
    ${relay.url}  ${relay.ws_url}   the relay
    ${jetstream.url}          Jetstream's ws:// base URL (``/subscribe`` below it)
    ${tap.url}  ${tap.admin_password}   Tap (``/channel``, ``/repos/add``; basic auth user ``admin``)
    ${app.NAME.url}  ${app.NAME.port}  ${app.NAME.did}  ${app.NAME.signing_key}   an app under test
    ${run_dir}                in an app's env: its scratch directory
    ${now}                    the current time, as records' createdAt
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..errors import UsageError
from ..services.network import ws_url
from .records import now_iso

PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
ACCOUNT_FIELDS: dict[str, Callable[[Any], str]] = {
    "did": lambda account: account.did,
    "handle": lambda account: account.handle,
    "latest.uri": lambda account: account.latest().uri,
    "latest.cid": lambda account: account.latest().cid,
    "latest.rkey": lambda account: account.latest().rkey,
}


PDS_FIELDS: dict[str, Callable[[Any], str]] = {
    "url": lambda pds: pds.url,
    "did": lambda pds: pds.did,
    "ws_url": lambda pds: ws_url(pds.url),
}
RELAY_FIELDS: dict[str, Callable[[Any], str]] = {
    "url": lambda relay: relay.url,
    "ws_url": lambda relay: ws_url(relay.url),
}
#: Services on the relay: (the world's ``has_...`` flag, the world attribute, its fields).
RELAY_READERS: dict[str, tuple[str, dict[str, Callable[[Any], str]]]] = {
    "jetstream": ("has_jetstream", {"url": lambda jetstream: jetstream.url}),
    "tap": ("has_tap", {"url": lambda tap: tap.url, "admin_password": lambda tap: tap.admin_password}),
}
#: What starts each service on the relay, for the message of a placeholder used too early.
_STARTED_BY = {
    "jetstream": ("Jetstream", "Given Jetstream on the relay"),
    "tap": ("Tap", "Given Tap on the relay, or Given Tap on the relay sending NSID to the app NAME at /path"),
}
APP_FIELDS: dict[str, Callable[[Any], str]] = {
    "url": lambda app: app.url,
    "port": lambda app: str(app.port),
    "did": lambda app: app.did,
    "signing_key": lambda app: app.signing_key.hex,
}
GLOBALS: dict[str, Callable[[], str]] = {"now": now_iso}


class Scope(Protocol):
    """What placeholders can refer to: the world's accounts and PDSes."""

    @property
    def accounts(self) -> Mapping[str, Any]: ...

    @property
    def pdses(self) -> Mapping[str, Any]: ...


def known_placeholders(scope: Scope, extra: Mapping[str, str] | None = None) -> list[str]:
    """Every placeholder that resolves in ``scope``, for error messages."""
    names = [f"${{{name}}}" for name in [*GLOBALS, *(extra or {})]]
    if getattr(scope, "started", False):
        names.append("${plc.url}")
    if getattr(scope, "has_relay", False):
        names += [f"${{relay.{field}}}" for field in RELAY_FIELDS]
    for owner, (flag, fields) in RELAY_READERS.items():
        if getattr(scope, flag, False):
            names += [f"${{{owner}.{field}}}" for field in fields]
    names += [f"${{{pds}.{field}}}" for pds in scope.pdses for field in PDS_FIELDS]
    names += [f"${{app.{app}.{field}}}" for app in _declared_apps(scope) for field in APP_FIELDS]
    names += [f"${{{handle}.{field}}}" for handle in scope.accounts for field in ACCOUNT_FIELDS]
    return names


def _declared_apps(scope: Scope) -> list[str]:
    config = getattr(scope, "app_config", None)
    return sorted(config.apps) if config is not None else []


def resolve_name(name: str, scope: Scope, extra: Mapping[str, str] | None = None) -> str:
    """The value of one placeholder name (without ``${}``)."""
    name = name.strip()
    if extra and name in extra:
        return extra[name]
    if name in GLOBALS:
        return GLOBALS[name]()
    if name == "plc.url" and getattr(scope, "started", False):
        return scope.network.plc.url  # type: ignore[attr-defined]
    owner, _, field = name.partition(".")
    if owner == "relay" and field in RELAY_FIELDS and getattr(scope, "has_relay", False):
        return RELAY_FIELDS[field](scope.relay)  # type: ignore[attr-defined]
    if owner in RELAY_READERS:
        flag, fields = RELAY_READERS[owner]
        if field in fields and getattr(scope, flag, False):
            return fields[field](getattr(scope, owner))
        if field in fields:  # a service the placeholder names, not started yet: say which step starts it
            raise UsageError(
                f"${{{name}}} names {_STARTED_BY[owner][0]}, which does not run in this network yet: "
                f"declare it first ({_STARTED_BY[owner][1]})"
            )
    if owner == "relay" and field in RELAY_FIELDS and owner not in scope.pdses:
        raise UsageError(
            f"${{{name}}} names the relay, which does not run in this network yet: declare it first "
            "(Given a relay crawling PDS A)"
        )
    if owner == "app":
        app, _, app_field = field.rpartition(".")
        if app in _declared_apps(scope) and app_field in APP_FIELDS:
            return APP_FIELDS[app_field](scope.app(app))  # type: ignore[attr-defined]
    if owner in scope.pdses and field in PDS_FIELDS:
        return PDS_FIELDS[field](scope.pdses[owner])
    for field, getter in ACCOUNT_FIELDS.items():
        handle = name[: -len(field) - 1] if name.endswith("." + field) else ""
        if handle.lower() in scope.accounts:
            return getter(scope.accounts[handle.lower()])
    raise UsageError(
        f"unknown placeholder ${{{name}}}; known placeholders: {', '.join(known_placeholders(scope, extra)) or 'none'}"
    )


def resolve_text(text: str, scope: Scope, extra: Mapping[str, str] | None = None) -> str:
    """Replace every ``${...}`` in ``text``."""
    return PLACEHOLDER.sub(lambda match: resolve_name(match.group(1), scope, extra), text)


def resolve_data(data: Any, scope: Scope) -> Any:
    """Replace placeholders in every string inside parsed JSON/YAML data (keys too)."""
    if isinstance(data, str):
        return resolve_text(data, scope)
    if isinstance(data, list):
        return [resolve_data(item, scope) for item in data]
    if isinstance(data, dict):
        return {resolve_text(key, scope): resolve_data(value, scope) for key, value in data.items()}
    return data
