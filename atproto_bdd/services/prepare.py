"""First-use installs and builds, done ahead: before a run's first scenario, or by ``atproto-bdd install``.

Every service a scenario may start needs something installed first: the PDS
line's npm packages (and Node.js 22 for the 0.5 line), the relay, Jetstream
and Tap built with ``go install``, the AppView's npm packages with Node.js 22
and PostgreSQL. Each is installed once per version into the cache, on first
use. Done inside a scenario, a three-minute build would count as that
scenario's time, so the hooks (behave and pytest) and ``atproto-bdd run``
look ahead at what the run will start and call :func:`prepare_services`
first; the progress lines go to the real stderr, on a terminal or in a CI log.

Three lanes run at the same time: Node.js (npm installs, native modules), Go
(``go install``) and the system's (pip and apt-get: the browser) wait on
different things, so on a fresh machine they overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from ..errors import InstallError
from ..notices import say_once
from ..settings import Settings
from .progress import announce
from .registry import SERVICES as REGISTRY
from .registry import by_lane, with_dependencies

#: The services a run may need prepared, and what preparing each one does (from the registry).
SERVICES = {name: entry.install for name, entry in REGISTRY.items()}


def prepare_services(
    settings: Settings,
    services: Iterable[str],
    *,
    pds_lines: Iterable[str] = (),
    say: Callable[[str], None] = announce,
) -> None:
    """Install ``pds_lines`` and build or install ``services`` (see :data:`SERVICES`) if not done yet.

    What is already in the cache costs a few file checks; a build shows its
    progress line. ``say`` then reports each thing ready (the
    hooks pass a function that says nothing). Raises the first lane's
    :class:`~atproto_bdd.errors.InstallError` after both lanes ran to their end.
    """
    wanted = with_dependencies(services)
    lines = list(dict.fromkeys(pds_lines))
    if not (wanted or lines):
        return
    lanes = [
        lambda: _node_lane(settings, lines, wanted, say),
        lambda: _lane("go", settings, wanted, say),
        lambda: _lane("system", settings, wanted, say),
    ]
    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="atproto-bdd-install") as pool:
        futures = [pool.submit(lane) for lane in lanes]
    for future in futures:
        future.result()


def prepare_ahead(settings: Settings, services: Iterable[str]) -> None:
    """Before a run's first scenario or test: :func:`prepare_services` quietly, a failure said once, not raised.

    The scenarios that start such a service then fail, saying why; the others
    run. Only the local runtime builds anything here (the Docker runtime runs
    images).
    """
    wanted = set(services)
    if not wanted or settings.runtime != "local":
        return
    try:
        prepare_services(settings, wanted, say=lambda text: None)
    except InstallError as exc:
        say_once(f"could not prepare {', '.join(sorted(wanted))}; the scenarios that start them will fail: {exc}")


def _node_lane(settings: Settings, lines: list[str], wanted: set[str], say: Callable[[str], None]) -> None:
    """The PDS lines, then the services built with npm (the AppView: npm, Node.js 22, PostgreSQL)."""
    from .node_install import ensure_node_services

    for line in lines:
        install = ensure_node_services(settings.cache_dir, line=line, node=settings.node, npm=settings.npm)
        say(f"PLC and PDS {line} ready in {install.root} (Node.js {install.node})")
    for entry in by_lane("node", wanted):
        say(entry.prepare_now(settings))


def _lane(lane: str, settings: Settings, wanted: set[str], say: Callable[[str], None]) -> None:
    """The services of ``lane`` in registry order: ``go`` (``go install``; the relay first, the others read it),
    ``system`` (pip and apt-get: the browser)."""
    for entry in by_lane(lane, wanted):
        say(entry.prepare_now(settings))
