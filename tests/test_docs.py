"""Docs that cannot drift: the snippets, step sentences, names and links of the documentation still hold.

The documents checked are README.md, docs/*.md (except docs/steps.md, which is generated
from the step library and checked by test_catalog.py), examples/*/README.md and
bench/README.md. Four checks, each reported per block or per file with its line:

1. Python snippets: every fenced ```python (or ```py) block compiles, every
   ``import x`` / ``from x import y`` in it resolves (the module imports and has
   the name), and ``Name.attr`` on a name the snippet imported from atproto_bdd
   exists. Snippets are not run (nearly all need a network); a block preceded by
   ``<!-- docs-test: run -->`` is run too, in a subprocess, and must exit 0.
2. Step sentences: every fenced ```gherkin (or ```feature) block is written into
   a throw-away behave project (one feature per block; a block without
   ``Feature:`` / ``Scenario:`` lines is wrapped in them) whose steps/ holds
   ``from atproto_bdd.steps import *`` plus this repository's own steps/*.py (the
   project glue the docs describe, e.g. steps/project_steps.py), and one
   ``behave --dry-run --format json`` runs over all of them. Every step line must
   be matched by exactly one step definition: not undefined, not matched by two
   definitions, and behave must not report an AmbiguousStep. An end-of-line
   annotation after two spaces and ``#`` (``Then x   # why``) is not part of the
   sentence (behave itself would keep it: Gherkin has no trailing comments).
   Sentences quoted in prose (```When alice.test posts "hi"```, a backticked
   span starting with Given/When/Then/And/But) are checked the same way, except
   ones with an elision or placeholder (``...``, ``…``, ``<...>``); a quoted
   ``"..."`` stands for any text and is checked as ``"text"``.
3. Public names: every ``atproto_bdd.x.y`` dotted name inside backticks in the
   prose imports (a module) or resolves (an attribute of one).
4. Internal links: every markdown link (and reference definition) with a
   relative target points at an existing file or directory (relative to the
   document; ``/x`` from the repository root), and its ``#anchor`` is the
   GitHub slug of a heading of the target markdown file (or of the same file
   for a bare ``#anchor``): lowercase, spaces to ``-``, punctuation other than
   ``-`` and ``_`` dropped, repeated headings ``-1``, ``-2``...

To opt a fenced block out (of checks 1 and 2), put an HTML comment on the line
just before its fence (blank lines in between are allowed), saying why::

    <!-- docs-test: skip (needs the user's own app module) -->
    ```python
    ...
    ```

The check functions take a path or text, so the last tests here run them on
planted mistakes to prove each one can fail.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {ROOT / "docs" / "steps.md"}  # checked by test_catalog.py


def doc_files(root: Path = ROOT) -> list[Path]:
    """The documents whose snippets, sentences, names and links are checked."""
    found = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    found += sorted((root / "examples").glob("*/README.md"))
    found.append(root / "bench" / "README.md")
    return [path for path in found if path.is_file() and path.resolve() not in GENERATED]


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------------------
# Markdown: fenced blocks, prose, inline code


PYTHON_LANGS = {"python", "py", "python3"}
GHERKIN_LANGS = {"gherkin", "feature", "cucumber"}
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<what>skip|run)\b(?P<why>.*?)-->", re.IGNORECASE)


@dataclass
class Block:
    """A fenced code block of a document."""

    path: Path
    line: int  # the opening fence's line (1-based)
    lang: str
    lines: list[str]  # the content, one entry per line (first one on line + 1)
    skip: str | None = None  # the reason given in <!-- docs-test: skip (...) -->
    run: bool = False  # <!-- docs-test: run -->

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"

    @property
    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


def parse_markdown(path: Path, text: str | None = None) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a document, and its lines with every fenced block's lines blanked (the prose)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    prose = list(lines)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"].expandtabs())
        info = opening["info"].strip()
        lang = info.split()[0].lower().strip("{}.") if info else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = re.match(r"^\s*(`{3,}|~{3,})\s*$", lines[j])
            if closing and closing[1][0] == fence[0] and len(closing[1]) >= len(fence):
                break
            body.append(_dedent_line(lines[j], indent))
            j += 1
        block = Block(path, i + 1, lang, body)
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0:
            directive = _DIRECTIVE.search(lines[before])
            if directive and directive["what"].lower() == "skip":
                block.skip = directive["why"].strip(" ()") or "no reason given"
            elif directive:
                block.run = True
        blocks.append(block)
        for k in range(i, min(j + 1, len(lines))):
            prose[k] = ""
        i = j + 1
    return blocks, prose


def _dedent_line(line: str, indent: int) -> str:
    """Removes up to ``indent`` leading spaces (a fence inside a list item is indented with its content)."""
    expanded = line.expandtabs()
    strip = min(indent, len(expanded) - len(expanded.lstrip(" ")))
    return expanded[strip:]


_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


def inline_code(prose: list[str]) -> list[tuple[int, str]]:
    """Every inline code span of the prose: (line, content)."""
    text = "\n".join(prose)
    found = []
    for match in _INLINE_CODE.finditer(text):
        if "\n\n" in match[2]:  # a stray backtick: a code span does not cross paragraphs
            continue
        found.append((text.count("\n", 0, match.start()) + 1, " ".join(match[2].split())))
    return found


def blank_inline_code(prose: list[str]) -> str:
    """The prose with inline code spans blanked (same offsets, same line breaks)."""
    text = "\n".join(prose)

    def blank(match: re.Match[str]) -> str:
        if "\n\n" in match[2]:
            return match[0]
        return re.sub(r"[^\n]", " ", match[0])

    return _INLINE_CODE.sub(blank, text)


# ---------------------------------------------------------------------------------------------------------
# 1. Python snippets


def python_problems(block: Block) -> list[str]:
    """What is wrong with a ```python block: syntax, imports that do not resolve, missing attributes."""
    source = block.source
    try:
        tree = ast.parse(source, filename=block.where)
        compile(tree, block.where, "exec")
    except SyntaxError as error:
        line = block.line + (error.lineno or 0)
        return [f"{rel(block.path)}:{line}: does not compile: {error.msg}: {(error.text or '').strip()!r}"]

    problems: list[str] = []
    imported: dict[str, Any] = {}  # name bound by an import -> the object (for attribute checks)
    origin: dict[str, str] = {}
    for node in ast.walk(tree):
        where = f"{rel(block.path)}:{block.line + getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                module, problem = _import(alias.name)
                if problem:
                    problems.append(f"{where}: `import {alias.name}`: {problem}")
                    continue
                if alias.asname:
                    imported[alias.asname], origin[alias.asname] = module, alias.name
                else:
                    top = alias.name.split(".")[0]
                    imported[top], origin[top] = sys.modules[top], top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                continue  # relative: belongs to the user's package
            module, problem = _import(node.module or "")
            if problem:
                problems.append(f"{where}: `from {node.module} import ...`: {problem}")
                continue
            for alias in node.names:
                if alias.name == "*":
                    continue
                value, problem = _attribute(module, alias.name)
                if problem:
                    problems.append(f"{where}: `from {node.module} import {alias.name}`: {problem}")
                    continue
                name = alias.asname or alias.name
                imported[name], origin[name] = value, f"{node.module}.{alias.name}"

    # Name.attr (and Name.a.b) on what the snippet imported from atproto_bdd, unless it rebinds the name.
    rebound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    rebound |= {
        node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    rebound |= {arg.arg for node in ast.walk(tree) if isinstance(node, ast.arguments) for arg in _all_args(node)}
    seen = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        chain, root = _attribute_chain(node)
        if root is None or root not in imported or root in rebound:
            continue
        if not origin[root].split(".")[0] == "atproto_bdd":
            continue
        dotted = ".".join([root, *chain])
        if dotted in seen:
            continue
        seen.add(dotted)
        value = imported[root]
        for k, name in enumerate(chain):
            value, problem = _attribute(value, name)
            if problem:
                shown = ".".join([origin[root], *chain[: k + 1]])
                problems.append(
                    f"{rel(block.path)}:{block.line + node.lineno}: `{dotted}`: {shown} does not exist ({problem})"
                )
                break
    return problems


def _all_args(arguments: ast.arguments) -> list[ast.arg]:
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    return found + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]


def _attribute_chain(node: ast.Attribute) -> tuple[list[str], str | None]:
    """``a.b.c`` -> (["b", "c"], "a"); (.., None) when the chain does not start at a plain name."""
    chain: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        chain.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return [], None
    return chain[::-1], current.id


def _import(name: str) -> tuple[Any, str | None]:
    try:
        return importlib.import_module(name), None
    except ModuleNotFoundError as error:
        return None, f"no module {error.name!r}"
    except Exception as error:  # noqa: BLE001 - importing it fails some other way: that is the finding
        return None, f"importing it raises {type(error).__name__}: {error}"


def _attribute(owner: Any, name: str) -> tuple[Any, str | None]:
    """``owner.name``, importing a submodule when owner is a package; (None, why) when it does not exist."""
    if hasattr(owner, name):
        return getattr(owner, name), None
    if inspect.ismodule(owner):
        module, problem = _import(f"{owner.__name__}.{name}")
        if module is not None:
            return module, None
        if problem and not problem.startswith("no module"):
            return None, problem
        candidates = [n for n in dir(owner) if not n.startswith("_")]
        hint = _close(name, candidates)
        return None, f"{owner.__name__} has no {name!r}{hint}{_elsewhere(name, owner.__name__)}"
    hint = _close(name, [n for n in dir(owner) if not n.startswith("_")])
    return None, f"{getattr(owner, '__qualname__', owner)!r} has no attribute {name!r}{hint}"


def _close(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3)
    return f" (close: {', '.join(close)})" if close else ""


def _elsewhere(name: str, not_in: str) -> str:
    """Where else in atproto_bdd a (public) name is defined, as a hint (the package's own modules are imported)."""
    package = sys.modules.get(not_in)
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        _import(f"{not_in}.{info.name}")
    found = []
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("atproto_bdd") or module_name == not_in or module is None:
            continue
        value = module.__dict__.get(name)
        if value is not None and getattr(value, "__module__", module_name) == module_name:
            found.append(module_name)
    return f"; it is defined in {', '.join(found)}" if found else ""


def run_problems(block: Block, timeout: float = 60) -> list[str]:
    """Runs a ```python block marked <!-- docs-test: run --> in a fresh interpreter; its failure, if any."""
    completed = subprocess.run(
        [sys.executable, "-c", block.source],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode == 0:
        return []
    tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-6:])
    return [f"{block.where}: running the snippet exits {completed.returncode}:\n{textwrap.indent(tail, '    ')}"]


# ---------------------------------------------------------------------------------------------------------
# 2. Step sentences

_STEP_LINE = re.compile(r"^(?P<indent>\s*)(?P<keyword>Given|When|Then|And|But)\s+(?P<text>\S.*)$")
_SECTION = re.compile(r"^\s*(Feature|Rule|Background|Scenario Outline|Scenario Template|Scenario|Example|Examples)\s*:")
_ELISION = re.compile(r"\.\.\.|…|<[^>]*>")
_QUOTED_ELISION = re.compile(r'"(?:\.\.\.|…)"')  # `posts "..."`: any text; checked as `posts "text"`


def strip_annotation(text: str) -> str:
    """``x "a # b"   # why`` -> ``x "a # b"``: an end-of-line ``#`` after 2+ spaces, outside double quotes."""
    in_quotes = False
    for i, char in enumerate(text):
        if char == '"':
            in_quotes = not in_quotes
        elif char == "#" and not in_quotes and text[max(0, i - 2) : i] == "  ":
            return text[:i].rstrip()
    return text


