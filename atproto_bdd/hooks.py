"""Layer 5: behave environment hooks that manage the network's lifecycle.

Use them from your ``environment.py``, either as they are::

    from atproto_bdd.hooks import *  # noqa: F401,F403

or by calling them from your own hooks (``atproto_bdd.hooks.before_all(context)``).

Lifecycle:

* ``before_all`` installs the services if needed and starts the runtime (for
  the local runtime: one Node host process, launched already while behave
  loaded the steps and features when the services were installed: the
  ``prestart`` setting). It looks ahead at the run's steps first
  (:mod:`atproto_bdd.lookahead`): whatever the services they start need
  built or installed (the relay, Jetstream, Tap, the AppView) is done then,
  with progress lines, not inside the first scenario that starts one.
* ``before_scenario`` gives every scenario a fresh, isolated network (its own
  PLC directory and PDSes) as ``context.atproto``. Features tagged
  ``@network:feature`` share one network across their scenarios instead
  (``-D network=feature`` makes that the default; ``@network:scenario`` then
  opts a feature back out). A scenario with ``Given an AppView`` anywhere
  among its Background's and its own steps (or tagged ``@appview``) gets its
  AppView first, before the PDSes that are configured with it; the step then
  finds it running. A scenario tagged ``@pds:0.5`` (or a feature)
  runs only when the run uses that PDS line; others are skipped, saying why.
* ``after_scenario`` prints diagnostics for a failed scenario and stops its
  network and its apps; ``after_feature`` stops apps with ``scope =
  "feature"``; ``after_all`` stops everything (apps with ``scope = "run"``
  too). SIGTERM runs the same clean-up as
  Ctrl-C, and the services die with the process even on SIGKILL.
"""

from __future__ import annotations

# behave imports this module (through environment.py) before it loads the step modules and parses the
# features: launch the Node host now, so that its start overlaps with that work. Only the small modules
# the host needs are imported before this call (services/host_prestart.py).
from .services.host_prestart import prestart_for_behave

prestart_for_behave()

import os
import sys
from pathlib import Path
from typing import Any

from .background_snapshots import BackgroundSnapshots
from .diagnostics import diagnostics, screenshots
from .errors import AtprotoBddError, UsageError
from .interrupts import sigterm_as_keyboard_interrupt
from .lookahead import run_services, scenario_services
from .masking import MaskingStream, masker
from .report import scenario_record
from .services.app_config import find_project_dir
from .services.progress import history
from .session import RunSession
from .settings import NETWORK_SCOPES, PDS_VERSIONS, Settings
from .steps.diagnose import explain_undefined
from .world import World

__all__ = [
    "after_all",
    "after_feature",
    "after_scenario",
    "before_all",
    "before_feature",
    "before_scenario",
    "before_step",
]

_FEATURE_WORLD = "_atproto_feature_world"
_SNAPSHOTS = "_atproto_background_snapshots"
_BUILDS_SEEN = "_atproto_builds_seen"


def _registry(context: Any) -> Any:
    """behave's step registry of this run (behave binds the step decorators to its runner's while it runs)."""
    return getattr(getattr(context, "_runner", None), "step_registry", None)


def before_all(context: Any) -> None:
    """Read settings, install signal handling, prepare what the run's services need and start the runtime."""
    sigterm_as_keyboard_interrupt()
    _mask_formatter_output(context)
    try:
        settings = Settings.load(context.config.userdata)
        # The project's config: the config setting (from the working directory), else atproto-bdd.toml in the
        # working directory or the nearest above it (behave run from a subdirectory).
        project = Path.cwd() if settings.config else _project_dir(context)
        session = RunSession(settings, project, worker=os.environ.get("ATPROTO_BDD_WORKER", ""))
        _expose(context, session)
        features = getattr(getattr(context, "_runner", None), "features", [])
        session.start(run_services(features, _registry(context), lambda s: _will_run(s, context.config, settings)))
    except AtprotoBddError:
        # A mistake in the settings, the config or the lexicons, or a tool or service that cannot start (the node
        # setting names no Node.js...): behave reports the hook's error and stops; after_all keeps it from ending
        # with "ABORTED: By user.", which nobody did.
        context.atproto_usage_error = True
        raise


def _project_dir(context: Any) -> Path:
    """Where the project's config is: from the working directory up, else from the features' directory up.

    ``behave ../app/features`` run from elsewhere finds ``../app/atproto-bdd.toml``.
    """
    starts = [Path.cwd()] + [Path(path).resolve() for path in getattr(context.config, "paths", None) or []]
    for start in starts:
        found = find_project_dir(start if start.is_dir() else start.parent)
        if found is not None:
            return found
    return Path.cwd()


