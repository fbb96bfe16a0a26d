"""Partial matching of JSON-like data, with readable differences."""

from __future__ import annotations

import json
import re
from typing import Any


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` differs from ``expected``; objects match if they contain the expected keys.

    Lists must have the same length and match item by item; other values must be equal.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {_show(actual)}"]
        problems: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing (expected {_show(value)})")
            else:
                problems.extend(mismatches(value, actual[key], f"{path}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {_show(actual)}"]
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}: {_show(actual)}"]
        return [
            p for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for p in mismatches(e, a, f"{path}[{i}]")
        ]
    if expected != actual or type(expected) is not type(actual) and not _numbers(expected, actual):
        return [f"{path}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def _numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


class NoSuchField(LookupError):
    """A JSON path that leads nowhere in a value; the message says how far it got and what was there."""


def value_at(data: Any, path: str) -> Any:
    """The value at ``path`` in JSON ``data``: keys and list indices (``feed.0.post`` or ``feed[0].post``).

    :class:`NoSuchField` names the part that is missing and what that level has
    (an object's keys, or a list's length).
    """
    value = data
    parts = re.sub(r"\[(\d+)\]", r".\1", path).split(".")  # bookmarks[0].uri is bookmarks.0.uri
    for depth, key in enumerate(parts):
        where = ".".join(parts[:depth]) or "the response"
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            has = (
                f"has {', '.join(sorted(value)) or 'no fields'}"
                if isinstance(value, dict)
                else f"is a list of {len(value)}"
                if isinstance(value, list)
                else f"is {_show(value)}"
            )
            raise NoSuchField(f"no field {path!r}: {where} {has}")
    return value