@dataclass
class Feature:
    """The feature file written for a ```gherkin block, with its lines mapped back to the document."""

    block: Block
    name: str
    lines: list[str] = field(default_factory=list)
    doc_line: list[int | None] = field(default_factory=list)  # per feature line: its document line
    step_lines: list[int] = field(default_factory=list)  # document lines that are steps

    def add(self, line: str, doc_line: int | None) -> None:
        self.lines.append(line)
        self.doc_line.append(doc_line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def feature_of(block: Block, name: str) -> Feature:
    """A feature file for a block: the block itself when it is one, else wrapped in a Feature and a Scenario."""
    feature = Feature(block, name)
    has_feature = any(re.match(r"^\s*Feature\s*:", line) for line in block.lines)
    has_section = any(_SECTION.match(line) for line in block.lines)
    if not has_feature:
        feature.add(f"Feature: {block.where}", None)
    if not has_section or (not has_feature and _first_step_before_section(block.lines)):
        feature.add(f"  Scenario: {block.where}", None)
    in_docstring = False
    for k, line in enumerate(block.lines):
        doc_line = block.line + 1 + k
        stripped = line.strip()
        if stripped.startswith('"""') or stripped.startswith("```"):
            in_docstring = not in_docstring
            feature.add(line, doc_line)
            continue
        step = None if in_docstring else _STEP_LINE.match(line)
        if step:
            line = step["indent"] + step["keyword"] + " " + strip_annotation(step["text"])
            feature.step_lines.append(doc_line)
        feature.add(line, doc_line)
    return feature


def _first_step_before_section(lines: list[str]) -> bool:
    for line in lines:
        if _SECTION.match(line):
            return False
        if _STEP_LINE.match(line):
            return True
    return False


@dataclass
class Sentence:
    """A step sentence quoted in prose."""

    path: Path
    line: int
    keyword: str
    text: str

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"


def prose_sentences(path: Path, text: str | None = None) -> tuple[list[Sentence], list[tuple[int, str]]]:
    """The backticked step sentences of a document's prose: (the ones checked, the elided ones left out)."""
    _, prose = parse_markdown(path, text)
    checked, elided = [], []
    for line, code in inline_code(prose):
        step = _STEP_LINE.match(_QUOTED_ELISION.sub('"text"', code))
        if not step:
            continue
        if _ELISION.search(step[0]):
            elided.append((line, code))
        else:
            checked.append(Sentence(path, line, step["keyword"], step["text"].strip()))
    return checked, elided


# Runs behave in the throw-away project, then asks the same step registry how many definitions match each
# step (behave takes the first match; two matches mean the sentence is ambiguous) and each prose sentence.
_DRIVER = r"""
import json, sys
from behave.__main__ import main
from behave.step_registry import registry

rc = main(["--dry-run", "--no-color", "--no-capture", "--format", "json", "-o", "behave.json", "features"])
try:
    features = json.load(open("behave.json"))
except Exception as error:
    features = []
    print(f"no JSON report: {error}", file=sys.stderr)

try:
    from atproto_bdd.steps.diagnose import explain_undefined
except Exception:
    explain_undefined = None

def matches(step_type, text):
    found = []
    for matcher in registry.steps.get(step_type, []) + (registry.steps.get("step", []) if step_type != "step" else []):
        if matcher.match(text):
            found.append(f"{matcher.pattern!r} ({matcher.location})")
    return found

def why(step_type, text):
    if explain_undefined is None:
        return []
    try:
        return explain_undefined(registry, step_type, text)
    except Exception:
        return []

steps = []
for feature in features if isinstance(features, list) else []:
    for element in feature.get("elements", []):
        for step in element.get("steps", []):
            step_type = step.get("step_type", "")
            found = matches(step_type, step["name"])
            steps.append({
                "location": step.get("location", ""),
                "keyword": step.get("keyword", ""),
                "step_type": step_type,
                "name": step["name"],
                "status": (step.get("result") or {}).get("status", ""),
                "matched": bool(step.get("match")),
                "matches": found,
                "why": why(step_type, step["name"]) if not found else [],
            })

probes = []
for probe in json.load(open("probes.json")):
    step_type = probe["keyword"].lower()
    types = ["given", "when", "then"] if step_type in ("and", "but") else [step_type]
    found = {t: matches(t, probe["text"]) for t in types}
    probes.append({
        "id": probe["id"],
        "matches": found,
        "why": why(types[0], probe["text"]) if not any(found.values()) else [],
    })

json.dump({"rc": rc, "steps": steps, "probes": probes}, open("result.json", "w"))
"""


def project_steps(root: Path = ROOT) -> list[Path]:
    """This repository's own steps (the glue and custom steps the docs describe), loaded with the library's."""
    return sorted((root / "steps").glob("*.py"))


def check_step_sentences(
    blocks: list[Block],
    sentences: list[Sentence],
    workdir: Path,
    extra_steps: list[Path] | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[str]], str]:
    """Problems per block (``Block.where``) and per prose sentence (``Sentence.where`` + text), and behave's output.

    One behave dry run over one feature per block, in a project under ``workdir``
    whose steps are the library's plus ``extra_steps`` (files copied into steps/).
    """
    from behave.parser import ParserError, parse_feature

    (workdir / "features").mkdir(parents=True)
    (workdir / "steps").mkdir()
    (workdir / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *  # noqa: F401,F403\n")
    for path in extra_steps or []:
        if path.name != "atproto_steps.py" or path.read_text().strip() != "from atproto_bdd.steps import *":
            (workdir / "steps" / f"docs_{path.name}").write_text(path.read_text())

    block_problems: dict[str, list[str]] = {block.where: [] for block in blocks}
    features: dict[str, Feature] = {}
    for n, block in enumerate(blocks):
        feature = feature_of(block, f"block_{n:03d}.feature")
        try:
            parsed = parse_feature(feature.text, filename=feature.name)
        except ParserError as error:
            line = feature.doc_line[error.line - 1] if error.line and error.line <= len(feature.lines) else None
            block_problems[block.where].append(
                f"{rel(block.path)}:{line or block.line}: the block is not valid Gherkin: {error}"
            )
            continue
        if parsed is None:
            block_problems[block.where].append(f"{block.where}: the block is not valid Gherkin (empty feature)")
            continue
        (workdir / "features" / feature.name).write_text(feature.text)
        features[feature.name] = feature

    probes = [{"id": f"{s.where} {s.keyword} {s.text}", "keyword": s.keyword, "text": s.text} for s in sentences]
    (workdir / "probes.json").write_text(json.dumps(probes))
    (workdir / "driver.py").write_text(_DRIVER)
    env = {key: value for key, value in os.environ.items() if not key.startswith("BEHAVE_")}
    completed = subprocess.run(
        [sys.executable, "driver.py"], cwd=workdir, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    output = completed.stdout + completed.stderr
    result_path = workdir / "result.json"
    if not result_path.exists():
        problem = f"the behave dry run failed (exit {completed.returncode}):\n{textwrap.indent(output[-3000:], '    ')}"
        for where in block_problems:
            block_problems[where].append(f"{where}: {problem}")
        return block_problems, {probe["id"]: [problem] for probe in probes}, output
    result = json.loads(result_path.read_text())
    ambiguous = [line for line in output.splitlines() if "AmbiguousStep" in line or "has already been defined" in line]

    seen: dict[str, set[int]] = {name: set() for name in features}
    for step in result["steps"]:
        file_name, _, line_text = step["location"].rpartition(":")
        feature = features.get(Path(file_name).name)
        if feature is None or not line_text.isdigit():
            continue
        doc_line = feature.doc_line[int(line_text) - 1]
        seen[feature.name].add(doc_line or 0)
        where = f"{rel(feature.block.path)}:{doc_line or feature.block.line}"
        sentence = f"{step['keyword']} {step['name']}"
        if not step["matches"] or step["status"] == "undefined":
            why = "; ".join(step["why"])
            block_problems[feature.block.where].append(
                f"{where}: undefined step {sentence!r}: no step definition matches it" + (f" ({why})" if why else "")
            )
        elif len(step["matches"]) > 1:
            block_problems[feature.block.where].append(
                f"{where}: ambiguous step {sentence!r}: {len(step['matches'])} step definitions match it: "
                + "; ".join(step["matches"])
            )
    for feature in features.values():
        for doc_line in feature.step_lines:
            if doc_line not in seen[feature.name]:
                block_problems[feature.block.where].append(
                    f"{rel(feature.block.path)}:{doc_line}: behave did not read this line as a step "
                    f"(exit {result['rc']})"
                )
    if ambiguous or (result["rc"] != 0 and not any(block_problems.values())):
        message = "behave reports: " + " ".join(ambiguous or output.strip().splitlines()[-5:])
        for where in block_problems:
            block_problems[where].append(f"{where}: {message}")

    sentence_problems: dict[str, list[str]] = {}
    for probe in result["probes"]:
        found = probe["matches"]
        problems = []
        if not any(found.values()):
            why = "; ".join(probe["why"])
            problems.append(f"{probe['id']!r}: undefined: no step definition matches it" + (f" ({why})" if why else ""))
        for step_type, matches in found.items():
            if len(matches) > 1:
                problems.append(f"{probe['id']!r}: ambiguous as a {step_type} step: " + "; ".join(matches))
        sentence_problems[probe["id"]] = problems
    return block_problems, sentence_problems, output


# ---------------------------------------------------------------------------------------------------------
# 3. Public names

_DOTTED = re.compile(r"(?<![\w.])atproto_bdd(?:\.[A-Za-z_]\w*)+")


def name_problems(path: Path, text: str | None = None) -> list[str]:
    """Backticked ``atproto_bdd.x.y`` names in the prose that are neither a module nor an attribute of one."""
    _, prose = parse_markdown(path, text)
    problems = []
    for line, code in inline_code(prose):
        for match in _DOTTED.finditer(code):
            problem = resolve_problem(match[0])
            if problem:
                problems.append(f"{rel(path)}:{line}: `{match[0]}` (in `{code}`): {problem}")
    return problems


def resolve_problem(dotted: str) -> str | None:
    """Why ``dotted`` does not resolve (None when it does)."""
    parts = dotted.split(".")
    value, problem = _import(parts[0])
    if problem:
        return problem
    for k, name in enumerate(parts[1:], start=1):
        value, problem = _attribute(value, name)
        if problem:
            return f"{'.'.join(parts[: k + 1])} does not exist: {problem}"
    return None


# ---------------------------------------------------------------------------------------------------------
# 4. Internal links

_LINK = re.compile(
    r"(?<!\\)!?\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]"
    r"\(\s*(?:<(?P<angle>[^>]*)>|(?P<target>[^\s()]*(?:\([^\s()]*\)[^\s()]*)*))(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_REFERENCE = re.compile(r"^ {0,3}\[(?P<label>[^\]]+)\]:\s*<?(?P<target>[^\s>]+)>?", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading (before de-duplication)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path, text: str | None = None) -> list[str]:
    """The anchors of a markdown file: its headings' GitHub slugs (repeats get -1, -2, ...) and HTML anchors."""
    _, prose = parse_markdown(path, text)
    headings = []
    for k, line in enumerate(prose):
        atx = _HEADING.match(line)
        if atx:
            headings.append(atx[2] or "")
        elif (
            k + 1 < len(prose)
            and line.strip()
            and re.match(r"^ {0,3}(=+|-+)\s*$", prose[k + 1])
            and not re.match(r"^\s*([-*+]\s|\d+[.)]\s|>|\||<)", line)
            and (k == 0 or not prose[k - 1].strip())
        ):
            headings.append(line.strip())  # setext heading
    found: list[str] = []
    counts: Counter[str] = Counter()
    for heading in headings:
        slug = github_slug(heading)
        unique = slug if counts[slug] == 0 else f"{slug}-{counts[slug]}"
        counts[slug] += 1
        found.append(unique)
    found += [match[1] for match in _HTML_ANCHOR.finditer("\n".join(prose))]
    return found


def link_problems(path: Path, text: str | None = None, root: Path = ROOT) -> list[str]:
    """Relative links of a document whose file does not exist or whose #anchor is no heading of the target."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    _, prose = parse_markdown(path, text)
    searchable = blank_inline_code(prose)
    links = []
    for match in _LINK.finditer(searchable):
        target = match["angle"] if match["angle"] is not None else match["target"]
        line = searchable.count("\n", 0, match.start("text")) + 1 + match["text"].count("\n")
        links.append((line, match[0].replace("\n", " "), target))
    for match in _REFERENCE.finditer(searchable):
        links.append((searchable.count("\n", 0, match.start()) + 1, match[0].strip(), match["target"]))

    problems = []
    own_anchors: list[str] | None = None
    for line, shown, target in links:
        if not target or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith("//"):
            continue  # http(s), mailto, ...: not checked here
        file_part, _, anchor = target.partition("#")
        file_part = urllib.parse.unquote(file_part)
        where = f"{rel(path)}:{line}: {shown}"
        if file_part:
            resolved = (root / file_part.lstrip("/")) if file_part.startswith("/") else (path.parent / file_part)
            if not resolved.exists():
                problems.append(f"{where}: {rel(resolved)} does not exist")
                continue
        else:
            resolved = path
        if not anchor or (
            file_part and (not resolved.is_file() or resolved.suffix.lower() not in (".md", ".markdown"))
        ):
            continue
        if resolved == path:
            if own_anchors is None:
                own_anchors = anchors(path, text)
            known = own_anchors
        else:
            known = anchors(resolved)
        anchor = urllib.parse.unquote(anchor)
        if anchor not in known and anchor.lower() not in known:
            problems.append(f"{where}: {rel(resolved)} has no heading #{anchor}{_close(anchor, known)}")
    return problems


# ---------------------------------------------------------------------------------------------------------
# The tests over the real documents

DOCS = doc_files()
PARSED = {path: parse_markdown(path) for path in DOCS}
PYTHON_BLOCKS = [block for path in DOCS for block in PARSED[path][0] if block.lang in PYTHON_LANGS]
GHERKIN_BLOCKS = [block for path in DOCS for block in PARSED[path][0] if block.lang in GHERKIN_LANGS]
SENTENCES = {path: prose_sentences(path) for path in DOCS}


def _skip_if_opted_out(block: Block) -> None:
    if block.skip:
        pytest.skip(f"{block.where}: <!-- docs-test: skip ({block.skip}) -->")


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_python_snippet_compiles_and_its_imports_resolve(block: Block) -> None:
    _skip_if_opted_out(block)
    problems = python_problems(block)
    if not problems and block.run:
        problems = run_problems(block)
    assert not problems, f"stale ```python block at {block.where}:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def step_check(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """One behave dry run for every ```gherkin block and every prose sentence of the documents."""
    blocks = [block for block in GHERKIN_BLOCKS if not block.skip]
    sentences = [sentence for checked, _ in SENTENCES.values() for sentence in checked]
    block_problems, sentence_problems, _ = check_step_sentences(
        blocks, sentences, tmp_path_factory.mktemp("docs-behave"), project_steps()
    )
    return block_problems, sentence_problems


@pytest.mark.parametrize("block", GHERKIN_BLOCKS, ids=lambda b: b.where)
def test_gherkin_block_steps_match_exactly_one_definition(block: Block, step_check) -> None:
    _skip_if_opted_out(block)
    problems = step_check[0][block.where]
    assert not problems, f"stale ```gherkin block at {block.where}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", [p for p in DOCS if SENTENCES[p][0]], ids=rel)
def test_step_sentences_in_prose_match_exactly_one_definition(path: Path, step_check) -> None:
    problems = [
        problem
        for sentence in SENTENCES[path][0]
        for problem in step_check[1][f"{sentence.where} {sentence.keyword} {sentence.text}"]
    ]
    assert not problems, f"stale step sentences quoted in {rel(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", DOCS, ids=rel)
def test_atproto_bdd_names_in_prose_resolve(path: Path) -> None:
    problems = name_problems(path)
    assert not problems, f"stale atproto_bdd names in {rel(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", DOCS, ids=rel)