def _expose(context: Any, session: RunSession) -> None:
    """Put the session on ``context``, and its parts under the names projects' own hooks already read."""
    context.atproto_session = session
    context.atproto_settings = session.settings
    context.atproto_runtime = session.runtime
    context.atproto_report = session.report
    context.atproto_apps = session.apps
    context.atproto_app_scopes = session.app_scopes


def _will_run(scenario: Any, config: Any, settings: Settings) -> bool:
    """Whether behave will run ``scenario`` (tags, names, ``file:line``) on this run's PDS line."""
    try:
        selected = scenario.should_run(config)
    except Exception:  # a behave whose models answer differently: count the scenario in
        selected = True
    try:
        lines = pds_lines_of(scenario.effective_tags)
    except UsageError:  # an unknown @pds tag: before_scenario fails that scenario, naming it
        lines = []
    return selected and (not lines or settings.pds_version in lines)


def before_feature(context: Any, feature: Any) -> None:
    """Prepare for a feature (a shared network is created on first use; Background snapshots when taken)."""
    setattr(context, _FEATURE_WORLD, None)
    session: RunSession | None = getattr(context, "atproto_session", None)
    snapshots = None
    if session is not None and session.settings.background_snapshots:
        snapshots = BackgroundSnapshots(session.runtime, _registry(context))
    setattr(context, _SNAPSHOTS, snapshots)


def before_scenario(context: Any, scenario: Any) -> None:
    """Give the scenario its network as ``context.atproto`` (skip it if it is tagged for another PDS line)."""
    session: RunSession = context.atproto_session
    settings = session.settings
    wanted = pds_lines_of(scenario.effective_tags)
    if wanted and settings.pds_version not in wanted:
        scenario.skip(f"tagged for PDS {' or '.join(wanted)}; this run uses PDS {settings.pds_version}")
        return
    if network_scope(scenario.effective_tags, settings.network) == "feature":
        world = getattr(context, _FEATURE_WORLD, None)
        if world is None:
            world = session.new_world("feature")
            setattr(context, _FEATURE_WORLD, world)
    else:
        world = session.new_world()
    world.begin_scenario(scenario.name)
    setattr(context, _BUILDS_SEEN, len(history()))
    # The AppView and Ozone's identity come before any PDS, which is configured with them, wherever
    # `Given an AppView` or `Given Ozone moderated by ...` stands.
    services = scenario_services(scenario, _registry(context))
    ozone_first = "ozone" in services
    appview_first = ozone_first or "appview" in services
    snapshots: BackgroundSnapshots | None = getattr(context, _SNAPSHOTS, None)
    if snapshots is not None and world.lifetime == "scenario":  # a shared network runs its Background anyway
        snapshots.begin_scenario(world, scenario, eligible=not appview_first)
    context.atproto = world
    if appview_first:
        try:
            world.plan_ozone() if ozone_first else world.add_appview()
        except AtprotoBddError:  # the step that asks for it tries again and fails with the reason, as a step
            pass


def before_step(context: Any, step: Any) -> None:
    """Remember the running step, so that failures can name it."""
    world = getattr(context, "atproto", None)
    context.atproto_step = step  # steps may look ahead from it (consecutive accounts are created together)
    snapshots: BackgroundSnapshots | None = getattr(context, _SNAPSHOTS, None)
    if snapshots is not None and isinstance(world, World):
        snapshots.before_step(world, context.scenario, step)  # after the Background: its snapshot, if due
    if isinstance(world, World):
        world.begin_step(f"{step.keyword} {step.name}", step.step_type)


def after_scenario(context: Any, scenario: Any) -> None:
    """Report a failed scenario's transcript and logs, then stop a per-scenario network (always)."""
    world = getattr(context, "atproto", None)
    session: RunSession | None = getattr(context, "atproto_session", None)
    if not isinstance(world, World):
        if session is not None and scenario.status.name == "skipped":  # e.g. tagged for the other PDS line
            session.record(scenario_record(scenario, [], ""))
        return
    try:
        _mask_step_errors(scenario)
        registry = _registry(context)
        for step in scenario.all_steps:
            if registry is not None and step.status.name == "undefined":
                for reason in explain_undefined(registry, step.step_type, step.name):
                    sys.__stderr__.write(f"atproto-bdd: undefined step '{step.keyword} {step.name}': {reason}\n")
        invalid_records = _check_records(world, scenario)
        failed = scenario.status.has_failed()
        details = diagnostics(world) if failed else ""
        shots = screenshots(world) if failed else []
        if details:
            location = f"{scenario.location.filename}-{scenario.location.line}"
            saved = session.save_diagnostics(location, details) if session is not None else None
            sys.__stderr__.write(details + (f"\n(saved in {saved})" if saved else "") + "\n")
        if session is not None:
            transcript = [masker.mask(x.summary()) for x in world.transcript]
            record = scenario_record(scenario, transcript, details, notes=_builds_during(context), screenshots=shots)
            session.record(record)
        if invalid_records is not None:
            raise invalid_records  # behave reports it as the scenario's hook error
    finally:
        try:
            world.end_scenario()  # the scenario's own apps stop, even in a network its feature shares
        finally:
            if world is not getattr(context, _FEATURE_WORLD, None):
                world.close()


