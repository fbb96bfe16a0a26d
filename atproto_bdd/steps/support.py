"""Helpers shared by the step modules: error translation, docstrings, tables.

Steps stay thin: parse, call the world, assert. This module turns library
errors into one-line step failures that name the step, and parses docstrings
and tables with messages that point at the bad input.
"""

from __future__ import annotations

import functools
import json
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..errors import AtprotoBddError, UsageError
from ..masking import masker
from ..world import World
from . import types  # noqa: F401 - step patterns use the parameter types, so register them first

F = TypeVar("F", bound=Callable[..., Any])


class StepFailed(AssertionError):
    """A step failed for a reason its message explains fully; behave shows no traceback."""


class StepUsageError(StepFailed):
    """A step used wrongly (an unknown name, bad input): no retry can make it pass."""


class StepCrashed(RuntimeError):
    """A step raised something unexpected; the message holds its (masked) traceback."""


def reads_last_response(func: F) -> F:
    """Mark a step that checks the latest request's outcome: ``within N seconds, ...`` sends a query again for it."""
    func.reads_last_response = True  # type: ignore[attr-defined]
    return func


def atproto_step(func: F) -> F:
    """Wrap a step function: every failure becomes a masked message naming the step.

    Library errors and assertions become one line; anything unexpected keeps
    its traceback, masked too, since secrets can hide in any exception text.
    """

    @functools.wraps(func)
    def wrapper(context: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(context, *args, **kwargs)
        except StepFailed:
            raise
        except (AtprotoBddError, AssertionError) as exc:
            step = getattr(getattr(context, "atproto", None), "current_step", "")
            prefix = f"{step}\n  " if step else ""
            kind = StepUsageError if isinstance(exc, UsageError) else StepFailed
            raise kind(masker.mask(f"{prefix}{exc}")) from None
        except Exception as exc:
            step = getattr(getattr(context, "atproto", None), "current_step", "")
            prefix = f"{step}\n  " if step else ""
            details = traceback.format_exc()
            raise StepCrashed(masker.mask(f"{prefix}{type(exc).__name__}: {exc}\n{details}")) from None

    return wrapper  # type: ignore[return-value]


#: The attribute :func:`snapshot_safe` sets on a step function.
SNAPSHOT_SAFE = "atproto_snapshot_safe"


def snapshot_safe(func: F) -> F:
    """Mark a Given-step a Background snapshot can stand in for (put it under ``@given``).

    Its whole effect must live in the network's PLC and PDSes and in the
    world's PDSes and accounts, which a snapshot holds, and running it again
    on the restored state must change nothing (it finds its PDS or account and
    reuses it). A Background made only of such steps runs once per feature;
    see :mod:`atproto_bdd.background_snapshots`.
    """
    setattr(func, SNAPSHOT_SAFE, True)
    return func


#: The attribute :func:`uses` sets on a step function: the services it starts.
USES = "atproto_uses"


def uses(*services: str) -> Callable[[F], F]:
    """Mark a step that starts ``services`` (``relay``, ``jetstream``, ``tap``, ``appview``); put it under ``@given``.

    The hooks look ahead at the steps a run and a scenario will use (see
    :mod:`atproto_bdd.lookahead`): what those services need installed or
    built is ready before the first scenario, and the AppView, which PDSes
    are configured with, starts before the scenario's first step wherever
    its step stands. A custom step that starts one of them can say so the
    same way.
    """
    from ..services.registry import with_dependencies

    with_dependencies(services)  # refuses an unknown name at import time

    def mark(func: F) -> F:
        setattr(func, USES, (*getattr(func, USES, ()), *services))
        return func

    return mark


def world_of(context: Any) -> World:
    """The scenario's world (``context.atproto``), or a clear error if the hooks are not wired."""
    world = getattr(context, "atproto", None)
    if not isinstance(world, World):
        raise UsageError(
            "context.atproto is not set: add `from atproto_bdd.hooks import *` to your environment.py "
            "(or call atproto_bdd.hooks.before_all/before_scenario from your own hooks)"
        )
    return world


def docstring(context: Any, what: str) -> str:
    """The step's docstring text, or an error saying the step needs one."""
    text = getattr(context, "text", None)
    if not text or not text.strip():
        raise UsageError(f'this step needs a docstring ("""...""") with {what}')
    return text


def parse_json(text: str, what: str = "the JSON docstring") -> Any:
    """Parse JSON, reporting the line and column of a syntax error and the offending line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines() or [""]
        bad = lines[min(exc.lineno, len(lines)) - 1].strip()
        raise UsageError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} (near {bad!r})"
        ) from None


def parse_yaml(text: str, what: str = "the YAML docstring") -> Any:
    """Parse YAML (or JSON, which YAML reads too), reporting where a syntax error is."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{what} is not valid YAML or JSON: {problem}{where}") from None


def structured_docstring(context: Any, what: str) -> Any:
    """The step's docstring parsed as YAML or JSON (placeholders left for the caller)."""
    return parse_yaml(docstring(context, what), f"the docstring ({what})")


def json_docstring(context: Any, world: World, what: str = "a JSON object") -> Any:
    """The step's docstring parsed as JSON, with placeholders resolved."""
    return world.resolve_data(parse_json(docstring(context, what)))


def json_kind(value: Any) -> str:
    """What a parsed JSON value is, as a message says it: an object, an array, a string, a number, a boolean, null."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def json_object_docstring(context: Any, world: World, what: str) -> dict[str, Any]:
    """The step's docstring as a JSON object (a record, parameters, a body); anything else is a UsageError."""
    value = json_docstring(context, world, what)
    if not isinstance(value, dict):
        raise UsageError(
            f"{what} must be a JSON object ({{...}}), and the docstring holds {json_kind(value)}: "
            f"{json.dumps(value)[:120]}"
        )
    return value


def json_array_docstring(context: Any, world: World, what: str) -> list[Any]:
    """The step's docstring as a JSON array (the items a list holds); anything else is a UsageError."""
    value = json_docstring(context, world, what)
    if not isinstance(value, list):
        raise UsageError(
            f"{what} must be a JSON array ([...]), and the docstring holds {json_kind(value)}: "
            f"{json.dumps(value)[:120]}"
        )
    return value


def query_parameters(params: dict[str, Any], what: str) -> dict[str, Any]:
    """``params`` if every value is one a query string can carry (text, a number, a boolean, an array of those).

    ``null`` leaves the parameter out.
    """
    for key, value in params.items():
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, (dict, list)):
                path = f"$.{key}" + (f"[{index}]" if isinstance(value, list) else "")
                raise UsageError(
                    f"{what}: {path} is {json_kind(item)}, and a query parameter is a string, a number, a "
                    f"boolean or an array of those: {json.dumps(item)[:80]}"
                )
    return params


def table_rows(
    context: Any,
    world: World,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> list[dict[str, str]]:
    """The step's table as dicts with placeholders resolved; checks the column names."""
    required, optional = list(required), list(optional)
    table = getattr(context, "table", None)
    if table is None:
        raise UsageError(f"this step needs a table with columns: {', '.join(required + optional)}")
    headings = [heading.strip() for heading in table.headings]
    unknown = [heading for heading in headings if heading not in required + optional]
    missing = [column for column in required if column not in headings]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        valid = ", ".join(required + [f"{column} (optional)" for column in optional])
        raise UsageError(f"the table has {' and '.join(problems)}; valid columns: {valid}")
    return [
        {heading: world.resolve(cell.strip()) for heading, cell in zip(headings, row.cells, strict=True)}
        for row in table.rows
    ]
