"""Apps that outlive a scenario: kept here, by name, until the end of their feature or of the run.

The behave hooks make one :class:`AppScopes` per run; :meth:`World.app
<atproto_bdd.world.World.app>` takes apps whose ``scope`` is ``feature`` or
``run`` from it (attached to the scenario's world), and the hooks close them
when their feature, or the run, ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..services.app_config import AppSpec
from .app import App

if TYPE_CHECKING:
    from .world import World


class AppScopes:
    """The run's longer-lived apps."""

    def __init__(self) -> None:
        self._apps: dict[str, App] = {}

    def get(self, world: World, spec: AppSpec) -> App:
        """The app for ``spec``, made on first use, attached to ``world``."""
        app = self._apps.get(spec.name)
        if app is None:
            app = self._apps[spec.name] = App(world, spec)
        return app.attach(world)

    def close(self, scope: str) -> None:
        """Stop and forget every app of ``scope`` (``feature`` at a feature's end, ``run`` at the run's)."""
        for name, app in list(self._apps.items()):
            if app.spec.scope == scope:
                del self._apps[name]
                try:
                    app.close()
                except Exception:  # one app that fails to stop must not keep the others running
                    pass
