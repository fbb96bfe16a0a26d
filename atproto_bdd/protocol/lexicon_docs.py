"""Lexicon documents read from files: strict JSON, the fields every document has, one document per id.

A project keeps its lexicons as JSON files, usually in the nested layout
(``lexicons/xyz/statusphere/status.json`` holds ``xyz.statusphere.status``).
This module reads them and checks what can be checked without the reference
library: the text is JSON (no duplicate keys), the document is an object
with ``lexicon: 1``, an NSID ``id`` and a ``defs`` object, and no two files
define one id. The definitions themselves are checked by ``@atproto/lexicon``
(:mod:`atproto_bdd.services.lexicons`). Every error names the file and the
JSON path of the bad value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .syntax import is_nsid


@dataclass(frozen=True)
class LexiconDoc:
    """One lexicon document: its id (an NSID), the JSON itself, and the file it came from."""

    id: str
    doc: dict[str, Any] = field(repr=False)
    source: str


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def parse_lexicon_doc(text: str, source: str) -> LexiconDoc:
    """The lexicon document in ``text`` (from ``source``, for messages); a UsageError naming what is wrong."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise UsageError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a lexicon document is a JSON object, not {type(data).__name__}")
    if data.get("lexicon") != 1 or isinstance(data.get("lexicon"), bool):
        raise UsageError(
            f"{source}: at lexicon: expected 1 (the Lexicon language's version), got {_shown(data, 'lexicon')}"
        )
    doc_id = data.get("id")
    if not isinstance(doc_id, str) or not is_nsid(doc_id):
        raise UsageError(f"{source}: at id: expected an NSID such as xyz.statusphere.status, got {_shown(data, 'id')}")
    if not isinstance(data.get("defs"), dict):
        raise UsageError(f"{source}: at defs: expected an object of definitions, got {_shown(data, 'defs')}")
    return LexiconDoc(doc_id, data, source)


def _shown(data: dict[str, Any], key: str) -> str:
    return json.dumps(data[key]) if key in data else "nothing"


def lexicon_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.json`` files of ``paths``: each a file, or a directory searched recursively, in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"the lexicon path {path} does not exist (a directory of .json files, or one file)")
    return found


def load_lexicon_docs(paths: Iterable[Path]) -> list[LexiconDoc]:
    """Every lexicon document under ``paths``; a UsageError for a bad file, or for an id two files define."""
    docs: dict[str, LexiconDoc] = {}
    for path in lexicon_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot be read as UTF-8 text: {exc}") from None
        doc = parse_lexicon_doc(text, str(path))
        if doc.id in docs:
            raise UsageError(f"the lexicon {doc.id} is defined twice: in {docs[doc.id].source} and in {doc.source}")
        docs[doc.id] = doc
    return list(docs.values())
