"""``${...}`` placeholders in docstrings and table cells, resolved when a step runs.

Known forms::

    ${alice.test.did}         the account's DID
    ${alice.test.handle}      the account's handle
    ${alice.test.password}    the account's password (masked in all output)
    ${alice.test.app_password}  an app password of the account, made on first use (masked)
    ${alice.test.latest.uri}  AT-URI of the latest record the account created
    ${alice.test.latest.cid}  CID of that record
    ${alice.test.latest.rkey} record key of that record
    ${A.url}  ${A.did}        a PDS's URL and service DID
    ${A.ws_url}               the PDS's URL with a ws:// scheme (for firehose subscribers)
    ${plc.url}                the network's PLC directory
    ${relay.url}  ${relay.ws_url}   the relay
    ${jetstream.url}          Jetstream's ws:// base URL (``/subscribe`` below it)
    ${tap.url}  ${tap.admin_password}   Tap (``/channel``, ``/repos/add``; basic auth user ``admin``)
    ${appview.url}  ${appview.did}      the AppView
    ${app.NAME.url}  ${app.NAME.port}  ${app.NAME.did}  ${app.NAME.signing_key}   an app under test
    ${app.NAME.handle}  ${app.NAME.password}  ${app.NAME.app_password}   its account (``account = "..."``)
    ${run_dir}                in an app's env: its scratch directory
    ${now}                    the current time, as records' createdAt
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..errors import UsageError
from ..services.network import ws_url
from ..services.registry import SERVICES
from .matching import NoSuchField, value_at
from .records import now_iso

PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
ACCOUNT_FIELDS: dict[str, Callable[[Any], str]] = {
    "did": lambda account: account.did,
    "handle": lambda account: account.handle,
    "password": lambda account: account.password,
    "app_password": lambda account: account.app_password(),
    "latest.uri": lambda account: account.latest().uri,
    "latest.cid": lambda account: account.latest().cid,
    "latest.rkey": lambda account: account.latest().rkey,
}


#: A record the scenario named (``creates a ... record as "second":``): ``${records.second.uri}``.
RECORD_FIELDS: dict[str, Callable[[Any], str]] = {
    "uri": lambda ref: ref.uri,
    "cid": lambda ref: ref.cid,
    "rkey": lambda ref: ref.rkey,
}
PDS_FIELDS: dict[str, Callable[[Any], str]] = {
    "url": lambda pds: pds.url,
    "did": lambda pds: pds.did,
    "ws_url": lambda pds: ws_url(pds.url),
}
APP_FIELDS: dict[str, Callable[[Any], str]] = {
    "url": lambda app: app.url,
    "port": lambda app: str(app.port),
    "did": lambda app: app.did,
    "signing_key": lambda app: app.signing_key.hex,
}
#: An app's own account (``account = "pingbot.test"`` in its table): its credentials.
APP_ACCOUNT_FIELDS: dict[str, Callable[[Any], str]] = {
    "handle": lambda app: app.account().handle,
    "password": lambda app: app.account().password,
    "app_password": lambda app: app.account().app_password(),
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
    for owner in SERVICES:
        if getattr(scope, f"has_{owner}", False):
            names += [f"${{{owner}.{field}}}" for field in service_fields(owner)]
    names += [f"${{{pds}.{field}}}" for pds in scope.pdses for field in PDS_FIELDS]
    names += [f"${{app.{app}.{field}}}" for app in _declared_apps(scope) for field in _app_fields(scope, app)]
    names += [f"${{{handle}.{field}}}" for handle in scope.accounts for field in ACCOUNT_FIELDS]
    if getattr(scope, "last_attempt", None) is not None:
        names.append("${response.<field>}")
    names += [f"${{records.{name}.{field}}}" for name in getattr(scope, "named_records", {}) for field in RECORD_FIELDS]
    return names


def service_fields(name: str) -> Mapping[str, Callable[[Any], str]]:
    """The placeholders the service ``name`` offers (``${tap.url}``...): its world class's ``PLACEHOLDERS``."""
    return SERVICES[name].world_class().PLACEHOLDERS


def _declared_apps(scope: Scope) -> list[str]:
    config = getattr(scope, "app_config", None)
    return sorted(config.apps) if config is not None else []


