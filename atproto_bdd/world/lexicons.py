"""Your lexicons in a scenario: records and XRPC answers checked against them, records made from a table.

The project's lexicon documents (``lexicons/`` beside ``features/``, or
``lexicons = [...]`` in ``atproto-bdd.toml``) and the PDS line's own lexicons
(``com.atproto.*``, ``app.bsky.*``) are known; the checks are the reference
libraries' (:mod:`atproto_bdd.services.lexicons`), and a failure quotes the
library's message (``Record must have the property "createdAt"``).

"Every record written in this scenario" reads each PDS's firehose from where
the scenario began (a fresh network: from its first event) up to its head:
every create and update, whoever wrote it - an app, a page, a raw call. A
record whose collection no known lexicon describes is listed as unchecked,
never counted as valid.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError
from ..protocol import dagcbor
from ..protocol.firehose import replay, subscribe_url
from ..protocol.lexicon_docs import LexiconDoc
from ..services.lexicons import LexiconValidator, RecordCheck, XrpcCheck
from .needs import Configured, Describing, OnTheRuntime, PdsHeads

if TYPE_CHECKING:
    from .account import Account
    from .pds import Pds
    from .records import RecordRef


class LexiconsWorld(Configured, Describing, OnTheRuntime, PdsHeads, Protocol):
    """What :class:`Lexicons` uses of the world: settings, names, the runtime, the PDSes and their heads."""

    @property
    def pdses(self) -> Mapping[str, Pds]: ...

    def account(self, handle: str) -> Account: ...


#: Bluesky's record types, for the typo check where the PDS line's own schemas cannot be asked (Docker).
BSKY_RECORDS = frozenset(
    f"app.bsky.{name}"
    for name in (
        "actor.profile",
        "feed.post",
        "feed.like",
        "feed.repost",
        "feed.generator",
        "feed.threadgate",
        "feed.postgate",
        "graph.follow",
        "graph.block",
        "graph.list",
        "graph.listitem",
        "graph.listblock",
        "graph.starterpack",
        "labeler.service",
    )
)


@dataclass(frozen=True)
class WrittenRecord:
    """A record a commit created or updated: where, its value (atproto JSON), and the event's sequence number."""

    pds: str
    uri: str
    collection: str
    value: Any
    seq: int


@dataclass(frozen=True)
class ScenarioRecords:
    """The outcome of checking the scenario's records: each checked one, and those no lexicon describes."""

    checked: list[tuple[WrittenRecord, RecordCheck]]
    unchecked: list[WrittenRecord]

    def summary(self) -> str:
        """One line: how many were checked, and the collections left unchecked."""
        collections = ", ".join(sorted({record.collection for record in self.unchecked}))
        left = f"; unchecked (no lexicon known): {len(self.unchecked)} of {collections}" if collections else ""
        return f"{len(self.checked)} record(s) checked against their lexicons{left}"