def _check_records(world: World, scenario: Any) -> AssertionError | None:
    """With ``validate_records``, check a passing scenario's records against their lexicons; the failure, if one.

    The scenario is marked failed (its hook failed) before it is reported, so
    the report and the diagnostics show it.
    """
    if not world.settings.validate_records or not world.started or scenario.status.has_failed():
        return None
    try:
        world.lexicons.expect_scenario_records_valid()
    except AssertionError as exc:
        error = AssertionError(f"validate_records: {exc}")
        scenario.hook_failed = True
        scenario.error_message = str(error)
        return error
    return None


def _builds_during(context: Any) -> list[str]:
    """What was built or installed while the scenario ran (a custom step started a service not looked ahead at)."""
    return [
        f"includes {build.what} ({build.seconds:.0f} s, {build.outcome}): not prepared before the run; "
        "mark the step that starts it with atproto_bdd.steps.support.uses"
        for build in history()[getattr(context, _BUILDS_SEEN, 0) :]
    ]


def _mask_step_errors(scenario: Any) -> None:
    """Mask secrets in the steps' error messages, which the JUnit reporter and the report keep."""
    for step in scenario.all_steps:
        if getattr(step, "error_message", None):
            step.error_message = masker.mask(step.error_message)


def _mask_formatter_output(context: Any) -> None:
    """Route every behave formatter's output through the masker (tracebacks of users' steps too)."""
    for formatter in getattr(getattr(context, "_runner", None), "formatters", None) or []:
        try:
            stream = formatter.open()
        except Exception:  # a formatter without a stream of its own
            continue
        if stream is not None and not isinstance(stream, MaskingStream):
            formatter.stream = MaskingStream(stream)
            opener = getattr(formatter, "stream_opener", None)
            if opener is not None and opener.stream is stream:
                opener.stream = formatter.stream  # behave checks they are the same object when closing


def after_feature(context: Any, feature: Any) -> None:
    """Stop the feature's shared network, if it had one, and the apps with ``scope = "feature"``."""
    world = getattr(context, _FEATURE_WORLD, None)
    snapshots: BackgroundSnapshots | None = getattr(context, _SNAPSHOTS, None)
    try:
        if world is not None:
            world.close()
            setattr(context, _FEATURE_WORLD, None)
        if snapshots is not None:
            setattr(context, _SNAPSHOTS, None)
            snapshots.close()
    finally:
        session: RunSession | None = getattr(context, "atproto_session", None)
        if session is not None:
            session.close_apps("feature")


def after_all(context: Any) -> None:
    """Stop the run's apps, the runtime and every service it started; write the run report."""
    session: RunSession | None = getattr(context, "atproto_session", None)
    if getattr(context, "atproto_usage_error", False):
        _not_aborted_by_user(context)
    if session is None:
        return
    try:
        session.close()
    finally:
        page = session.write_report()
        if page is not None:
            sys.__stderr__.write(f"atproto-bdd: report written to {page}\n")


def _not_aborted_by_user(context: Any) -> None:
    """Clear behave's "aborted" mark after our own usage error (the run still fails: its hook failed)."""
    setter = getattr(context, "_set_root_attribute", None)
    if setter is not None:  # behave >= 1.2.7; older ones print their line, nothing worse
        setter("aborted", False)


def pds_lines_of(tags: Any) -> list[str]:
    """The PDS lines a scenario's ``@pds:<line>`` tags allow (empty: every line)."""
    lines = []
    for tag in tags:
        if tag.startswith("pds:"):
            line = tag.split(":", 1)[1]
            if line not in PDS_VERSIONS:
                raise UsageError(f"unknown tag @{tag}; valid: " + ", ".join(f"@pds:{v}" for v in PDS_VERSIONS))
            lines.append(line)
    return lines


def network_scope(tags: Any, default: str) -> str:
    """``scenario`` or ``feature``, from an ``@network:<scope>`` tag or the default."""
    for tag in tags:
        if tag.startswith("network:"):
            scope = tag.split(":", 1)[1]
            if scope not in NETWORK_SCOPES:
                raise UsageError(f"unknown tag @{tag}; valid: " + ", ".join(f"@network:{s}" for s in NETWORK_SCOPES))
            return scope
    return default