def _app_fields(scope: Scope, app: str) -> Mapping[str, Callable[[Any], str]]:
    """The placeholders of a declared app: its own, and its account's if it declares one."""
    if scope.app_config.app(app).account is None:  # type: ignore[attr-defined]
        return APP_FIELDS
    return {**APP_FIELDS, **APP_ACCOUNT_FIELDS}


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
    if owner in SERVICES and field in service_fields(owner):
        if getattr(scope, f"has_{owner}", False):
            return service_fields(owner)[field](getattr(scope, owner))
        if owner not in scope.pdses:  # a service not started yet (a PDS of that name is another matter)
            entry = SERVICES[owner]
            raise UsageError(
                f"${{{name}}} names {entry.title}, which does not run in this network yet: "
                f"declare it first ({entry.declare})"
            )
    if owner == "app":
        app, _, app_field = field.rpartition(".")
        if app in _declared_apps(scope) and app_field in APP_ACCOUNT_FIELDS:  # its account's: says if it has none
            return APP_ACCOUNT_FIELDS[app_field](scope.app(app))  # type: ignore[attr-defined]
        if app in _declared_apps(scope) and app_field in APP_FIELDS:
            return APP_FIELDS[app_field](scope.app(app))  # type: ignore[attr-defined]
    if owner == "response" and field and owner not in scope.pdses:
        return _response_value(scope, field)
    if owner == "records" and owner not in scope.pdses:
        record, _, record_field = field.rpartition(".")
        if record_field not in RECORD_FIELDS:
            raise UsageError(f"${{{name}}}: a named record has {', '.join(RECORD_FIELDS)} (${{records.NAME.uri}})")
        return RECORD_FIELDS[record_field](scope.named_record(record))  # type: ignore[attr-defined]
    if owner in scope.pdses and field in PDS_FIELDS:
        return PDS_FIELDS[field](scope.pdses[owner])
    for field, getter in ACCOUNT_FIELDS.items():
        handle = name[: -len(field) - 1] if name.endswith("." + field) else ""
        if handle.lower() in scope.accounts:
            return getter(scope.accounts[handle.lower()])
    raise UsageError(
        f"unknown placeholder ${{{name}}}; known placeholders: {', '.join(known_placeholders(scope, extra)) or 'none'}"
    )


def _response_value(scope: Scope, path: str) -> str:
    """``${response.PATH}``: a value of the latest request's response (a cursor to page with), as text."""
    attempt = getattr(scope, "last_attempt", None)
    if attempt is None:
        raise UsageError(f'${{response.{path}}} needs a response: use a "queries" or "calls" step first')
    if attempt.error is not None:
        raise UsageError(f"${{response.{path}}}: {attempt.action} failed ({attempt.error}); it has no response")
    try:
        value = value_at(attempt.result, path)
    except NoSuchField as missing:
        raise UsageError(f"${{response.{path}}}: the response of {attempt.action} has {missing}") from None
    return value if isinstance(value, str) else json.dumps(value)


#: What is left of a placeholder written wrong: ``${`` with no ``}``, or ``$name}`` with no ``{``.
UNCLOSED = re.compile(r"\$\{[^}]*$|\$\{[^}]*\$\{")
UNOPENED = re.compile(r"(?<![$\w])\$([A-Za-z_][\w.-]*)\}")
#: How to write a literal ``${`` (a shell snippet in a docstring, say): ``$${``.
ESCAPED = "$${"


def resolve_text(text: str, scope: Scope, extra: Mapping[str, str] | None = None) -> str:
    """Replace every ``${...}`` in ``text``; ``$${`` stays a literal ``${``; a half-written one is a UsageError."""
    parts = text.split(ESCAPED)
    for part in parts:
        check_placeholders(part)
    resolved = [PLACEHOLDER.sub(lambda match: resolve_name(match.group(1), scope, extra), part) for part in parts]
    return "${".join(resolved)


def check_placeholders(text: str) -> None:
    """A UsageError for a placeholder written without its ``}`` or its ``{`` (it would be sent as text)."""
    unclosed = UNCLOSED.search(text)
    if unclosed is not None:
        start = unclosed.start()
        raise UsageError(
            f"a placeholder without its closing brace: {text[start : start + 40]!r} in {text[:120]!r} "
            "(write ${name}; a literal ${ is $${)"
        )
    unopened = UNOPENED.search(text)
    if unopened is not None:
        raise UsageError(
            f"a placeholder without its opening brace: {unopened.group(0)!r} in {text[:120]!r} "
            f"(write ${{{unopened.group(1)}}})"
        )


def resolve_data(data: Any, scope: Scope) -> Any:
    """Replace placeholders in every string inside parsed JSON/YAML data (keys too)."""
    if isinstance(data, str):
        return resolve_text(data, scope)
    if isinstance(data, list):
        return [resolve_data(item, scope) for item in data]
    if isinstance(data, dict):
        return {resolve_text(key, scope): resolve_data(value, scope) for key, value in data.items()}
    return data
