"""The network's Ozone: :class:`Ozone` (``context.atproto.ozone``), its team, reports, moderation events and labels.

Everyone talks to Ozone as in production: a user reports through their own
PDS, which forwards ``com.atproto.moderation.createReport`` to Ozone
(``atproto-proxy: <ozone did>#atproto_labeler``, as a client reporting to a
labeler does); a moderator acts through their PDS the same way
(``tools.ozone.moderation.emitEvent``, with a service-auth token the PDS
signs). The framework's own checks (``queryStatuses``) use Ozone's admin
password. Each action returns once Ozone has pushed what it does to the PDS
and the AppView and its labels are in the AppView (the host's ``ozone.settle``),
so the next step sees the outcome without a sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import UsageError, XrpcError
from ..protocol.http import basic_auth
from ..protocol.xrpc import XrpcClient
from ..services.ozone import OzoneService, OzoneSpec
from . import eventual
from .labels import Labeler
from .needs import Configured, Describing, HasDefaultPds, OnTheRuntime, Recording, ResolvingDids
from .records import RecordRef
from .service_base import WorldService

if TYPE_CHECKING:
    from .account import Account


class OzoneWorld(Configured, Recording, Describing, ResolvingDids, OnTheRuntime, HasDefaultPds, Protocol):
    """What :class:`Ozone` uses of the world: settings, the transcript, names, DID documents (its labels'
    signatures), the runtime and network, and the default PDS."""


#: Ozone's team roles, as steps name them -> the lexicon's value.
ROLES = {
    "admin": "tools.ozone.team.defs#roleAdmin",
    "moderator": "tools.ozone.team.defs#roleModerator",
    "triage": "tools.ozone.team.defs#roleTriage",
}
#: Report reasons (``com.atproto.moderation.defs``), as steps name them.
REASONS = {
    "spam": "com.atproto.moderation.defs#reasonSpam",
    "violation": "com.atproto.moderation.defs#reasonViolation",
    "misleading": "com.atproto.moderation.defs#reasonMisleading",
    "sexual": "com.atproto.moderation.defs#reasonSexual",
    "rude": "com.atproto.moderation.defs#reasonRude",
    "other": "com.atproto.moderation.defs#reasonOther",
    "appeal": "com.atproto.moderation.defs#reasonAppeal",
}
#: A subject's review state in ``queryStatuses``, as steps name it.
REVIEW_STATES = {
    "open": "tools.ozone.moderation.defs#reviewOpen",
    "escalated": "tools.ozone.moderation.defs#reviewEscalated",
    "resolved": "tools.ozone.moderation.defs#reviewClosed",
    "closed": "tools.ozone.moderation.defs#reviewClosed",
    "none": "tools.ozone.moderation.defs#reviewNone",
}

#: What a moderation subject is: an account (its DID) or a record (a strong reference).
Subject = str | RecordRef


def subject_ref(subject: Subject) -> dict[str, Any]:
    """The lexicon's subject for ``subject``: ``com.atproto.admin.defs#repoRef`` or ``com.atproto.repo.strongRef``."""
    if isinstance(subject, RecordRef):
        return {"$type": "com.atproto.repo.strongRef", "uri": subject.uri, "cid": subject.cid}
    return {"$type": "com.atproto.admin.defs#repoRef", "did": subject}


def subject_key(subject: Subject) -> str:
    """How ``queryStatuses`` is asked about ``subject``: its AT-URI or DID."""
    return subject.uri if isinstance(subject, RecordRef) else subject


def role_of(word: str) -> str:
    """The lexicon's role for ``admin``, ``moderator`` or ``triage``; a UsageError listing them."""
    if word not in ROLES:
        raise UsageError(f"unknown Ozone role {word!r}; valid: {', '.join(ROLES)}")
    return ROLES[word]


def reason_of(word: str) -> str:
    """The lexicon's report reason for ``spam``, ``rude``...; a UsageError listing them."""
    if word not in REASONS:
        raise UsageError(f"unknown report reason {word!r}; valid: {', '.join(REASONS)}")
    return REASONS[word]


