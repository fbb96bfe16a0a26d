"""An account's life on its PDS: status, deactivation, reactivation, deletion."""

from __future__ import annotations

from typing import Any

from .email import EmailMixin


class LifecycleMixin(EmailMixin):
    """Deactivate, reactivate and delete the account (deletion needs the emailed token)."""

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
