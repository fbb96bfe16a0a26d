"""Looking ahead at the steps a run or a scenario will use, to learn which services they start.

A step that starts a service is marked with
:func:`~atproto_bdd.steps.support.uses` (``Given a relay crawling PDS A``:
``relay``; ``Given an AppView``: ``appview``). Matching each step of the
features against behave's step registry, as behave will when it runs them,
tells before anything runs:

* which services the run needs built or installed, so that happens before
  the first scenario (:func:`run_services`; ``atproto-bdd run`` does it once
  before its workers start, the hooks in ``before_all``);
* whether a scenario needs an AppView (:func:`scenario_services`): it starts
  first, before the PDSes that are configured with it, wherever its step
  stands among the Background's and the scenario's Given-steps.

A step that matches no definition (a typo, a project step not loaded here)
counts as using nothing: behave reports it as undefined when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .steps.support import USES


def step_services(step: Any, registry: Any) -> tuple[str, ...]:
    """The services the step definition ``step`` matches says it starts (none if it matches nothing)."""
    if registry is None:
        return ()
    try:
        match = registry.find_match(step)
    except Exception:  # an ambiguous or broken definition: behave reports it when the step runs
        return ()
    return tuple(getattr(getattr(match, "func", None), USES, ())) if match is not None else ()


def scenario_services(scenario: Any, registry: Any) -> set[str]:
    """The services the scenario's steps start, its Background's included (tags ``@appview``, ``@ozone`` too)."""
    steps = [*(getattr(scenario, "background_steps", None) or ()), *(getattr(scenario, "steps", None) or ())]
    found = {service for step in steps for service in step_services(step, registry)}
    tags = getattr(scenario, "effective_tags", None) or ()
    found.update(name for name in ("appview", "ozone") if name in tags)
    return found


def run_services(
    features: Iterable[Any], registry: Any, runs: Callable[[Any], bool] = lambda scenario: True
) -> set[str]:
    """The services the scenarios of ``features`` that will run (``runs(scenario)``) start."""
    return {
        service
        for feature in features or ()
        for scenario in feature.walk_scenarios()
        if runs(scenario)
        for service in scenario_services(scenario, registry)
    }


def library_registry() -> Any:
    """behave's step registry holding the library's steps, for looking ahead outside a behave run.

    Importing :mod:`atproto_bdd.steps` registers its steps in behave's
    module-level registry (inside a run behave binds them to its runner's).
    """
    from behave.step_registry import registry

    import atproto_bdd.steps  # noqa: F401 - registers the steps

    return registry