class Lexicons:
    """The lexicon checks of a world (``world.lexicons``)."""

    def __init__(self, world: LexiconsWorld, docs: Sequence[LexiconDoc], validator: LexiconValidator | None) -> None:
        self._world = world
        self.docs = {doc.id: doc for doc in docs}
        self._validator = validator
        #: Where each PDS's firehose stood when the scenario began (absent: a PDS of a fresh network, from 0).
        self.scenario_start: dict[str, int] = {}

    @property
    def validator(self) -> LexiconValidator:
        """The validator in the runtime's Node host, with the project's lexicons loaded (on first use)."""
        if self._validator is None:
            self._validator = self._world.runtime.lexicon_validator(list(self.docs.values()))
        return self._validator

    # -- names ----------------------------------------------------------------------------

    def refuse_near_miss(self, nsid: str) -> None:
        """A UsageError if ``nsid`` is no known lexicon but nearly one (a typo): checks on it would prove nothing.

        ``Then alice.test has no app.bsky.feed.pots records`` passes whatever
        alice.test posted. Known: the project's lexicons and the PDS line's
        (only the project's where the runtime has no Node host). A name far
        from every known one (your own collection, without a lexicon) passes.
        """
        try:
            known = self.validator.known_ids()
        except UsageError:  # a runtime without the reference libraries: Bluesky's record types and the project's
            known = BSKY_RECORDS | frozenset(self.docs)
        if nsid in known:
            return
        close = difflib.get_close_matches(nsid, sorted(known), n=1, cutoff=0.9)
        if close:
            raise UsageError(
                f"{nsid} is no collection or method any known lexicon describes, but {close[0]} is: a typo? (A check "
                f"on {nsid} would pass whatever happened. If {nsid} is yours, add its lexicon to lexicons/.)"
            )

    # -- records ------------------------------------------------------------------------

    def validate_record(self, nsid: str, value: Any) -> RecordCheck:
        """What the reference library says of ``value`` (atproto JSON) as a record of the lexicon ``nsid``."""
        return self.validator.check_record(nsid, value)

    def expect_valid_record(self, handle: str, collection: str) -> RecordCheck:
        """Fail unless ``handle``'s latest ``collection`` record is valid against its lexicon (known, then)."""
        ref, value, check = self._check_latest(handle, collection)
        if not check.valid:
            raise AssertionError(
                f"{handle}'s latest {collection} record ({ref.uri}) is not valid against {check.by}: {check.message}\n"
                f"  the record: {shown(value)}"
            )
        return check

    def expect_invalid_record(self, handle: str, collection: str, saying: str) -> RecordCheck:
        """Fail unless ``handle``'s latest ``collection`` record is invalid, the library saying ``saying`` of it."""
        ref, value, check = self._check_latest(handle, collection)
        if check.valid:
            raise AssertionError(
                f"{handle}'s latest {collection} record ({ref.uri}) is valid against {check.by}: {shown(value)}"
            )
        if saying not in check.message:
            raise AssertionError(f"{check.by} says {check.message!r}, expected it to contain {saying!r}")
        return check

    def _check_latest(self, handle: str, collection: str) -> tuple[RecordRef, Any, RecordCheck]:
        """``handle``'s latest ``collection`` record, its value and its check; AssertionError if no lexicon is known."""
        account = self._world.account(handle)
        ref = account.latest(collection)
        value = account.get_record(collection, ref.rkey).value
        check = self.validate_record(collection, value)
        if not check.known:
            raise AssertionError(f"no lexicon describes {collection}, so {ref.uri} cannot be checked; {self._known()}")
        return ref, value, check

    def begin_scenario(self) -> None:
        """Keep where each PDS's firehose is now: the scenario's records come after (in a network shared before)."""
        self.scenario_start = {name: self._world.sequenced_head(name) for name in self._world.pdses}

    def scenario_records(self) -> list[WrittenRecord]:
        """Every record created or updated in this scenario, on every PDS, in each PDS's order (from its firehose)."""
        world = self._world
        found: list[WrittenRecord] = []
        for name, pds in world.pdses.items():
            start, head = self.scenario_start.get(name, 0), world.sequenced_head(name)
            if head <= start:
                continue
            timeout = world.settings.firehose_timeout
            for event in replay(subscribe_url(pds.url, cursor=start), until_seq=head, timeout=timeout):
                if event.type != "commit" or not event.did:
                    continue
                for op in event.ops:
                    if op.action not in ("create", "update") or op.cid is None:
                        continue
                    value = dagcbor.to_json(event.blocks.decode(op.cid))
                    uri = f"at://{event.did}/{op.path}"
                    found.append(WrittenRecord(name, uri, op.collection, value, event.seq or 0))
        return found

    def check_scenario_records(self) -> ScenarioRecords:
        """Check every record of :meth:`scenario_records` against its lexicon."""
        records = self.scenario_records()
        checks = self.validator.check_records([(record.collection, record.value) for record in records])
        checked = [(record, check) for record, check in zip(records, checks, strict=True) if check.known]
        unchecked = [record for record, check in zip(records, checks, strict=True) if not check.known]
        return ScenarioRecords(checked, unchecked)

    def expect_scenario_records_valid(self) -> ScenarioRecords:
        """Fail if a record written in this scenario is invalid against its lexicon; the outcome otherwise."""
        outcome = self.check_scenario_records()
        invalid = [(record, check) for record, check in outcome.checked if not check.valid]
        if invalid:
            names = self._world.name_of
            lines = [
                f"{record.uri} ({names(record.uri.split('/')[2])}'s {record.collection}, PDS {record.pds} "
                f"#{record.seq}) against {check.by}: {check.message}\n      {shown(record.value)}"
                for record, check in invalid
            ]
            raise AssertionError(
                f"{len(invalid)} record(s) written in this scenario are not valid against their lexicons:\n    "
                + "\n    ".join(lines)
                + f"\n  ({outcome.summary()})"
            )
        return outcome

    # -- XRPC -------------------------------------------------------------------------------

    def validate_call(self, nsid: str, *, params: Any = None, input: Any = None, output: Any = None) -> XrpcCheck:
        """What the reference library says of a call's parameters, input and output (those given)."""
        return self.validator.check_xrpc(nsid, params=params, input=input, output=output)

    def expect_valid_call(self, nsid: str, *, params: Any = None, input: Any = None, output: Any = None) -> XrpcCheck:
        """Fail unless the method ``nsid``'s lexicon is known and the call's parts are valid against it."""
        check = self.validate_call(nsid, params=params, input=input, output=output)
        if not check.known:
            raise AssertionError(f"no lexicon describes the method {nsid}; {self._known()}")
        if check.problems:
            parts = "; ".join(f"its {part}: {message}" for part, message in check.problems.items())
            raise AssertionError(f"the call of {nsid} is not valid against {check.by}: {parts}")
        return check

    # -- records from a table ---------------------------------------------------------------------

    def record_from_fields(self, nsid: str, fields: Mapping[str, str]) -> dict[str, Any]:
        """A record of the project's lexicon ``nsid`` from text values, typed by the lexicon.

        Strings stay text; integers, booleans and numbers are read as such;
        anything else (arrays, objects, refs, blobs) is given as JSON.
        Required datetime fields left out are now. A field the lexicon does
        not have is refused, with the fields it has.
        """
        properties, required = self._record_properties(nsid)
        unknown = [name for name in fields if name not in properties]
        if unknown:
            raise UsageError(
                f"{nsid} has no field {unknown[0]!r}; its fields: {', '.join(properties)} "
                f"(required: {', '.join(required) or 'none'})"
            )
        record: dict[str, Any] = {"$type": nsid}
        for name, text in fields.items():
            record[name] = _typed(nsid, name, properties[name], text)
        for name in required:
            if (
                name not in record
                and properties[name].get("type") == "string"
                and properties[name].get("format") == "datetime"
            ):
                record[name] = now()
        return record

    def _record_properties(self, nsid: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
        doc = self.docs.get(nsid)
        main = (doc.doc.get("defs") or {}).get("main") if doc else None
        if not isinstance(main, dict) or main.get("type") != "record":
            raise UsageError(
                f"a record made from a table needs its lexicon's document, and {nsid} is not a record lexicon of "
                f"this project; {self._known()}"
            )
        record = main.get("record") or {}
        properties = record.get("properties") or {}
        return dict(properties), [name for name in record.get("required") or [] if name in properties]

    def _known(self) -> str:
        ours = (
            ", ".join(sorted(self.docs))
            or "none (add lexicons/ beside features/, or lexicons = [...] to atproto-bdd.toml)"
        )
        return f"the project's lexicons: {ours}; and the PDS's own (com.atproto.*, app.bsky.*)"


def shown(value: Any) -> str:
    """A record as a failure shows it: JSON, keys sorted, text as written."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def now() -> str:
    """The current time as an atproto datetime (UTC, milliseconds, ``Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _typed(nsid: str, name: str, schema: Mapping[str, Any], text: str) -> Any:
    kind = schema.get("type")
    try:
        if kind == "string":
            return text
        if kind == "integer":
            return int(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                raise ValueError("expected true or false")
            return text == "true"
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{nsid}'s field {name} is {kind}: {text!r} is not one ({exc})") from None