class Ozone(WorldService):
    """The network's Ozone: its URL and DID, its team, and moderation as users and moderators do it."""

    NAME = "ozone"
    #: The placeholders it offers: ``${ozone.url}``, ``${ozone.did}`` (a labeler DID for your app to trust).
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Ozone], str]]] = {
        "url": lambda ozone: ozone.url,
        "did": lambda ozone: ozone.did,
    }

    def __init__(self, world: OzoneWorld, service: OzoneService) -> None:
        super().__init__(world, service)
        self._world: OzoneWorld = world
        self.service: OzoneService = service
        self.labels = Labeler(world, self)  # type: ignore[arg-type]

    @classmethod
    def start(cls, world: OzoneWorld, spec: Any = None) -> Ozone:
        """Start the network's Ozone: its identity is made first if no PDS runs yet (the hooks make it earlier)."""
        network = world.network
        if network.ozone_identity is None:
            network.plan_ozone(spec if isinstance(spec, OzoneSpec) else None)
        if not network.pdses:
            world.default_pds()  # PDS A, which Ozone pushes takedowns to
        return cls(world, network.add(cls.NAME, network.ozone_identity.spec))

    # -- what it is ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Ozone's URL (``http://localhost:<port>``)."""
        return self.service.url

    @property
    def did(self) -> str:
        """Ozone's did:plc: the ``src`` of its labels, the DID reports and moderators' calls are proxied to."""
        return self.service.did

    @property
    def title(self) -> str:
        """How messages name it."""
        return "Ozone"

    @property
    def proxy(self) -> str:
        """The ``atproto-proxy`` value that sends a call through a PDS to Ozone."""
        return f"{self.did}#atproto_labeler"

    def caught_up_check(self) -> Callable[[], Any]:
        """What proves Ozone has done everything asked of it so far (for 'does not label' checks)."""
        return self.settle

    # -- requests ----------------------------------------------------------------------

    def _client(self) -> XrpcClient:
        return XrpcClient(
            self.url, name="Ozone", timeout=self._world.settings.request_timeout, recorder=self._world.record
        )

    def admin_get(self, nsid: str, params: Mapping[str, Any] | None = None) -> Any:
        """A query to Ozone with its admin password (the framework's own checks)."""
        client = self._client()
        try:
            return client.query(nsid, params, headers=basic_auth("admin", self.service.spec.admin_password))
        finally:
            client.close()

    def admin_post(self, nsid: str, body: Any = None) -> Any:
        """A procedure on Ozone with its admin password."""
        client = self._client()
        try:
            return client.procedure(nsid, body, headers=basic_auth("admin", self.service.spec.admin_password))
        finally:
            client.close()

    def settle(self) -> None:
        """Wait (``appview_timeout``) until Ozone's pushes are sent and its labels are in the AppView."""
        timeout = self._world.settings.appview_timeout
        result = self._world.runtime.appviews.ozone_settle(self.service, timeout)
        if not result.get("settled"):
            problem = f"; its label bridge stopped: {result['error']}" if result.get("error") else ""
            raise AssertionError(
                f"Ozone's labels did not reach the AppView within {timeout:g}s: the bridge read up to label "
                f"#{result.get('cursor')}, Ozone is at #{result.get('head')}{problem}"
            )

    # -- the team ------------------------------------------------------------------------

    def add_member(self, account: Account, role: str = "admin") -> None:
        """Make ``account`` a member of Ozone's team as ``role`` (``admin``, ``moderator``, ``triage``).

        As an admin does in Ozone's UI: ``tools.ozone.team.addMember``, or
        ``updateMember`` for someone already on the team.
        """
        body = {"did": account.did, "role": role_of(role)}
        try:
            self.admin_post("tools.ozone.team.addMember", body)
        except XrpcError as exc:
            if exc.error != "MemberAlreadyExists":
                raise
            self.admin_post("tools.ozone.team.updateMember", body)

    # -- what users and moderators do --------------------------------------------------------

    def report(self, reporter: Account, subject: Subject, reason: str = "spam", text: str | None = None) -> Any:
        """``reporter`` reports ``subject`` to Ozone through their PDS (``reason``: a word of :data:`REASONS`)."""
        body: dict[str, Any] = {"reasonType": reason_of(reason), "subject": subject_ref(subject)}
        if text is not None:
            body["reason"] = text
        answer = reporter.xrpc_post("com.atproto.moderation.createReport", body, proxy=self.proxy)
        self.settle()
        return answer

    def emit(self, moderator: Account, event: Mapping[str, Any], subject: Subject) -> dict[str, Any]:
        """``moderator`` emits a moderation ``event`` on ``subject`` through their PDS; Ozone's answer."""
        body = {"event": dict(event), "subject": subject_ref(subject), "createdBy": moderator.did}
        answer = moderator.xrpc_post("tools.ozone.moderation.emitEvent", body, proxy=self.proxy)
        self.settle()
        return dict(answer)

    def takedown(self, moderator: Account, subject: Subject) -> dict[str, Any]:
        """Take ``subject`` down (``#modEventTakedown``): an account everywhere, a post hidden by a label."""
        return self.emit(moderator, {"$type": "tools.ozone.moderation.defs#modEventTakedown"}, subject)

    def reverse_takedown(self, moderator: Account, subject: Subject) -> dict[str, Any]:
        """Reverse a takedown of ``subject`` (``#modEventReverseTakedown``)."""
        return self.emit(moderator, {"$type": "tools.ozone.moderation.defs#modEventReverseTakedown"}, subject)

    def label(
        self, moderator: Account, subject: Subject, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Add and remove labels on ``subject`` (``#modEventLabel``)."""
        event = {
            "$type": "tools.ozone.moderation.defs#modEventLabel",
            "createLabelVals": list(add),
            "negateLabelVals": list(remove),
        }
        return self.emit(moderator, event, subject)

    def acknowledge(self, moderator: Account, subject: Subject) -> dict[str, Any]:
        """Acknowledge ``subject``: its review closes, and so do its reports (``reportAction: all``)."""
        event = {"$type": "tools.ozone.moderation.defs#modEventAcknowledge", "acknowledgeAccountSubjects": False}
        body = {
            "event": event,
            "subject": subject_ref(subject),
            "createdBy": moderator.did,
            # Without it the subject's review closes but its report rows stay open (Ozone 0.4).
            "reportAction": {"all": True},
        }
        answer = moderator.xrpc_post("tools.ozone.moderation.emitEvent", body, proxy=self.proxy)
        self.settle()
        return dict(answer)

    # -- what Ozone holds ----------------------------------------------------------------------

    def status(self, subject: Subject) -> dict[str, Any] | None:
        """``subject``'s moderation status (``tools.ozone.moderation.queryStatuses``), or None if Ozone has none."""
        answer = self.admin_get("tools.ozone.moderation.queryStatuses", {"subject": subject_key(subject)})
        statuses = answer.get("subjectStatuses") or []
        return statuses[0] if statuses else None

    def expect_review_state(self, subject: Subject, state: str, shown: str) -> dict[str, Any]:
        """Ask ``queryStatuses`` until ``subject``'s review is ``state`` (``open``, ``resolved``...)."""
        if state not in REVIEW_STATES:
            raise UsageError(f"unknown review state {state!r}; valid: {', '.join(REVIEW_STATES)}")
        wanted = REVIEW_STATES[state]
        timeout = self._world.settings.appview_timeout

        def failure(last: dict[str, Any] | None, error: Exception | None) -> str:
            if error is not None:
                seen = f"it answered an error: {error}"
            elif not last:
                seen = "it has no status for it (nobody reported it and no moderator acted on it)"
            else:
                seen = f"its review is {_short(last.get('reviewState'))} (status {_brief(last)})"
            return f"Ozone did not have {shown} {state} within {timeout:g}s; {seen}"

        return eventual.until(
            lambda: self.status(subject),
            lambda status: bool(status) and status.get("reviewState") == wanted,
            timeout=timeout,
            failure=failure,
        )

    def recorded(self) -> None:
        """What diagnostics show of it besides its log: nothing (its requests are in the transcript)."""
        return None

    def close(self) -> None:
        """Nothing to close: the network stops Ozone."""


def _short(value: Any) -> str:
    return str(value).rpartition("#")[2] if value else "none"


def _brief(status: Mapping[str, Any]) -> str:
    keys = ("takendown", "appealed", "lastReportedAt", "lastReviewedAt")
    return ", ".join(f"{key} {status.get(key)!r}" for key in keys if key in status)
