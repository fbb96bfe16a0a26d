"""An account on a PDS, acting through its own session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError, XrpcError
from ..masking import masker
from ..protocol.repo import Repo
from ..services.mail import Mail
from .email import MAIL_KINDS, extract_token
from .oauth import OAuthSession
from .pds import Pds
from .records import (
    BLOB_HOLDER,
    FOLLOW,
    LIKE,
    POST,
    REPOST,
    Blob,
    RecordRef,
    StoredRecord,
    follow_record,
    now_iso,
    post_record,
    subject_record,
)


@dataclass
class Session:
    """The JWTs of a signed-in account."""

    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)

    @classmethod
    def from_output(cls, output: Mapping[str, Any]) -> Session:
        """Build from createAccount / createSession / refreshSession output (tokens get masked)."""
        return cls(masker.register(output["accessJwt"]), masker.register(output["refreshJwt"]))


class Account:
    """An account the framework created: identity, credentials and the records it made.

    Records created through :meth:`create_record` (and the helpers built on it)
    are remembered in creation order; deleting one forgets it. ``latest``
    answers from that memory, everything else asks the PDS.
    """

    def __init__(self, pds: Pds, handle: str, did: str, password: str, email: str, session: Session) -> None:
        self.pds = pds
        self.handle = handle
        self.did = did
        self.password = password
        self.email = email
        self.session = session
        self.records: list[RecordRef] = []
        self.blobs: list[Blob] = []
        self._mail_marks: dict[str, int] = {}
        self._oauth: OAuthSession | None = None

    def __repr__(self) -> str:
        return f"<Account {self.handle} {self.did} on PDS {self.pds.name}>"

    # -- authenticated XRPC -------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """Bearer credentials of the current session plus the framework's internal headers."""
        return {"authorization": f"Bearer {self.session.access_jwt}", **self.pds.internal_headers()}

    def xrpc_get(self, nsid: str, params: Mapping[str, Any] | None = None) -> Any:
        """XRPC query as this account."""
        return self._authed(lambda: self.pds.client.query(nsid, params, headers=self.auth_headers()))

    def xrpc_post(self, nsid: str, body: Any = None, **kwargs: Any) -> Any:
        """XRPC procedure as this account."""
        return self._authed(lambda: self.pds.client.procedure(nsid, body, headers=self.auth_headers(), **kwargs))

    def sign_in(self, password: str | None = None, *, bypass_rate_limits: bool = True) -> Session:
        """Create a new session with ``com.atproto.server.createSession``.

        Sign-ins the framework makes for itself bypass rate limits; pass
        ``bypass_rate_limits=False`` to sign in as a user would.
        """
        headers = self.pds.internal_headers() if bypass_rate_limits else {}
        output = self.pds.xrpc_post(
            "com.atproto.server.createSession",
            {"identifier": self.handle, "password": password or self.password},
            headers=headers,
        )
        self.session = Session.from_output(output)
        return self.session

    def refresh_session(self) -> Session:
        """Exchange the refresh token for a new session."""
        output = self.pds.xrpc_post(
            "com.atproto.server.refreshSession",
            headers={"authorization": f"Bearer {self.session.refresh_jwt}", **self.pds.internal_headers()},
        )
        self.session = Session.from_output(output)
        return self.session

    def _authed(self, call: Any) -> Any:
        try:
            return call()
        except XrpcError as exc:
            if exc.error != "ExpiredToken":
                raise
        self.refresh_session()
        return call()

    # -- records -------------------------------------------------------------

    def create_record(
        self,
        collection: str,
        record: Mapping[str, Any],
        *,
        rkey: str | None = None,
        validate: bool | None = None,
    ) -> RecordRef:
        """Create a record (``$type`` defaults to the collection) and remember it."""
        body: dict[str, Any] = {"repo": self.did, "collection": collection, "record": {"$type": collection, **record}}
        if rkey is not None:
            body["rkey"] = rkey
        if validate is not None:
            body["validate"] = validate
        output = self.xrpc_post("com.atproto.repo.createRecord", body)
        ref = RecordRef(output["uri"], output["cid"])
        self.records.append(ref)
        return ref

    def put_record(self, collection: str, rkey: str, record: Mapping[str, Any]) -> RecordRef:
        """Create or replace the record at ``collection/rkey``."""
        output = self.xrpc_post(
            "com.atproto.repo.putRecord",
            {"repo": self.did, "collection": collection, "rkey": rkey, "record": {"$type": collection, **record}},
        )
        ref = RecordRef(output["uri"], output["cid"])
        self.records = [r for r in self.records if r.uri != ref.uri] + [ref]
        return ref

    def get_record(self, collection: str, rkey: str) -> StoredRecord:
        """Fetch one record from the PDS."""
        output = self.pds.xrpc_get(
            "com.atproto.repo.getRecord", {"repo": self.did, "collection": collection, "rkey": rkey}
        )
        return StoredRecord.from_output(output)

    def get(self, ref: RecordRef) -> StoredRecord:
        """Fetch the record ``ref`` points at."""
        return self.get_record(ref.collection, ref.rkey)

    def list_records(self, collection: str) -> list[StoredRecord]:
        """Every record of ``collection`` in this repository (all pages), newest first."""
        records: list[StoredRecord] = []
        cursor: str | None = None
        while True:
            output = self.pds.xrpc_get(
                "com.atproto.repo.listRecords",
                {"repo": self.did, "collection": collection, "limit": 100, "cursor": cursor},
            )
            records.extend(StoredRecord.from_output(item) for item in output.get("records", []))
            cursor = output.get("cursor")
            if not cursor or not output.get("records"):
                return records

    def delete_record(self, collection: str, rkey: str) -> None:
        """Delete ``collection/rkey`` and forget it."""
        self.xrpc_post("com.atproto.repo.deleteRecord", {"repo": self.did, "collection": collection, "rkey": rkey})
        uri = f"at://{self.did}/{collection}/{rkey}"
        self.records = [r for r in self.records if r.uri != uri]

    def delete(self, ref: RecordRef) -> None:
        """Delete the record ``ref`` points at."""
        self.delete_record(ref.collection, ref.rkey)

    def latest(self, collection: str | None = None) -> RecordRef:
        """The newest remembered record (of ``collection``, if given)."""
        for ref in reversed(self.records):
            if collection is None or ref.collection == collection:
                return ref
        kind = f"{collection} record" if collection else "record"
        raise UsageError(f"{self.handle} has created no {kind} yet in this network")

    # -- OAuth ----------------------------------------------------------------------

    def sign_in_with_oauth(self, password: str | None = None) -> OAuthSession:
        """Sign in through OAuth (PAR, PKCE, sign-in and consent, DPoP-bound tokens)."""
        self._oauth = OAuthSession.sign_in(self, password)
        return self._oauth

    @property
    def oauth(self) -> OAuthSession:
        """The account's latest OAuth session."""
        if self._oauth is None:
            raise UsageError(f"{self.handle} has not signed in with OAuth yet (When {self.handle} signs in with OAuth)")
        return self._oauth

    # -- account lifecycle --------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """``com.atproto.sync.getRepoStatus``: ``active`` and, if inactive, ``status``."""
        return self.pds.xrpc_get("com.atproto.sync.getRepoStatus", {"did": self.did})

    def deactivate(self, delete_after: str | None = None) -> None:
        """Deactivate the account (``com.atproto.server.deactivateAccount``)."""
        body = {"deleteAfter": delete_after} if delete_after else {}
        self.xrpc_post("com.atproto.server.deactivateAccount", body)

    def activate(self) -> None:
        """Reactivate a deactivated account."""
        self.xrpc_post("com.atproto.server.activateAccount")

    def request_account_delete(self) -> None:
        """Ask the PDS to email an account deletion token."""
        self._expect_mail("delete")
        self.xrpc_post("com.atproto.server.requestAccountDelete")

    def delete_account(self, token: str) -> None:
        """Delete the account for good with the emailed token and the password."""
        self.pds.xrpc_post(
            "com.atproto.server.deleteAccount",
            {"did": self.did, "password": self.password, "token": token},
            headers=self.pds.internal_headers(),
        )

    # -- email ---------------------------------------------------------------------

    def request_email_confirmation(self) -> None:
        """Ask the PDS to email an email confirmation token."""
        self._expect_mail("confirm")
        self.xrpc_post("com.atproto.server.requestEmailConfirmation")

    def confirm_email(self, token: str) -> None:
        """Confirm the email address with a token."""
        self.xrpc_post("com.atproto.server.confirmEmail", {"email": self.email, "token": token})

    def email_confirmed(self) -> bool:
        """Whether the PDS has the account's email address as confirmed."""
        return bool(self.xrpc_get("com.atproto.server.getSession").get("emailConfirmed"))

    def request_password_reset(self) -> None:
        """Ask the PDS to email a password reset token (an anonymous request, as from a login page)."""
        self._expect_mail("reset")
        self.pds.xrpc_post(
            "com.atproto.server.requestPasswordReset", {"email": self.email}, headers=self.pds.internal_headers()
        )

    def reset_password(self, token: str, password: str) -> None:
        """Set a new password with a reset token; the account then signs in with it."""
        self.pds.xrpc_post(
            "com.atproto.server.resetPassword",
            {"token": token, "password": password},
            headers=self.pds.internal_headers(),
        )
        self.password = masker.register(password)

    def mails(self) -> list[Mail]:
        """Every captured email to this account's address."""
        return self.pds.require_mail().messages(to=self.email)

    def next_mail(self, timeout: float, kind: str | None = None) -> Mail:
        """The first email after the latest request (of ``kind``: confirm, reset, delete), waiting up to ``timeout``."""
        mail = self.pds.require_mail()
        after = self._mail_marks.get(kind or "any", 0)
        found = mail.wait_for(self.email, timeout, after=after)
        if found is None:
            subjects = [m.subject for m in self.mails()] or "none"
            raise AssertionError(f"no email reached {self.email} within {timeout:g}s (all its emails: {subjects})")
        return found

    def emailed_token(self, kind: str, timeout: float) -> str:
        """The token of the email the latest request of ``kind`` produced."""
        if kind not in self._mail_marks:
            raise UsageError(f"{self.handle} has not requested a {MAIL_KINDS[kind]} email yet")
        return extract_token(self.next_mail(timeout, kind))

    def _expect_mail(self, kind: str) -> None:
        # Mails after this mark answer the request about to be made.
        count = len(self.mails())
        self._mail_marks[kind] = self._mail_marks["any"] = count

    # -- repository sync and blobs -------------------------------------------

    def export_repo(self) -> bytes:
        """The whole repository as CAR bytes (``com.atproto.sync.getRepo``)."""
        return self.pds.xrpc_get("com.atproto.sync.getRepo", {"did": self.did})

    def repo(self) -> Repo:
        """The exported repository, parsed (every block checked against its CID)."""
        return Repo.from_car(self.export_repo())

    def upload_blob(self, data: bytes, mime_type: str, *, keep: bool = True) -> Blob:
        """Upload a blob; with ``keep`` also reference it from a record so the PDS keeps it.

        A PDS discards uploads no record refers to, and will not serve them.
        """
        output = self.xrpc_post("com.atproto.repo.uploadBlob", data=data, content_type=mime_type)
        blob = Blob.from_output(output["blob"], data)
        if keep:
            self.create_record(BLOB_HOLDER, {"blob": blob.ref, "createdAt": now_iso()})
        self.blobs.append(blob)
        return blob

    def get_blob(self, cid: str) -> bytes:
        """Download a blob of this account (``com.atproto.sync.getBlob``)."""
        return self.pds.xrpc_get("com.atproto.sync.getBlob", {"did": self.did, "cid": cid})

    def latest_blob(self) -> Blob:
        """The blob this account uploaded last."""
        if not self.blobs:
            raise UsageError(f"{self.handle} has uploaded no blob yet")
        return self.blobs[-1]

    # -- app.bsky helpers --------------------------------------------------------

    def post(self, text: str, **fields: Any) -> RecordRef:
        """Create an ``app.bsky.feed.post``."""
        return self.create_record(POST, post_record(text, **fields))

    def follow(self, other: Account) -> RecordRef:
        """Follow another account."""
        return self.create_record(FOLLOW, follow_record(other.did))

    def like(self, subject: RecordRef) -> RecordRef:
        """Like a record."""
        return self.create_record(LIKE, subject_record(LIKE, subject))

    def repost(self, subject: RecordRef) -> RecordRef:
        """Repost a record."""
        return self.create_record(REPOST, subject_record(REPOST, subject))
