"""Email an account receives: requesting it, waiting for it, and the tokens in it.

The pinned PDS (0.4.x) puts a code of two groups of five base32 characters
(``Y2HUG-P72A7``) on a line of its own in the plain-text part, and in the
HTML part; the confirmation mail also links to ``...?code=<token>``.
"""

from __future__ import annotations

import re

from ..errors import UsageError
from ..masking import masker
from ..services.email import Mail
from .session import AccountCore

TOKEN = re.compile(r"\b([A-Z2-7]{5}-[A-Z2-7]{5})\b")
#: The emails a token can be requested for, by the name the world API uses.
MAIL_KINDS = {"confirm": "email confirmation", "reset": "password reset", "delete": "account deletion"}


def extract_token(mail: Mail) -> str:
    """The token in ``mail``; UsageError naming the subject if there is none."""
    for body in (mail.text, mail.html):
        lines = [line.strip() for line in body.splitlines()]
        alone = [line for line in lines if TOKEN.fullmatch(line)]
        if alone:
            return alone[-1]
        found = TOKEN.findall(body)
        if found:
            return found[-1]
    raise UsageError(f"the email {mail.subject!r} to {', '.join(mail.recipients)} holds no token")


class EmailMixin(AccountCore):
    """Email confirmation, password reset, and the mails (and tokens) the account received.

    A request notes how many mails the account had, so :meth:`next_mail`
    answers with the mail that request produced, not an older one.
    """

    _mail_marks: dict[str, int]

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
