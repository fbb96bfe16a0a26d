"""Explains undefined steps that almost match a step of ours.

behave reports "Given an account alice" as undefined because ``alice`` is not
a handle; this module finds the step it was meant to be and says which value
has the wrong form.
"""

from __future__ import annotations

import re
from typing import Any

import parse

from .types import PARAMETER_TYPES

_TYPED_FIELD = re.compile(r"\{(\w+):(\w+)\}")


def explain_undefined(registry: Any, keyword: str, text: str) -> list[str]:
    """Reasons why ``text`` (a step without its keyword) matches none of ``registry``'s steps.

    Only near misses are explained: the text fits a pattern once its typed
    parameters are relaxed, and a value does not have its type's form. When
    several patterns nearly match, the most specific ones (most literal text)
    are the ones meant.
    """
    found: dict[str, int] = {}
    for step_type in dict.fromkeys((keyword.lower(), "step")):
        for matcher in registry.steps.get(step_type, []):
            pattern = getattr(matcher, "pattern", "")
            reason = _near_miss(pattern, text) or _empty_quotes(matcher, pattern, text)
            if reason:
                found.setdefault(reason, len(_TYPED_FIELD.sub("", pattern)))
    best = max(found.values(), default=0)
    return [reason for reason, literal in found.items() if literal == best]


def _near_miss(pattern: str, text: str) -> str | None:
    types = dict(_TYPED_FIELD.findall(pattern))
    if not types or any(name not in PARAMETER_TYPES for name in types.values()):
        return None
    loose = parse.parse(_TYPED_FIELD.sub(r"{\1}", pattern), text)
    if loose is None:
        return None
    for field, type_name in types.items():
        value = str(loose.named.get(field, ""))
        converter: Any = PARAMETER_TYPES[type_name]
        if not re.fullmatch(converter.pattern, value):
            summary = (converter.__doc__ or type_name).strip().splitlines()[0]
            why = _handle_problem(value) if type_name == "Handle" else None
            return f"{value!r} is not a valid {type_name} (expected {summary}) for step {pattern!r}{why or ''}"
    return None


def _handle_problem(value: str) -> str | None:
    """``: <the rule it breaks>`` for a value that is no handle (the specification's rules), else None."""
    from ..protocol.syntax import handle_problem

    problem = handle_problem(value)
    return f": {problem}" if problem else None


def _empty_quotes(matcher: Any, pattern: str, text: str) -> str | None:
    """Why ``text`` with ``""`` matches no step: the step takes a text between the quotes, and it is empty."""
    if '""' not in text or '"{' not in pattern:
        return None
    try:
        meant = matcher.match(text.replace('""', '"x"', 1))
    except Exception:  # a matcher of another kind
        return None
    if meant is None:
        return None
    return (
        f"the quotes are empty: the step {pattern!r} takes a text between them (an empty text is part of every "
        "text: a check of it would prove nothing)"
    )
