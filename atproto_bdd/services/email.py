"""Email capture: a real SMTP server on 127.0.0.1 that keeps every message.

PDSes that "capture email" send their mail (email confirmation, password
reset, account deletion tokens) to it over SMTP, as they would to a real mail
relay. The local runtime runs it in-process with aiosmtpd; messages are kept
in memory and can be awaited with a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Protocol

from ..errors import InstallError
from ..waiting import wait_for_condition
from .ports import on_free_port

#: Seconds aiosmtpd may take to start. It waits this long before it reports a
#: failed bind (a port taken between choosing and binding it), so keep it short.
READY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Mail:
    """One captured message."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    raw: bytes = field(repr=False)
    received_at: float = 0.0

    @classmethod
    def parse(cls, sender: str, recipients: list[str], raw: bytes) -> Mail:
        """Decode an SMTP transaction's data (MIME, any transfer encoding)."""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text = html = ""
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and not text:
                text = str(part.get_content())
            elif kind == "text/html" and not html:
                html = str(part.get_content())
        return cls(
            sender, tuple(r.lower() for r in recipients), str(message.get("subject", "")), text, html, raw, time.time()
        )


class Mailbox(Protocol):
    """Captured email, whatever captures it (in-process SMTP server, Mailpit container)."""

    @property
    def smtp_url(self) -> str:
        """Where PDSes send mail (``PDS_EMAIL_SMTP_URL``)."""
        ...

    def messages(self, to: str | None = None) -> list[Mail]:
        """Every message so far, or those addressed to ``to``."""
        ...

    def wait_for(
        self, to: str, timeout: float, *, after: int = 0, predicate: Callable[[Mail], bool] = lambda m: True
    ) -> Mail | None:
        """The first message to ``to`` after the first ``after`` of them that satisfies ``predicate``."""
        ...

    def close(self) -> None:
        """Stop capturing."""
        ...


class MailCapture:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping every message it receives."""

    def __init__(self) -> None:
        self._messages: list[Mail] = []
        self._changed = threading.Condition()
        self._controller: Any = None

    @property
    def smtp_url(self) -> str:
        """What PDSes are configured with (``PDS_EMAIL_SMTP_URL``)."""
        return f"smtp://127.0.0.1:{self._controller.port}"

    def start(self) -> MailCapture:
        """Start the server on a free port (another one if that was taken before the server bound it)."""
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise InstallError(
                "capturing email needs the aiosmtpd package, which atproto-bdd depends on: reinstall it "
                "(pip install --force-reinstall atproto-bdd) or pip install aiosmtpd"
            ) from None

        capture = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
                capture._add(Mail.parse(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
                return "250 Message accepted for delivery"

        def start(port: int) -> Any:
            controller = Controller(Handler(), hostname="127.0.0.1", port=port, ready_timeout=READY_TIMEOUT)
            try:
                controller.start()  # raises the bind's OSError (EADDRINUSE) when the port was taken
            except BaseException:
                controller.stop(no_assert=True)  # ends its thread, if it got as far as running
                if not controller.loop.is_closed():  # a failed bind leaves its event loop open
                    controller.loop.close()
                raise
            return controller

        self._controller = on_free_port(start)
        return self

    def _add(self, mail: Mail) -> None:
        with self._changed:
            self._messages.append(mail)
            self._changed.notify_all()

    def messages(self, to: str | None = None) -> list[Mail]:
        """Every message so far, or those addressed to ``to``."""
        with self._changed:
            return [m for m in self._messages if to is None or to.lower() in m.recipients]

    def wait_for(
        self, to: str, timeout: float, *, after: int = 0, predicate: Callable[[Mail], bool] = lambda m: True
    ) -> Mail | None:
        """The first message to ``to``, after the first ``after`` of them, that satisfies ``predicate``."""

        def found() -> Mail | None:
            mine = [m for m in self._messages if to.lower() in m.recipients][after:]
            return next((m for m in mine if predicate(m)), None)

        with self._changed:
            return wait_for_condition(self._changed, found, timeout=timeout)

    def close(self) -> None:
        """Stop the server."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
