"""The AppView in the local runtime: its own host and PostgreSQL, on first use (services/appview.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...masking import masker
from ..appview import LocalAppViews
from ..specs import (
    AppViewService,
    AppViewSpec,
    PlcService,
)


class AppViewMixin:
    """Starting AppViews, feeding them the PDSes, waiting until they indexed."""

    def expect_appview(self) -> None:
        """Say an AppView will be needed: the next :meth:`start` prepares it in parallel with the network host."""
        self._appview_wanted = True
        if self._host is not None and self.run_dir is not None:
            self.appviews.prepare_in_background()

    @property
    def appviews(self) -> LocalAppViews:
        """The run's AppView host and PostgreSQL, started when the first AppView is."""
        if self._appviews is None:
            run_dir = self.run_dir if self.run_dir is not None else self.host.run_dir
            self._appviews = LocalAppViews(self.settings, run_dir)
        return self._appviews

    def start_appview(self, spec: AppViewSpec, plc: PlcService, sources: Sequence[str]) -> AppViewService:
        """Start an AppView (installing it, Node.js 22 and PostgreSQL first if needed)."""
        return self.appviews.start(spec, plc, sources)

    def appview_subscribe(self, appview: AppViewService, source: str) -> None:
        """Make the AppView index ``source`` too."""
        self.appviews.subscribe(appview, source)

    def appview_cursors(self, appview: AppViewService) -> dict[str, int]:
        """Each source's sequence number the AppView has read."""
        return self.appviews.cursors(appview)

    def appview_wait_indexed(
        self, appview: AppViewService, heads: Mapping[str, int], timeout: float
    ) -> tuple[bool, dict[str, int]]:
        """Wait until the AppView's cursors reach ``heads`` and what it read is indexed (in its host)."""
        return self.appviews.wait_indexed(appview, heads, timeout)

    def postgres_log_tail(self, lines: int = 15) -> str:
        """The last lines of the AppViews' embedded PostgreSQL log ("" if none runs)."""
        postgres = self._appviews.postgres if self._appviews is not None else None
        return masker.mask(postgres.log_tail(lines)) if postgres is not None else ""


def relaunch(runtime: Any, service: AppViewService, network: Any) -> AppViewService:
    """Restart the AppView on its port and database, indexing the same sources (the registry's restarter)."""
    return runtime.appviews.restart(service)
