"""Tokens in the emails a PDS sends (email confirmation, password reset, account deletion).

The pinned PDS (0.4.x) puts a code of two groups of five base32 characters
(``Y2HUG-P72A7``) on a line of its own in the plain-text part, and in the
HTML part; the confirmation mail also links to ``...?code=<token>``.
"""

from __future__ import annotations

import re

from ..errors import UsageError
from ..services.mail import Mail

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