def test_internal_links_resolve(path: Path) -> None:
    problems = link_problems(path)
    assert not problems, f"broken links in {rel(path)}:\n" + "\n".join(problems)


def test_every_document_is_found() -> None:
    names = {rel(path) for path in DOCS}
    assert {"README.md", "docs/guide.md", "bench/README.md"} <= names
    assert "docs/steps.md" not in names
    assert PYTHON_BLOCKS and GHERKIN_BLOCKS


# ---------------------------------------------------------------------------------------------------------
# Planted mistakes: each check reports them (so the tests above can fail)

PLANTED = """# Planted

## A section

```python
from atproto_bdd.protocol import PlcClient
from atproto_bdd.world.records import now_iso
import atproto_bdd.no_such_module
```

<!-- docs-test: skip (it is meant to be broken) -->
```python
from nowhere import anything
```

```python
def broken(:
    pass
```

```gherkin
Given a PDS named A
When alice.test juggles three flaming torches
Then alice.test has 1 app.bsky.feed.post record   # an annotation, not part of the sentence
```

Prose quoting `When alice.test posts "..."` and `Then alice.test waves at the crowd`, and `Then x ...` (elided).

Names: `atproto_bdd.world.records.now_iso`, `atproto_bdd.protocol.labels`, `atproto_bdd.protocol.nope.thing`.

Links: [ok](#a-section), [bad anchor](#no-such-section), [other](other.md#present), [other bad](other.md#absent),
[missing](missing.md), [web](https://example.com/x.md#nope), `[in code](nowhere.md)`.
"""


