"""A labeler under test: its labels over queryLabels and subscribeLabels, and their signatures.

:class:`Labeler` talks to an app the way an AppView or a client does: it
asks ``com.atproto.label.queryLabels`` about a subject (a record's AT-URI or
an account's DID), reads ``com.atproto.label.subscribeLabels`` from cursor
0, and checks each label's signature against the ``#atproto_label`` key of
the DID document its ``src`` names, resolved through the network's PLC
directory. Which labels are in force follows negations (the latest label
for a source, subject and value wins; a negation withdraws it).

Labels may carry fields the lexicon does not define (lexicon objects are
open): they are accepted, said once per run, and outside the signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..notices import say_once
from ..protocol.crypto import PublicKey
from ..protocol.labels import QUERY_LABELS, Label, LabelError, LabelFrame, effective, read_label_stream
from ..protocol.xrpc import XrpcClient
from . import eventual
from .needs import Configured, Describing, Recording, ResolvingDids


class LabelsWorld(Configured, Recording, Describing, ResolvingDids, Protocol):
    """What :class:`Labeler` uses of the world: settings, the transcript, names, DID documents."""


class LabelSource(Protocol):
    """A service that serves labels (an :class:`~.app.App`, the network's :class:`~.ozone.Ozone`)."""

    @property
    def url(self) -> str:
        """Where it serves queryLabels and subscribeLabels."""

    @property
    def title(self) -> str:
        """How messages name it (``the app labeler``, ``Ozone``)."""

    def caught_up_check(self) -> Callable[[], Any] | None:
        """What proves it has processed everything up to now (None if nothing can)."""


#: How many labels one queryLabels page asks for.
PAGE = 250


class Labeler:
    """The labeler an app runs: what it says about subjects, on request and on its stream."""

    def __init__(self, world: LabelsWorld, source: LabelSource) -> None:
        self._world = world
        #: Who serves the labels: an app under test, or the network's Ozone.
        self.source = source

    def query(self, *uri_patterns: str) -> list[Label]:
        """Every label queryLabels returns for ``uri_patterns`` (AT-URIs, DIDs, or prefixes ending in ``*``)."""
        client = XrpcClient(
            self.source.url,
            name=self.source.title,
            timeout=self._world.settings.request_timeout,
            recorder=self._world.record,
        )
        labels: list[Label] = []
        try:
            for item in client.paginate(
                QUERY_LABELS, {"uriPatterns": list(uri_patterns), "limit": PAGE}, items="labels"
            ):
                labels.append(self._parse(item))
        finally:
            client.close()
        return labels

    def _parse(self, item: object) -> Label:
        try:
            label = Label.parse(item)
        except LabelError as exc:
            raise AssertionError(f"{self.source.title} served a malformed label ({exc}): {item!r}") from None
        self._note_extra(label, "queryLabels")
        return label

    def _note_extra(self, label: Label, where: str) -> None:
        """Say once per app and field set that its labels carry fields com.atproto.label.defs#label lacks."""
        if label.extra:
            names = ", ".join(sorted(label.extra))
            say_once(
                f"{self.source.title}'s labels ({where}) carry field(s) com.atproto.label.defs#label does not "
                f"define: {names}; ignored, and outside the signature (lexicon objects are open)",
                key=f"label extra fields: {self.source.title} {where} {names}",
            )

    def labels_on(self, subject: str) -> list[Label]:
        """The labels in force on ``subject`` (negated and expired ones left out)."""
        return effective(label for label in self.query(subject) if label.uri == subject)

    # -- expectations ------------------------------------------------------------------

    def expect_label(self, subject: str, value: str, subject_name: str) -> Label:
        """Wait (``app_timeout``) until the labeler has ``value`` in force on ``subject``."""
        timeout = self._world.settings.app_timeout

        def failure(last: list[Label] | None, error: Exception | None) -> str:
            seen = f"it answered an error: {error}" if error is not None else self._describe(last)
            return f"{self.source.title} did not label {subject_name} with {value} within {timeout:.3g}s; {seen}"

        found = eventual.until(
            lambda: self.labels_on(subject), lambda labels: _has(labels, value), timeout=timeout, failure=failure
        )
        return next(label for label in found if label.val == value)

    def expect_no_label(self, subject: str, value: str, subject_name: str) -> None:
        """Check the labeler does not have ``value`` in force on ``subject``, once it has caught up."""
        name = f"{self.source.title}"
        eventual.never(
            lambda: self.labels_on(subject),
            lambda labels: _has(labels, value),
            caught_up=self.source.caught_up_check(),
            settle=self._world.settings.app_settle,
            failure=lambda found: f"{name} labels {subject_name} with {value}; {self._describe(found)}",
            unproved_note=(
                f"'does not label' checks on {self.source.title} watch it for app_settle seconds: it declares no "
                "cursor_http, so they cannot prove it has seen the action"
            ),
        )

    def expect_on_stream(self, subject: str, value: str, subject_name: str) -> Label:
        """Read subscribeLabels from cursor 0 until a label ``value`` on ``subject`` arrives (``app_timeout``)."""
        timeout = self._world.settings.app_timeout

        def matching(frames: list[LabelFrame]) -> Label | None:
            labels = [label for frame in frames for label in frame.labels]
            return next((label for label in labels if label.uri == subject and label.val == value), None)

        try:
            frames = read_label_stream(
                self.source.url, until=lambda frames: matching(frames) is not None, timeout=timeout
            )
        except LabelError as exc:
            raise AssertionError(f"the label stream of {self.source.title} sent a malformed frame: {exc}") from None
        for frame in frames:
            for label in frame.labels:
                self._note_extra(label, "subscribeLabels")
        found = matching(frames)
        if found is None:
            labels = [label for frame in frames for label in frame.labels]
            infos = [f"#info {frame.info}" for frame in frames if frame.type == "info"]
            raise AssertionError(
                f"the label stream of {self.source.title} showed no {value} on {subject_name} within "
                f"{timeout:.3g}s; it sent {len(frames)} frame(s): {self._describe(labels)}"
                + ("\n    " + "\n    ".join(infos) if infos else "")
            )
        return found

    def verify_signatures(self) -> list[Label]:
        """Check every label queryLabels returns is signed by its source's ``#atproto_label`` key.

        The signature must cover the lexicon's fields (without ``sig``), as
        verifiers check it; fields a labeler adds are outside it. Fails if
        there is no label at all (nothing would have been checked).
        """
        labels = self.query("*")
        if not labels:
            raise AssertionError(f"{self.source.title} has published no labels (queryLabels uriPatterns=*)")
        keys: dict[str, PublicKey | None] = {}
        bad: list[str] = []
        for label in labels:
            if label.src not in keys:
                keys[label.src] = self._world.resolve_did(label.src).verification_key("atproto_label")
            key, shown = keys[label.src], label.describe(self._world.describe_uri)
            problem = label.signature_problem(key) if key is not None else None
            if key is None:
                bad.append(f"{shown}: {label.src}'s DID document has no #atproto_label key")
            elif problem is not None:
                bad.append(f"{shown}: {problem} (key {label.src}#atproto_label)")
        if bad:
            raise AssertionError(
                f"{len(bad)} of {len(labels)} label(s) from {self.source.title} fail:\n    " + "\n    ".join(bad)
            )
        return labels

    def _describe(self, labels: list[Label] | None) -> str:
        if labels is None:
            return "it never answered"
        if not labels:
            return "it has no labels there"
        return "its labels:\n" + "\n".join(f"    {label.describe(self._world.describe_uri)}" for label in labels)


def _has(labels: list[Label], value: str) -> bool:
    return any(label.val == value for label in labels)
