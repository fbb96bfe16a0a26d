"""The world's network and its PDSes by name: started on first use, the only one found without a name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import UsageError
from ..protocol.identity import PlcClient
from ..services.email import Mailbox
from ..services.network import Network
from ..services.specs import PdsService, PdsSpec
from .pds import Pds

DEFAULT_PDS_NAME = "A"


class PdsesMixin:
    """The network (its PLC directory starts on first use), and its PDSes by name."""

    @property
    def network(self) -> Network:
        """The services of this world; the PLC directory starts on first access."""
        if self._network is None:
            self._network = Network(self.runtime)
        return self._network

    @property
    def started(self) -> bool:
        """True once the network has been started (a scenario may never need it)."""
        return self._network is not None

    @property
    def plc(self) -> PlcClient:
        """A client of the network's PLC directory."""
        if self._plc is None:
            self._plc = PlcClient(self.network.plc.url, timeout=self.settings.request_timeout)
        return self._plc

    @property
    def pdses(self) -> Mapping[str, Pds]:
        """The network's PDSes by name (read-only view)."""
        return MappingProxyType(self._pdses)

    def add_pds(
        self,
        name: str,
        *,
        rate_limits: bool = False,
        capture_email: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> Pds:
        """Start a new PDS called ``name``.

        ``rate_limits`` turns the PDS's rate limiting on (the framework's own
        calls bypass it); ``capture_email`` sends its mail to the run's SMTP
        capture (:attr:`mail`); ``extra_env`` takes the PDS's ``PDS_*`` settings.
        """
        if name in self._pdses:
            raise UsageError(f"PDS {name} already exists in this network")
        smtp_url = self.runtime.mail_capture().smtp_url if capture_email else None
        spec = PdsSpec(name=name, rate_limits=rate_limits, smtp_url=smtp_url, extra_env=dict(extra_env or {}))
        service = self.network.add_pds(spec)
        return self._adopt_pds(service, self.runtime.mail_capture() if capture_email else None)

    def _adopt_pds(self, service: PdsService, mail: Mailbox | None = None) -> Pds:
        """The world's client of a running PDS, known by its name from now on."""
        pds = Pds(service, timeout=self.settings.request_timeout, recorder=self._record, mail=mail)
        self._pdses[service.name] = pds
        return pds

    def restart_pds(self, name: str) -> None:
        """Restart PDS ``name`` (the local runtime), keeping its data, URL, DID and secrets; then go on using it.

        Its accounts, repositories and sessions survive and its firehose's
        sequence numbers continue. Returns once it serves again; the world's
        clients need nothing, and its firehose recorder (if started) resumes
        from its latest event (:meth:`Pds.restarting`). A relay or an AppView
        that reads the PDS subscribes again on its own, after its back-off.
        """
        pds = self.pds(name)
        with pds.restarting():
            pds.service = self.network.restart_pds(name)

    def plc_down(self, seconds: float | None = None) -> None:
        """The network's PLC directory stops answering, for ``seconds`` or until :meth:`plc_up` (local runtime).

        Its operations are kept; it comes back on the same URL. Meanwhile new
        accounts fail (the PDS cannot register their DIDs), and whoever
        resolves a DID it has not cached - an app, the AppView, this world's
        checks - gets a refused connection. The scenario's end brings it back.
        """
        self.network.plc_down(seconds)

    def plc_up(self) -> None:
        """The network's PLC directory answers again from now; returns once it does."""
        self.network.plc_up()

    def ensure_pds(self, name: str, *, rate_limits: bool = False, capture_email: bool = False) -> Pds:
        """The PDS called ``name``, started first if the network does not have it yet.

        An existing PDS must have been started with the same options.
        """
        existing = self._pdses.get(name)
        if existing is None:
            return self.add_pds(name, rate_limits=rate_limits, capture_email=capture_email)
        spec = existing.service.spec
        if spec.rate_limits != rate_limits or bool(spec.smtp_url) != capture_email:
            raise UsageError(
                f"PDS {name} already exists with rate limits {'on' if spec.rate_limits else 'off'} and email "
                f"capture {'on' if spec.smtp_url else 'off'}: declare it once, with the options it needs"
            )
        return existing

    @property
    def mail(self) -> Mailbox:
        """The run's email capture: what PDSes declared with ``capture_email`` have sent."""
        return self.runtime.mail_capture()

    def pds(self, name: str | None = None) -> Pds:
        """The PDS called ``name``; without a name, the network's only PDS."""
        if name is None:
            return self.default_pds(create=False)
        try:
            return self._pdses[name]
        except KeyError:
            raise UsageError.unknown("PDS", name, self._pdses, "declare it first: Given a PDS named " + name) from None

    def default_pds(self, *, create: bool = True) -> Pds:
        """The only PDS of the network; PDS ``A`` is started if there is none and ``create``."""
        if not self._pdses:
            if create:
                return self.add_pds(DEFAULT_PDS_NAME)
            raise UsageError("this network has no PDS yet (declare one: Given a PDS named A)")
        if len(self._pdses) > 1:
            names = ", ".join(sorted(self._pdses))
            raise UsageError(f"this network has several PDSes ({names}): say which one to use")
        return next(iter(self._pdses.values()))