def test_planted_python_mistakes_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "planted.md"
    blocks = [block for block in parse_markdown(path, PLANTED)[0] if block.lang in PYTHON_LANGS]
    assert [block.skip for block in blocks] == [None, "it is meant to be broken", None]
    problems = python_problems(blocks[0])
    assert len(problems) == 2, problems
    assert "planted.md:6:" in problems[0] and "PlcClient" in problems[0], problems
    assert "planted.md:8:" in problems[1] and "no_such_module" in problems[1], problems
    compile_problems = python_problems(blocks[2])
    assert len(compile_problems) == 1 and "planted.md:17: does not compile" in compile_problems[0], compile_problems
    attribute = Block(path, 1, "python", ["from atproto_bdd.world.records import RecordRef", "RecordRef.nope()"])
    assert "RecordRef.nope" in python_problems(attribute)[0]


def test_planted_step_mistakes_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "planted.md"
    blocks = [block for block in parse_markdown(path, PLANTED)[0] if block.lang in GHERKIN_LANGS]
    juggling = tmp_path / "juggling_steps.py"
    juggling.write_text(
        "from behave import when\n\n"
        "@when('{who} juggles {count} flaming torches')\n"
        "def juggle(context, who, count): pass\n\n"
        "@when('alice.test juggles three flaming {things}')\n"
        "def juggle_things(context, things): pass\n\n"
        "@when('alice.test drops {what}')\n"
        "def drops(context, what): pass\n"
    )
    bad = Block(path, 40, "gherkin", ["Given a PDS named A", "When alice.test drops the ball", "Then nothing at all"])
    sentences, elided = prose_sentences(path, PLANTED)
    assert [s.text for s in sentences] == ['alice.test posts "text"', "alice.test waves at the crowd"]
    assert elided == [(27, "Then x ...")]

    block_problems, sentence_problems, _ = check_step_sentences(
        [*blocks, bad], sentences, tmp_path / "project", [juggling]
    )
    planted = block_problems[blocks[0].where]
    assert len(planted) == 1, planted
    assert "planted.md:23: ambiguous step 'When alice.test juggles three flaming torches'" in planted[0]
    assert "2 step definitions" in planted[0]
    assert len(block_problems[bad.where]) == 1, block_problems[bad.where]
    assert "planted.md:43: undefined step 'Then nothing at all'" in block_problems[bad.where][0]
    assert sentence_problems[f'{rel(path)}:27 When alice.test posts "text"'] == []
    assert "undefined" in sentence_problems[f"{rel(path)}:27 Then alice.test waves at the crowd"][0]

    # without the juggling steps: the sentence is undefined
    block_problems, _, _ = check_step_sentences(blocks, [], tmp_path / "plain")
    assert len(block_problems[blocks[0].where]) == 1
    assert (
        "planted.md:23: undefined step 'When alice.test juggles three flaming torches'"
        in block_problems[blocks[0].where][0]
    )


