"""Lexicon validation in the Node host, with the reference libraries of the PDS line in use.

A project's own lexicon documents are checked and used by ``@atproto/lexicon``
(the library that reads Lexicon JSON); records and methods of ``com.atproto.*``,
``app.bsky.*`` and the line's other lexicons by the PDS's own schemas - what the
PDS validates writes with (host/lexicons.js). Neither is re-implemented here:
this module sends values and gets the libraries' own messages back.

Values go as atproto JSON (``{"$link": ...}`` for CIDs, ``{"$bytes": ...}``);
records read from a firehose are turned into it first (``dagcbor.to_json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..protocol.lexicon_docs import LexiconDoc
from .node_host import NodeHost

#: How a check names the PDS line's own lexicons (a project's are named by their file).
PDS_LEXICONS = "the PDS's own lexicons"


@dataclass(frozen=True)
class RecordCheck:
    """What the reference library said of one record: whether it knows its lexicon, whether it is valid, why not."""

    known: bool
    valid: bool = False
    message: str = ""
    #: Which lexicon judged it: the project's file, or :data:`PDS_LEXICONS`.
    by: str = ""


@dataclass(frozen=True)
class XrpcCheck:
    """What the reference library said of one call's parts: ``problems`` maps ``params``/``input``/``output`` to why."""

    known: bool
    problems: dict[str, str]
    by: str = ""


class LexiconValidator:
    """A project's lexicons and the PDS line's, loaded into a Node host; validates records and XRPC values."""

    def __init__(self, host: NodeHost, docs: Sequence[LexiconDoc], *, timeout: float) -> None:
        self._host = host
        self._timeout = timeout
        self.docs = list(docs)
        #: The ids of the project's lexicons.
        self.ids = frozenset(doc.id for doc in self.docs)
        self.library_version = ""
        self._known_ids: frozenset[str] | None = None

    def load(self) -> None:
        """Check every document with ``@atproto/lexicon`` and keep them; a UsageError names each problem's place."""
        result = self._host.call(
            "lexicon.load",
            {"docs": [{"id": doc.id, "doc": doc.doc, "source": doc.source} for doc in self.docs]},
            timeout=self._timeout,
        )
        problems = result.get("problems") or []
        if problems:
            lines = [f"{p['source']}: at {p['path'] or '(the document)'}: {p['message']}" for p in problems]
            said = "\n  ".join(lines)
            raise UsageError(
                f"the project's lexicons are not valid Lexicon documents (@atproto/lexicon says):\n  {said}"
            )
        self.library_version = str(result.get("version", ""))

    def known_ids(self) -> frozenset[str]:
        """The NSIDs of every record and method lexicon known: the project's and the PDS line's (asked once)."""
        if self._known_ids is None:
            result = self._host.call("lexicon.ids", {}, timeout=self._timeout)
            self._known_ids = frozenset(str(nsid) for nsid in result["ids"]) | self.ids
        return self._known_ids

    def check_records(self, records: Sequence[tuple[str, Any]]) -> list[RecordCheck]:
        """Validate each ``(nsid, value)`` (atproto JSON) against its record lexicon; one result each, in order."""
        if not records:
            return []
        result = self._host.call(
            "lexicon.validateRecords",
            {"records": [{"nsid": nsid, "value": value} for nsid, value in records]},
            timeout=self._timeout,
        )
        return [_record_check(item) for item in result["results"]]

    def check_record(self, nsid: str, value: Any) -> RecordCheck:
        """Validate one record (atproto JSON) against the lexicon ``nsid``."""
        return self.check_records([(nsid, value)])[0]

    def check_xrpc(self, nsid: str, *, params: Any = None, input: Any = None, output: Any = None) -> XrpcCheck:
        """Validate a call's parameters, input and output (those given) against the method ``nsid``'s lexicon."""
        result = self._host.call(
            "lexicon.validateXrpc",
            {"nsid": nsid, "params": params, "input": input, "output": output},
            timeout=self._timeout,
        )
        problems = {p["part"]: str(p["message"]) for p in result.get("problems") or []}
        return XrpcCheck(bool(result["known"]), problems, _by(result.get("by")))


def _record_check(item: dict[str, Any]) -> RecordCheck:
    if not item.get("known"):
        return RecordCheck(known=False)
    return RecordCheck(True, bool(item.get("valid")), str(item.get("message") or ""), _by(item.get("by")))


def _by(source: Any) -> str:
    return PDS_LEXICONS if source == "pds" else str(source or "")
