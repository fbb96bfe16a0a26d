"""Every step that takes a docstring refuses a wrong one clearly, before it touches the network.

The test walks the step catalog (what ``docs/steps.md`` is made from), finds
each step whose function reads a docstring, and runs it - matched from a
sentence made of its pattern, through behave's own matcher - on a world
without a network (its runtime fails any use) with docstrings of the wrong
type: a JSON array, a string, a number, null where an object is expected,
malformed JSON, none at all. Each must fail as a usage error (one line
naming the step and what is wrong with the docstring), never as a Python
exception, and before it asks the world for anything else: the docstring
is checked before anything is sent.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from behave.step_registry import registry

from atproto_bdd.catalog import KEYWORDS, collect
from atproto_bdd.settings import Settings
from atproto_bdd.steps.support import StepCrashed, StepFailed, StepUsageError
from atproto_bdd.world import World

#: A value for each parameter type, to make a sentence of a step's pattern.
SAMPLES = {
    "Handle": "alice.test",
    "HandleList": "alice.test",
    "NSID": "com.example.thing",
    "NSIDList": "com.example.thing",
    "Did": "did:plc:abc",
    "PdsName": "A",
    "PdsList": "PDS A",
    "Count": "1",
    "ErrorName": "InvalidRequest",
    "Word": "items",
    "MimeType": "image/png",
    "Action": "creating",
    "Operation": "create",
    "LabelValue": "spam",
    "Seconds": "1",
    "Pronoun": "her",
    "Upstream": "PDS A",
}


class Unreachable:
    """A runtime that fails any use: a step that gets this far has not checked its docstring first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the step used the runtime ({name}) before refusing its docstring")


@dataclass
class DocstringStep:
    keyword: str
    pattern: str
    sentence: str
    kind: str  # object, array, mapping (YAML) or any (JSON)

    def __str__(self) -> str:
        return f"{self.keyword.capitalize()} {self.sentence}"


def _kind(source: str) -> str | None:
    """What the step's docstring must be, from the helper its function reads it with (None: it takes none)."""
    if "json_array_docstring(" in source:
        return "array"
    if "json_object_docstring(" in source or "_parameters(" in source:
        return "object"
    if "structured_docstring(" in source:
        return "mapping"
    if "json_docstring(" in source:
        return "any"
    if re.search(r"docstring\(|context\.text", source):
        return "unknown"
    return None


def _sentence(pattern: str) -> str:
    def sample(match: re.Match[str]) -> str:
        kind = match[1].partition(":")[2]
        return SAMPLES[kind] if kind else "x"

    return re.sub(r"\{([^{}]*)\}", sample, pattern)


def docstring_steps() -> list[DocstringStep]:
    """Every catalog sentence whose step reads a docstring."""
    found = []
    by_name = {(doc.module, doc.name): doc for doc in collect()}
    for keyword in KEYWORDS:
        for matcher in registry.steps.get(keyword, []):
            func = inspect.unwrap(matcher.func)
            if (func.__module__, func.__name__) not in by_name:
                continue  # a project's own step
            kind = _kind(inspect.getsource(func))
            if kind is not None:
                found.append(DocstringStep(keyword, matcher.pattern, _sentence(matcher.pattern), kind))
    return found


STEPS = docstring_steps()