def test_planted_names_are_reported(tmp_path: Path) -> None:
    problems = name_problems(tmp_path / "planted.md", PLANTED)
    assert len(problems) == 1, problems
    assert "planted.md:29: `atproto_bdd.protocol.nope.thing`" in problems[0], problems
    assert "atproto_bdd.protocol.nope does not exist" in problems[0], problems


def test_planted_links_are_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Present\n\nSetext heading\n---\n\n## Present\n")
    assert anchors(tmp_path / "other.md") == ["other", "present", "setext-heading", "present-1"]
    path = tmp_path / "planted.md"
    problems = link_problems(path, PLANTED, root=tmp_path)
    assert len(problems) == 3, problems
    assert (
        "planted.md:31: [bad anchor](#no-such-section)" in problems[0] and "no heading #no-such-section" in problems[0]
    )
    assert "planted.md:31: [other bad](other.md#absent)" in problems[1] and "close: present" in problems[1]
    assert "planted.md:32: [missing](missing.md)" in problems[2] and "does not exist" in problems[2]


def test_github_slugs() -> None:
    assert github_slug("PDS lines: 0.4 and 0.5") == "pds-lines-04-and-05"
    assert github_slug("The pytest plugin against behave (`bench_pytest.py`)") == (
        "the-pytest-plugin-against-behave-bench_pytestpy"
    )
    assert github_slug("2026-12-04, midday session: the runs start under 1 s (issue #16)") == (
        "2026-12-04-midday-session-the-runs-start-under-1-s-issue-16"
    )
    assert github_slug("Steps a [background snapshot](x.md) can stand in for") == (
        "steps-a-background-snapshot-can-stand-in-for"
    )
