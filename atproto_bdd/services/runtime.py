"""The runtime interface: something that starts and stops real services."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .app_config import AppSpec
from .app_process import AppProcess
from .email import Mailbox
from .registry import kind

if TYPE_CHECKING:
    from ..protocol.lexicon_docs import LexiconDoc
    from .lexicons import LexiconValidator
from .snapshots import NetworkSnapshot, PdsSnapshot
from .specs import (
    AppViewService,
    AppViewSpec,
    PdsService,
    PdsSpec,
    PlcService,
    RelayService,
    RelaySpec,
)


class Runtime(ABC):
    """Starts PLC directories and PDS instances for networks, and stops them.

    A runtime lives for a whole test run; networks come and go inside it.
    Use it as a context manager or call :meth:`start` and :meth:`close`.
    """

    name: str = "abstract"

    @abstractmethod
    def start(self) -> None:
        """Prepare the runtime (install, launch the host); idempotent."""

    @abstractmethod
    def start_plc(self) -> PlcService:
        """Start a fresh, empty PLC directory."""

    @abstractmethod
    def start_pds(self, spec: PdsSpec, plc: PlcService) -> PdsService:
        """Start a fresh PDS using ``plc`` as its DID directory."""

    @abstractmethod
    def start_relay(self, spec: RelaySpec, plc: PlcService, pdses: Sequence[PdsService]) -> RelayService:
        """Start a relay crawling ``pdses``; it is subscribed to each of them when this returns."""

    @abstractmethod
    def relay_crawl(self, relay: RelayService, pdses: Sequence[PdsService], *, restart: bool = False) -> RelayService:
        """Make a running relay crawl more PDSes; returns the relay as it now runs.

        The relay restarts for it (its data, cursors and port kept); with
        ``restart`` it restarts even when it crawls every PDS already.
        """

    @abstractmethod
    def mail_capture(self) -> Mailbox:
        """The run's email capture (an SMTP server PDSes can send to), started on first use."""

    def run_app(
        self, spec: AppSpec, *, port: int, env: Mapping[str, str], log_path: Path, data_dir: Path | None = None
    ) -> AppProcess:
        """Start an app under test on ``port`` with ``env`` and wait until it is ready.

        By default a local process (every runtime); the Docker runtime runs an
        app that names an ``image`` as a container, with ``data_dir`` (its
        ``${run_dir}``) mounted at the same path.
        """
        return AppProcess.start(
            spec, port=port, env=env, log_path=log_path, log_max_bytes=self.settings.app_log_max_bytes
        )

    def start_appview(self, spec: AppViewSpec, plc: PlcService, sources: Sequence[str]) -> AppViewService:
        """Start a Bluesky AppView indexing ``sources`` (PDS websocket URLs); its DID goes into ``plc``."""
        raise UsageError(
            f"the {self.name} runtime cannot run an AppView: the official AppView image is not proven here "
            "(no image can be pulled), so only the local runtime runs one (-D runtime=local)"
        )

    def appview_subscribe(self, appview: AppViewService, source: str) -> None:
        """Make the AppView index ``source`` (a PDS's websocket URL) too."""
        raise UsageError(f"the {self.name} runtime runs no AppView")

    def appview_cursors(self, appview: AppViewService) -> dict[str, int]:
        """Each source's sequence number the AppView has read."""
        raise UsageError(f"the {self.name} runtime runs no AppView")

    def appview_wait_indexed(
        self, appview: AppViewService, heads: Mapping[str, int], timeout: float
    ) -> tuple[bool, dict[str, int]]:
        """Wait (``timeout``) until each source's cursor reaches its head in ``heads``, then until it is indexed.

        Returns whether it caught up, and the cursors last seen (for a failure's message).
        """
        raise UsageError(f"the {self.name} runtime runs no AppView")

    def launch(self, name: str, spec: Any, network: Any) -> Any:
        """Start the service ``name`` of the registry for ``network`` with this runtime's launcher for it.

        ``network`` has what the service reads (``network.relay``); a runtime
        without a launcher for it refuses with the runtimes that have one.
        """
        return kind(name).launcher(self.name)(self, spec, network)

    def restart(self, name: str, service: Any, network: Any) -> Any:
        """Stop the running service ``name`` of the registry and start it again on its data and ports.

        Returns the service as it now runs (same URL), once it serves again;
        its clients' connections were dropped. A runtime without a restarter
        for it refuses (:meth:`ServiceKind.restarter`: a :class:`UsageError`
        saying which runtime can).
        """
        return kind(name).restarter(self.name)(self, service, network)

    @abstractmethod
    def stop(self, service_id: str, *, wait: bool = True) -> None:
        """Stop a service; with ``wait=False`` return at once and finish in the background."""

    def restart_pds(self, pds: PdsService) -> PdsService:
        """Stop ``pds`` and start it again keeping its data, port (URL, service DID) and secrets.

        Returns once it serves again (within ``service_timeout``), as the
        service it now is; its connections, firehose subscriptions included,
        were dropped. Only the local runtime can (:class:`UsageError` here).
        """
        raise UsageError(
            f"the {self.name} runtime cannot restart a PDS keeping its data: restarts are for the embedded "
            "runtime only (-D runtime=local)"
        )

    def lexicon_validator(self, docs: Sequence[LexiconDoc]) -> LexiconValidator:
        """A validator with ``docs`` (a project's lexicons) and the PDS line's own, loaded and checked.

        Only a runtime with a Node host has the reference libraries to hand
        (:class:`UsageError` here).
        """
        raise UsageError(
            f"the {self.name} runtime cannot check lexicons: the reference validators (@atproto/lexicon and the "
            "PDS's own schemas) run in the embedded runtime's Node host (-D runtime=local)"
        )

    def plc_down(self, plc: PlcService, seconds: float | None = None) -> None:
        """The PLC directory stops answering (connections closed, new ones refused), keeping its operations.

        With ``seconds`` it answers again on its own after them; else after
        :meth:`plc_up`. Only the local runtime can (:class:`UsageError` here).
        """
        raise UsageError(
            f"the {self.name} runtime cannot take the PLC directory down and bring it back with its operations "
            "(its container keeps them in memory): PLC outages are for the embedded runtime only (-D runtime=local)"
        )

    def plc_up(self, plc: PlcService) -> None:
        """The PLC directory answers again, on its URL, from now (a pending :meth:`plc_down` timer is cancelled)."""
        raise UsageError(f"the {self.name} runtime cannot take the PLC directory down or bring it back")

    def pds_head(self, pds: PdsService) -> int | None:
        """The PDS's latest sequence number, read from the PDS itself; None if this runtime cannot.

        Callers then read it through the firehose (a ``FutureCursor`` probe).
        """
        return None

    #: Whether :meth:`snapshot` and the restores work here (the local runtime's in-memory PLC and PDSes).
    supports_snapshots: bool = False

    def snapshot(self, plc: PlcService, pdses: Sequence[PdsService]) -> NetworkSnapshot:
        """Copy the state of a PLC directory and its PDSes (see :mod:`atproto_bdd.services.snapshots`)."""
        raise UsageError(f"the {self.name} runtime cannot take snapshots of a network")

    def restore_plc(self, snapshot: NetworkSnapshot) -> PlcService:
        """A new PLC directory holding the snapshot's operations."""
        raise UsageError(f"the {self.name} runtime cannot restore snapshots of a network")

    def restore_pds(self, snapshot: PdsSnapshot, plc: PlcService) -> PdsService:
        """A new PDS on a copy of the snapshot's data, on the snapshot PDS's port, pointed at ``plc``."""
        raise UsageError(f"the {self.name} runtime cannot restore snapshots of a network")

    def drop_snapshot(self, snapshot: NetworkSnapshot) -> None:
        """Forget a snapshot and remove its copies."""
        raise UsageError(f"the {self.name} runtime cannot take snapshots of a network")

    @abstractmethod
    def log_tail(self, service_id: str, lines: int = 20) -> str:
        """The last lines of a service's log (secrets masked)."""

    @abstractmethod
    def close(self) -> None:
        """Stop every service and release everything the runtime started."""

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
