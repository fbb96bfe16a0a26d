"""Email capture: one Mailpit container for the run, on every test network as ``mailpit``."""

from __future__ import annotations

from typing import Any

from ...errors import ServiceError
from ..email import Mailbox
from ..mailpit import MailpitMailbox
from ..ports import on_free_port
from .cleanup import CleanupMixin
from .images import ImagesMixin

#: Where PDSes on a test network send mail.
MAILPIT_SMTP = "smtp://mailpit:1025"
MAILPIT_API_PORT = 8025


class MailMixin(CleanupMixin, ImagesMixin):
    """The run's Mailpit container and its mailbox."""

    def mail_capture(self) -> Mailbox:
        """A Mailpit container for the run, joined to every test network (now and later) as ``mailpit``."""
        if self._mailbox is None:

            def start(port: int) -> tuple[Any, int]:
                # Not on a test network (it outlives them all) and without a network label, so
                # that closing the test network it was first needed on does not remove it.
                container = self._run(
                    "mailpit",
                    name="mailpit",
                    network=None,
                    labels=self.labels(),
                    ports={f"{MAILPIT_API_PORT}/tcp": ("127.0.0.1", port)},
                )
                return container, port

            mailpit, port = on_free_port(start)
            with self._removed_on_error(mailpit):
                for network in list(self._networks.values()):
                    self._join(mailpit, network)
                api = f"http://127.0.0.1:{port}"
                self._health("Mailpit", f"{api}/livez", mailpit)
            self._mailpit = mailpit
            self._mailbox = MailpitMailbox(api, MAILPIT_SMTP, timeout=self.settings.request_timeout)
        return self._mailbox

    def _join(self, mailpit: Any, network: Any) -> None:
        """Connect Mailpit to ``network``, unless that network was removed meanwhile (a closing scenario's)."""
        from docker.errors import DockerException

        try:
            network.connect(mailpit, aliases=["mailpit"])
            self._note_address(mailpit, network.name, "mailpit")
        except DockerException as exc:
            try:
                network.reload()
            except DockerException:
                return  # removed in the background while we looked: nothing will send mail from it
            raise ServiceError(f"could not connect Mailpit to network {network.name}: {exc}") from None

    def _close_mail(self) -> None:
        """Close the mailbox's client; the container goes with the run's others."""
        if self._mailbox is not None:
            self._mailbox.close()
        self._mailpit = self._mailbox = None
