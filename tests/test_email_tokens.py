"""Token extraction from emails captured from the pinned PDS (tests/data/emails)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.services.email import Mail
from atproto_bdd.world.email import extract_token

SAMPLES = Path(__file__).parent / "data" / "emails"


@pytest.mark.parametrize(
    "name,subject,token",
    [
        ("confirm-email.eml", "Email Confirmation", "Y2HUG-P72A7"),
        ("reset-password.eml", "Password Reset Requested", "7Y5R6-RRSKJ"),
        ("delete-account.eml", "Account Deletion Requested", "XRHEU-RDBHS"),
    ],
)
def test_tokens_of_the_pinned_pds(name: str, subject: str, token: str) -> None:
    mail = Mail.parse("noreply@pds.test", ["alice.test@example.com"], (SAMPLES / name).read_bytes())
    assert mail.subject == subject
    assert extract_token(mail) == token


def test_html_only_mail() -> None:
    raw = b"Subject: Code\r\nContent-Type: text/html\r\n\r\n<p>Your code: <b>ABCDE-23456</b></p>\r\n"
    assert extract_token(Mail.parse("a@b", ["c@d"], raw)) == "ABCDE-23456"


def test_mail_without_token_is_named() -> None:
    raw = b"Subject: Welcome\r\n\r\nHello there\r\n"
    with pytest.raises(UsageError, match="the email 'Welcome' to c@d holds no token"):
        extract_token(Mail.parse("a@b", ["c@d"], raw))
