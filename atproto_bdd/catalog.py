"""The step catalog: ``docs/steps.md`` generated from behave's step registry."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from behave.step_registry import registry

from . import steps
from .steps.types import PARAMETER_TYPES

KEYWORDS = ("given", "when", "then", "step")
HEADER = """# Step catalog

Generated from the step registry by `atproto-bdd catalog --output docs/steps.md`;
`tests/test_catalog.py` fails when this file and the code disagree.
Words in CAPITALS in a description refer to the step's parameters.

## Parameter types

| type | matches |
|---|---|
"""


@dataclass
class StepDoc:
    """One step function and the sentences it answers to."""

    module: str
    name: str
    doc: str
    line: int
    sentences: list[str] = field(default_factory=list)


def _unwrap(func: Any) -> Any:
    return getattr(func, "__wrapped__", func)


def collect(modules: tuple[ModuleType, ...] = steps.STEP_MODULES) -> list[StepDoc]:
    """Every step defined in ``modules``, in module order, then source order."""
    wanted = {module.__name__ for module in modules}
    by_func: dict[Any, StepDoc] = {}
    for keyword in KEYWORDS:
        for matcher in registry.steps.get(keyword, []):
            func = _unwrap(matcher.func)
            if func.__module__ not in wanted:
                continue
            doc = by_func.setdefault(
                func,
                StepDoc(
                    func.__module__, func.__name__, inspect.cleandoc(func.__doc__ or ""), func.__code__.co_firstlineno
                ),
            )
            doc.sentences.append(f"{keyword.capitalize()} {matcher.pattern}")
    order = {module.__name__: index for index, module in enumerate(modules)}
    return sorted(by_func.values(), key=lambda d: (order[d.module], d.line))


def render(modules: tuple[ModuleType, ...] = steps.STEP_MODULES) -> str:
    """The catalog as Markdown."""
    parts = [HEADER]
    for name, converter in PARAMETER_TYPES.items():
        summary = (converter.__doc__ or "").strip().splitlines()[0]
        parts.append(f"| `{name}` | {summary} |\n")
    current = None
    for doc in collect(modules):
        if doc.module != current:
            current = doc.module
            module = next(m for m in modules if m.__name__ == current)
            title = (module.__doc__ or current).strip().splitlines()[0]
            parts.append(f"\n## {title}\n")
        for sentence in sorted(set(doc.sentences), key=doc.sentences.index):
            parts.append(f"\n### `{sentence}`\n")
        parts.append(f"\n{doc.doc or '(undocumented)'}\n")
    return "".join(parts)
