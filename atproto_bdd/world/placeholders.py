"""``${...}`` placeholders in docstrings and table cells, resolved when a step runs.

Known forms::

    ${alice.test.did}         the account's DID
    ${alice.test.handle}      the account's handle
    ${alice.test.latest.uri}  AT-URI of the latest record the account created
    ${alice.test.latest.cid}  CID of that record
    ${alice.test.latest.rkey} record key of that record
    ${A.url}  ${A.did}        a PDS's URL and service DID
    ${now}                    the current time, as records' createdAt
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..errors import UsageError
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
}
GLOBALS: dict[str, Callable[[], str]] = {"now": now_iso}


class Scope(Protocol):
    """What placeholders can refer to: the world's accounts and PDSes."""

    @property
    def accounts(self) -> Mapping[str, Any]: ...

    @property
    def pdses(self) -> Mapping[str, Any]: ...


def known_placeholders(scope: Scope) -> list[str]:
    """Every placeholder that resolves in ``scope``, for error messages."""
    names = [f"${{{name}}}" for name in GLOBALS]
    names += [f"${{{pds}.{field}}}" for pds in scope.pdses for field in PDS_FIELDS]
    names += [f"${{{handle}.{field}}}" for handle in scope.accounts for field in ACCOUNT_FIELDS]
    return names


def resolve_name(name: str, scope: Scope) -> str:
    """The value of one placeholder name (without ``${}``)."""
    name = name.strip()
    if name in GLOBALS:
        return GLOBALS[name]()
    owner, _, field = name.partition(".")
    if owner in scope.pdses and field in PDS_FIELDS:
        return PDS_FIELDS[field](scope.pdses[owner])
    for field, getter in ACCOUNT_FIELDS.items():
        handle = name[: -len(field) - 1] if name.endswith("." + field) else ""
        if handle.lower() in scope.accounts:
            return getter(scope.accounts[handle.lower()])
    raise UsageError(
        f"unknown placeholder ${{{name}}}; known placeholders: {', '.join(known_placeholders(scope)) or 'none'}"
    )


def resolve_text(text: str, scope: Scope) -> str:
    """Replace every ``${...}`` in ``text``."""
    return PLACEHOLDER.sub(lambda match: resolve_name(match.group(1), scope), text)


def resolve_data(data: Any, scope: Scope) -> Any:
    """Replace placeholders in every string inside parsed JSON/YAML data (keys too)."""
    if isinstance(data, str):
        return resolve_text(data, scope)
    if isinstance(data, list):
        return [resolve_data(item, scope) for item in data]
    if isinstance(data, dict):
        return {resolve_text(key, scope): resolve_data(value, scope) for key, value in data.items()}
    return data