MALFORMED = ('{"name": "x",,}', "is not valid JSON: Expecting property name enclosed in double quotes at line 1")
NONE = (None, 'this step needs a docstring ("""...""")')
#: (docstring, words the failure must contain), per kind of docstring.
WRONG: dict[str, list[tuple[str | None, str]]] = {
    "object": [
        ('["not", "an", "object"]', 'must be a JSON object ({...}), and the docstring holds an array: ["not"'),
        ('"just text"', "must be a JSON object ({...}), and the docstring holds a string"),
        ("42", "must be a JSON object ({...}), and the docstring holds a number: 42"),
        ("null", "must be a JSON object ({...}), and the docstring holds null"),
        ("true", "must be a JSON object ({...}), and the docstring holds a boolean"),
        MALFORMED,
        NONE,
    ],
    "array": [
        ('{"a": 1}', "must be a JSON array ([...]), and the docstring holds an object"),
        ('"just text"', "must be a JSON array ([...]), and the docstring holds a string"),
        MALFORMED,
        NONE,
    ],
    "mapping": [
        ('["alice.test"]', "the network description must be a mapping of sections, got list"),
        ("just text", "the network description must be a mapping of sections, got str"),
        ("accounts: [alice.test", "is not valid YAML or JSON"),
        ('{"posts": [{"author": "a.test", "text": ["x"]}]}', "posts[0].text must be text, got list ['x']"),
        (
            '{"records": [{"author": "a.test", "collection": "com.example.thing", "record": [1]}]}',
            "records[0].record must be a mapping (the record's fields), got list [1]",
        ),
        ('{"pdses": [{"name": "A"}]}', "pdses[0] must be a PDS name (text), got dict"),
        ("posts: hello", "posts must be a list, got str"),
        NONE,
    ],
    "any": [MALFORMED, NONE],
}
#: More, for the steps whose docstring is query parameters: a value no query string can carry.
PARAMETERS = [
    ('{"limit": {"at most": 5}}', "$.limit is an object, and a query parameter is a string, a number, a boolean"),
    ('{"uris": ["at://x", ["nested"]]}', "$.uris[1] is an array, and a query parameter is a string, a number"),
]


def cases() -> list[Any]:
    out = []
    for step in STEPS:
        wrong = list(WRONG.get(step.kind, []))
        if step.kind == "object" and "parameters" in inspect.getsource(_function(step)):
            wrong += PARAMETERS
        for index, (text, words) in enumerate(wrong):
            out.append(pytest.param(step, text, words, id=f"{step}-{index}"))
    return out


def _function(step: DocstringStep) -> Any:
    matcher = next(m for m in registry.steps[step.keyword] if m.pattern == step.pattern)
    return inspect.unwrap(matcher.func)


def test_the_walk_finds_the_docstring_steps_and_knows_what_each_takes() -> None:
    sentences = {str(step) for step in STEPS}
    for expected in (
        "When alice.test creates a com.example.thing record:",
        "When alice.test calls com.example.thing with:",
        "When alice.test queries com.example.thing with:",
        "Then the response contains:",
        "Then the response's items contains, in any order:",
        "Given the network described by:",
        "When com.example.thing is queried on the app items with:",
    ):
        assert expected in sentences, sorted(sentences)
    unknown = [str(step) for step in STEPS if step.kind == "unknown"]
    assert not unknown, f"steps that read a docstring without a typed helper of steps/support.py: {unknown}"
    assert len(cases()) >= 80


@pytest.mark.parametrize("step,text,words", cases())
def test_a_wrong_docstring_is_a_usage_error_naming_the_step_before_anything_is_asked(
    step: DocstringStep, text: str | None, words: str
) -> None:
    world = World(Unreachable(), Settings())  # type: ignore[arg-type]
    world.current_step = str(step)
    context = SimpleNamespace(atproto=world, text=text, table=None, scenario=None, atproto_step=None)
    match = next(m for m in registry.steps[step.keyword] if m.pattern == step.pattern).match(step.sentence)
    assert match is not None, f"the sample sentence {step.sentence!r} does not match {step.pattern!r}"
    kwargs = {argument.name: argument.value for argument in match.arguments}  # as behave's Match.run passes them
    with pytest.raises(StepFailed) as caught:
        match.func(context, **kwargs)
    message = str(caught.value)
    assert not isinstance(caught.value, StepCrashed), message
    assert isinstance(caught.value, StepUsageError), f"not a usage error: {message}"
    assert message.startswith(f"{step}\n  "), f"the failure does not name the step first: {message}"
    assert words in message, f"expected {words!r} in:\n{message}"
    assert "Traceback" not in message
    assert world.transcript == [] and world.last_attempt is None, "something was sent before the docstring was refused"
