"""Background snapshots: a feature's Background runs once, and each later scenario gets a copy of its state.

A Background made only of steps marked :func:`~atproto_bdd.steps.support.snapshot_safe`
(``Given a PDS named A``, ``Given an account alice.test``, ``Given the following
accounts:``) leaves the same network before every scenario of its feature. So the
first scenario runs it as usual, and before that scenario's own first step
the hooks take a snapshot of the world (:meth:`World.snapshot
<atproto_bdd.world.World.snapshot>`: the PLC's operations, each PDS's data, the
accounts). Every later scenario with that Background starts in a new world
restored from the snapshot (new services, the same PDS ports and accounts),
and its Background steps then run as usual and find everything in place.

Each scenario still starts from the same clean state, in services of its own:
what one scenario changes is never seen by the next. Anything a snapshot
cannot hold turns it off for that Background (a step not marked safe, a
scenario with an AppView - the hooks then start none -, a network shared by its
feature, the Docker runtime),
and a restore that fails (a port taken meanwhile) runs the Background instead.
``-D background_snapshots=false`` turns it off for the run.
"""

from __future__ import annotations

import sys
from typing import Any

from .errors import AtprotoBddError
from .masking import masker
from .services import Runtime
from .steps.support import SNAPSHOT_SAFE
from .world import World
from .world.snapshots import WorldSnapshot

#: A Background, by where its steps are (a Rule's Background includes the Feature's).
BackgroundKey = tuple[tuple[str, int], ...]


class BackgroundSnapshots:
    """The snapshots of one feature's Backgrounds (the hooks keep one per feature)."""

    def __init__(self, runtime: Runtime, step_registry: Any) -> None:
        self.runtime = runtime
        self._registry = step_registry
        #: A snapshot per Background; None: this Background cannot have one (or taking it failed).
        self._snapshots: dict[BackgroundKey, WorldSnapshot | None] = {}
        self._eligible: dict[BackgroundKey, bool] = {}
        #: The Background whose snapshot the running scenario takes before its own first step.
        self._due: BackgroundKey | None = None

    def begin_scenario(self, world: World, scenario: Any, *, eligible: bool = True) -> bool:
        """Restore the scenario's Background into ``world`` if it has a snapshot; True if it did.

        Otherwise, if the Background can have one, the snapshot is due before
        the scenario's own first step (:meth:`before_step`). ``eligible=False``:
        this scenario neither restores nor takes one (the hooks start its
        AppView before the Background).
        """
        self._due = None
        key = background_key(scenario)
        if key is None or not eligible or not self._is_eligible(key, scenario):
            return False
        if key not in self._snapshots:
            self._due = key
            return False
        snapshot = self._snapshots[key]
        if snapshot is None:
            return False
        try:
            world.restore(snapshot)
        except AtprotoBddError as exc:  # e.g. the port was taken meanwhile: the Background runs as usual
            sys.__stderr__.write(
                masker.mask(f"atproto-bdd: could not restore the Background's snapshot ({exc}); running it instead\n")
            )
            return False
        return True

    def before_step(self, world: World, scenario: Any, step: Any) -> None:
        """Take the due snapshot when the scenario reaches its own first step (its Background passed).

        The snapshot must hold what the Background made and nothing else: if the
        world already runs when the Background begins (a hook of the project
        created something after ours, or an ``@appview`` scenario), none is taken.
        """
        key = self._due
        if key is None:
            return
        background = scenario.background_steps
        if any(step is candidate for candidate in background):
            if step is background[0] and world.started:
                self._due = None
            return
        self._due = None
        try:
            self._snapshots[key] = world.snapshot()
        except AtprotoBddError:  # something a snapshot cannot hold: this Background runs every time
            self._snapshots[key] = None

    def close(self) -> None:
        """Drop every snapshot (their copies in the runtime too)."""
        snapshots, self._snapshots = self._snapshots, {}
        for snapshot in snapshots.values():
            if snapshot is not None:
                try:
                    self.runtime.drop_snapshot(snapshot.network)
                except AtprotoBddError:  # the run directory goes with the runtime anyway
                    pass

    def _is_eligible(self, key: BackgroundKey, scenario: Any) -> bool:
        if key not in self._eligible:
            self._eligible[key] = self.runtime.supports_snapshots and all(
                self._is_safe(step) for step in scenario.background_steps
            )
        return self._eligible[key]

    def _is_safe(self, step: Any) -> bool:
        match = self._registry.find_match(step) if self._registry is not None else None
        return match is not None and getattr(match.func, SNAPSHOT_SAFE, False)


def background_key(scenario: Any) -> BackgroundKey | None:
    """Where the scenario's Background steps are (None when it has none)."""
    steps = list(getattr(scenario, "background_steps", None) or ())
    return tuple((str(step.filename), int(step.line)) for step in steps) or None
