"""Strict reading of JSON stream messages (Jetstream, Tap): wrong types and missing fields are errors."""

from __future__ import annotations

import json
from typing import Any

from .firehose import FirehoseError


def malformed(why: str, message: Any) -> FirehoseError:
    """The error for a message that breaks its format (``MalformedEvent``), quoting its start."""
    return FirehoseError("MalformedEvent", f"{why}: {str(message)[:300]}")


def load_object(message: str | bytes) -> dict[str, Any]:
    """The JSON object in ``message``, or a ``MalformedEvent`` error."""
    try:
        data = json.loads(message)
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed(f"not JSON ({exc})", message) from None
    if not isinstance(data, dict):
        raise malformed("not a JSON object", message)
    return data


def field(data: dict[str, Any], name: str, kind: type, message: Any, *, optional: bool = False) -> Any:
    """``data[name]`` if it has type ``kind`` (booleans are not integers); None if ``optional`` and absent."""
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise malformed(f"field {name!r} is {type(value).__name__}, expected {kind.__name__}", message)
    return value
