"""Captured email read from a Mailpit server's HTTP API (the Docker runtime's mail capture)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..protocol.http import new_client
from ..protocol.xrpc import request_json
from ..waiting import poll
from .email import Mail


class MailpitMailbox:
    """The messages a Mailpit server captured, as :class:`Mail`."""

    def __init__(self, api_url: str, smtp_url: str, *, timeout: float = 15.0, poll: float = 0.1) -> None:
        self.api_url = api_url.rstrip("/")
        self._smtp_url = smtp_url
        self._poll = poll
        self._http = new_client(base_url=self.api_url, timeout=timeout)
        self._seen: dict[str, Mail] = {}

    @property
    def smtp_url(self) -> str:
        """Where PDSes on the test network send mail."""
        return self._smtp_url

    def messages(self, to: str | None = None) -> list[Mail]:
        """Every message so far (oldest first), or those addressed to ``to``."""
        listing = self._get("/api/v1/messages", params={"limit": 1000})
        summaries = sorted(listing.get("messages") or [], key=lambda m: m.get("Created", ""))
        mails = [self._message(summary["ID"]) for summary in summaries]
        return [mail for mail in mails if to is None or to.lower() in mail.recipients]

    def wait_for(
        self, to: str, timeout: float, *, after: int = 0, predicate: Callable[[Mail], bool] = lambda m: True
    ) -> Mail | None:
        """The first message to ``to`` after the first ``after`` of them that satisfies ``predicate``."""
        return poll(
            lambda: next((m for m in self.messages(to)[after:] if predicate(m)), None),
            timeout=timeout,
            on_timeout=None,
            interval=min(0.02, self._poll),
            max_interval=self._poll,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _message(self, message_id: str) -> Mail:
        if message_id not in self._seen:
            detail = self._get(f"/api/v1/message/{message_id}")
            raw = self._http.get(f"/api/v1/message/{message_id}/raw").content
            recipients = [entry.get("Address", "") for entry in detail.get("To") or []]
            sender = (detail.get("From") or {}).get("Address", "")
            self._seen[message_id] = Mail(
                sender,
                tuple(r.lower() for r in recipients),
                detail.get("Subject", ""),
                detail.get("Text", ""),
                detail.get("HTML", ""),
                raw,
                time.time(),
            )
        return self._seen[message_id]

    def _get(self, path: str, **kwargs: Any) -> Any:
        return request_json(self._http, "GET", path, **kwargs)
