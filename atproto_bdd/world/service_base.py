"""What a service's world class starts from (services added through the registry: Jetstream, Tap, ...)."""

from __future__ import annotations

from typing import Any, ClassVar


class WorldService:
    """What a service's world class starts from: ``start`` runs it and wraps it (override to wait for more)."""

    #: Its registry name (``jetstream``).
    NAME: ClassVar[str] = ""

    def __init__(self, world: Any, service: Any) -> None:
        self._world = world
        self.service = service

    @classmethod
    def start(cls, world: Any, spec: Any = None) -> Any:
        """Start the service in ``world``'s network (``spec``, or its defaults) and wrap it."""
        return cls(world, world.network.add(cls.NAME, spec))
