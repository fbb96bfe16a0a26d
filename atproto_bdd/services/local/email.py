"""Email in the local runtime: one SMTP capture per run, in this process (services/email.py)."""

from __future__ import annotations

from ..email import Mailbox, MailCapture


class EmailMixin:
    """The run's email capture."""

    def mail_capture(self) -> Mailbox:
        """An in-process SMTP server on 127.0.0.1, shared by every PDS of the run that captures email."""
        if self._mail is None:
            self._mail = MailCapture().start()
        return self._mail
