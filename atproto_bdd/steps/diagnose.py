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
            reason = _near_miss(pattern, text)
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
            return f"{value!r} is not a valid {type_name} (expected {summary}) for step {pattern!r}"
    return None
