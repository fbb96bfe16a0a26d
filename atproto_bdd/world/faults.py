"""Faults between an app and the network: dropped connections, outages, latency, thin links (Toxiproxy).

An app that declares ``faults = true`` in its ``[apps.NAME]`` table reaches
the network's services through proxies of its own: the placeholders of its
env that name a service's URL (``${A.url}``, ``${A.ws_url}``, ``${relay.ws_url}``,
``${plc.url}``, ``${jetstream.url}``, ``${tap.url}``, ``${appview.url}``) resolve
to a Toxiproxy proxy in front of that service, one per app and service, so a
fault hits that app only; the framework's own requests and checks go
straight to the services. A proxy is made when the app first starts and
lives with the network.

An upstream is named as the steps name it: ``PDS A``, ``the relay``, ``the
PLC directory``, ``Jetstream``, ``Tap``, ``the AppView``. An app that finds a
service by another way (a DID document's endpoint) reaches it directly.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..errors import UsageError
from ..protocol.websocket import USER_AGENT
from ..services.toxiproxy import ToxiproxyApi, ToxiproxyService
from ..waiting import poll
from .needs import Configured, OnTheRuntime, PdsHeads
from .placeholders import PLACEHOLDER
from .service_base import WorldService

if TYPE_CHECKING:
    from .app import App
    from .relay import Relay

#: A placeholder that names a service's URL: ``(owner, field)``; the owner is a PDS's name or a service.
SERVICE_URL = re.compile(r"^(?P<owner>[A-Za-z0-9_-]+)\.(?P<field>url|ws_url)$")
#: A PDS's log line for a firehose subscription (the host's access log: services/node/host/services.js).
SUBSCRIBE = re.compile(r"UPGRADE /xrpc/com\.atproto\.sync\.subscribeRepos(?:\?(?P<query>\S*))? \((?P<agent>.*)\)$")
#: The relay as a source of firehose subscriptions (:meth:`Faults.expect_resumed`), beside the PDSes' names.
RELAY = "relay"
#: The services an app may be put behind a fault for, as placeholders and steps name them.
SERVICES = {
    "relay": "the relay",
    "plc": "the PLC directory",
    "jetstream": "Jetstream",
    "tap": "Tap",
    "appview": "the AppView",
}


class FaultsWorld(Configured, PdsHeads, OnTheRuntime, Protocol):
    """What :class:`Faults` uses of the world: settings, its PDSes and their logs, placeholders, its apps."""

    def resolve(self, text: str, *, extra: Mapping[str, str] | None = None) -> str: ...

    @property
    def apps(self) -> Mapping[str, App]: ...

    @property
    def has_relay(self) -> bool: ...

    @property
    def relay(self) -> Relay: ...


@dataclass(frozen=True)
class Mark:
    """Where a PDS's subscriptions stood when a fault on it began, and how far each app had read."""

    subscriptions: int
    acknowledged: Mapping[str, int]


@dataclass
class Proxy:
    """One app's proxy in front of one service: its Toxiproxy name, the port it listens on, its toxics."""

    name: str
    port: int
    upstream: str
    toxics: list[str] = field(default_factory=list)
    #: Connections Toxiproxy had accepted on it when the latest fault began.
    accepted_at_fault: int = 0
    restore: threading.Timer | None = None
    #: Whether a fault was made on it since it was last restored (the scenario's end restores it).
    faulty: bool = False


class Faults(WorldService):
    """The network's Toxiproxy and the apps' proxies: make faults between an app and a service."""

    NAME: ClassVar[str] = "faults"
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Faults], str]]] = {"url": lambda faults: faults.service.url}

    def __init__(self, world: FaultsWorld, service: ToxiproxyService) -> None:
        super().__init__(world, service)
        self.api = ToxiproxyApi(service.url)
        self._proxies: dict[tuple[str, str], Proxy] = {}
        self._lock = threading.Lock()
        #: Per PDS name, where things stood when the latest fault on it began (see :meth:`expect_resumed`).
        self._marks: dict[str, Mark] = {}

    # -- the proxies an app's env points at -----------------------------------------

    def placeholders_for(self, app: App, values: list[str]) -> dict[str, str]:
        """The app's proxied URL for each service URL placeholder in ``values`` (proxies made as needed)."""
        proxied: dict[str, str] = {}
        for value in values:
            for match in PLACEHOLDER.finditer(value):
                name = match.group(1).strip()
                found = SERVICE_URL.match(name)
                if found is None or name in proxied:
                    continue
                owner = found.group("owner")
                if owner not in SERVICES and owner not in self._world.pdses:
                    continue
                real = self._world.resolve("${" + name + "}")
                proxied[name] = self._through(app.name, owner, real)
        return proxied

    def _through(self, app: str, owner: str, url: str) -> str:
        """``url`` with its host and port replaced by the app's proxy in front of them."""
        parts = urlsplit(url)
        upstream = f"{parts.hostname}:{parts.port}"
        proxy = self._proxy(app, owner, upstream)
        return urlunsplit((parts.scheme, f"127.0.0.1:{proxy.port}", parts.path, parts.query, parts.fragment))

    def _proxy(self, app: str, owner: str, upstream: str) -> Proxy:
        with self._lock:
            key = (app, owner)
            if key not in self._proxies:
                name = f"{app}-to-{owner}"
                self._proxies[key] = Proxy(name, self.api.create_proxy(name, upstream), upstream)
            return self._proxies[key]

    def proxy(self, app: str, upstream: str) -> Proxy:
        """The proxy between app ``app`` and ``upstream`` (``PDS A``, ``the relay``...); an error names the others."""
        owner = upstream_owner(upstream)
        if (app, owner) not in self._proxies:
            there = ", ".join(f"the app {a} to {describe_owner(o)}" for a, o in sorted(self._proxies)) or "none"
            raise UsageError(
                f"the app {app} does not reach {upstream} through a proxy (its proxies: {there}); an app does when "
                f"its [apps.{app}] table says faults = true and its env names {upstream}'s URL with a placeholder "
                f"(${{{owner}.url}} or ${{{owner}.ws_url}})"
            )
        return self._proxies[(app, owner)]

    # -- faults ------------------------------------------------------------------------

    def drop(self, app: str, upstream: str) -> None:
        """Reset the app's open connections to ``upstream``; new ones succeed."""
        proxy = self._fault(app, upstream)
        self.api.set_enabled(proxy.name, False)
        self.api.set_enabled(proxy.name, True)

    def cut(self, app: str, upstream: str, seconds: float | None = None) -> None:
        """The app cannot reach ``upstream`` (connections closed, new refused), for ``seconds`` or until restored."""
        proxy = self._fault(app, upstream)
        self.api.set_enabled(proxy.name, False)
        if seconds is not None:
            proxy.restore = threading.Timer(seconds, lambda: self._enable_quietly(proxy))
            proxy.restore.daemon = True
            proxy.restore.start()

    def restore(self, app: str, upstream: str) -> None:
        """The app reaches ``upstream`` again, as it did before (no toxics, switched on)."""
        proxy = self.proxy(app, upstream)
        if proxy.restore is not None:
            proxy.restore.cancel()
        for toxic in proxy.toxics:
            self.api.remove_toxic(proxy.name, toxic)
        proxy.toxics.clear()
        self.api.set_enabled(proxy.name, True)
        proxy.faulty = False

    def latency(self, app: str, upstream: str, milliseconds: int) -> None:
        """Every answer from ``upstream`` to the app comes ``milliseconds`` later."""
        proxy = self._fault(app, upstream)
        proxy.toxics.append(self.api.add_toxic(proxy.name, "latency", {"latency": milliseconds, "jitter": 0}))

    def limit(self, app: str, upstream: str, kilobytes_per_second: int) -> None:
        """What ``upstream`` sends the app flows at ``kilobytes_per_second`` at most."""
        proxy = self._fault(app, upstream)
        proxy.toxics.append(self.api.add_toxic(proxy.name, "bandwidth", {"rate": kilobytes_per_second}))

    def _fault(self, app: str, upstream: str) -> Proxy:
        proxy = self.proxy(app, upstream)
        proxy.faulty = True
        proxy.accepted_at_fault = self.accepted(proxy)
        owner = upstream_owner(upstream)
        if owner in self._world.pdses or owner == RELAY:
            self.mark(owner)
        return proxy

    def _enable_quietly(self, proxy: Proxy) -> None:
        try:
            self.api.set_enabled(proxy.name, True)
        except Exception:  # the network stopped meanwhile
            pass

    # -- what the app did ----------------------------------------------------------------

    def accepted(self, proxy: Proxy) -> int:
        """How many connections from the app reached the service through ``proxy`` (Toxiproxy's log says each).

        A connection Toxiproxy accepted but could not carry on to the service
        (it was down: "Unable to open connection to upstream") does not count.
        """
        accepted: set[str] = set()
        failed: set[str] = set()
        log = self.service.log_path.read_text(errors="replace") if self.service.log_path else ""
        for line in log.splitlines():
            if proxy.name not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("name") != proxy.name or "client" not in entry:
                continue
            if entry.get("message") == "Accepted client":
                accepted.add(str(entry["client"]))
            elif entry.get("message") == "Unable to open connection to upstream":
                failed.add(str(entry["client"]))
        return len(accepted - failed)

    # -- resuming a firehose ----------------------------------------------------------

    def subscriptions(self, source: str) -> list[str | None]:
        """The cursors the apps' firehose subscriptions to ``source`` asked for, in order (None: no cursor).

        ``source`` is a PDS's name or ``relay``. A PDS's come from its log (the
        embedded runtime's host writes a line per websocket upgrade); the
        relay's from its own ("new consumer", with the cursor asked for). The
        framework's own subscriptions, which name themselves
        (:data:`~atproto_bdd.protocol.websocket.USER_AGENT`), are left out.
        """
        if source == RELAY:
            return self._relay_subscriptions()
        service_id = self._world.pds(source).service.id
        found: list[str | None] = []
        for line in self._world.runtime.log_tail(service_id, 1_000_000).splitlines():
            match = SUBSCRIBE.search(line)
            if match is None or match.group("agent") == USER_AGENT:
                continue
            cursors = parse_qs(match.group("query") or "").get("cursor")
            found.append(cursors[0] if cursors else None)
        return found

    def _relay_subscriptions(self) -> list[str | None]:
        relay = self._world.relay
        found: list[str | None] = []
        for line in self._world.runtime.log_tail(relay.service.id, 1_000_000).splitlines():
            if '"new consumer"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") != "new consumer" or entry.get("user_agent") == USER_AGENT:
                continue
            cursor = entry.get("cursor")
            found.append(None if cursor is None else str(cursor))
        return found

    def mark(self, source: str) -> None:
        """Note, before a fault on ``source`` (a PDS's name, or ``relay``), its subscriptions and the apps' cursors.

        An app's cursor (``cursor_http``) counts for the firehose it reads
        (``cursor_of``: the relay, or a PDS - the only one when not named).
        """
        acknowledged = {}
        for app in self._world.apps.values():
            reads = app.spec.cursor_of or (next(iter(self._world.pdses)) if len(self._world.pdses) == 1 else None)
            if app.spec.cursor_http and app.running and reads == source:
                try:
                    acknowledged[app.name] = app.cursor()
                except Exception:  # an app that does not answer has acknowledged nothing we can use
                    pass
        self._marks[source] = Mark(len(self.subscriptions(source)), acknowledged)

    def mark_every_source(self) -> None:
        """:meth:`mark` each PDS and the relay: before a fault on an app (a kill) that ends all its subscriptions."""
        for pds in self._world.pdses:
            self.mark(pds)
        if self._world.has_relay:
            self.mark(RELAY)

    def expect_resumed(self, app: str, source: str) -> str:
        """Wait (``app_timeout``) for the app's new subscription to ``source`` after the latest fault; judge it.

        ``source`` is a PDS's name or ``relay``. The subscription must ask for
        a cursor (without one it reads from the live head: what came meanwhile
        is lost), not 0 when the app had read events (a full replay), and not
        past the last event the app had acknowledged (``cursor_http`` at the
        fault: a gap). Returns the cursor asked for.
        """
        stream = "the relay firehose" if source == RELAY else f"the firehose of PDS {source}"
        mark = self._marks.get(source)
        if mark is None:
            where = "the relay" if source == RELAY else f"PDS {source}"
            raise UsageError(
                f"there was no fault on {where} in this scenario yet: the check reads the subscriptions after one "
                f"(When the connection from the app {app} to {where} drops, When the app {app} is killed...)"
            )
        timeout = self._world.settings.app_timeout
        new: list[str | None] = []

        def subscribed() -> bool:
            new[:] = self.subscriptions(source)[mark.subscriptions :]
            return bool(new)

        poll(
            subscribed,
            timeout=timeout,
            max_interval=0.05,
            on_timeout=lambda: AssertionError(
                f"the app {app} did not subscribe to {stream} again within {timeout:g}s of the fault"
            ),
        )
        asked, read = new[0], mark.acknowledged.get(app)
        had = f"it had acknowledged #{read}" if read is not None else "its cursor_http was not known at the fault"
        if asked is None:
            raise AssertionError(
                f"the app {app} subscribed to {stream} again without a cursor ({had}): it reads "
                "from the live head, and what came while it was away is lost"
            )
        if not asked.isdigit():
            raise AssertionError(f"the app {app} subscribed again with the cursor {asked!r}, which is no number")
        if read is not None and read > 0 and int(asked) == 0:
            raise AssertionError(
                f"the app {app} subscribed to {stream} again from cursor 0 ({had}): it replays everything"
            )
        if read is not None and int(asked) > read:
            raise AssertionError(
                f"the app {app} subscribed to {stream} again from #{asked}, past the last event "
                f"it had acknowledged (#{read}): the events between are lost"
            )
        return asked

    def expect_reconnected(self, app: str, upstream: str) -> None:
        """Wait (``app_timeout``) until the app opened a new connection to ``upstream`` after the latest fault."""
        proxy = self.proxy(app, upstream)
        timeout = self._world.settings.app_timeout
        seen: list[int] = [0]

        def reconnected() -> bool:
            seen[0] = self.accepted(proxy)
            return seen[0] > proxy.accepted_at_fault

        poll(
            reconnected,
            timeout=timeout,
            max_interval=0.05,
            on_timeout=lambda: AssertionError(
                f"the app {app} did not connect to {upstream} again within {timeout:g}s of the fault "
                f"({proxy.accepted_at_fault} connection(s) before it, {seen[0]} now)"
            ),
        )

    def end_scenario(self) -> None:
        """Undo the scenario's faults: every proxy switched on, without toxics, no pending restore; marks forgotten.

        A network (and the apps on it) a feature shares outlives its
        scenarios; a fault must not.
        """
        for (app, owner), proxy in list(self._proxies.items()):
            if proxy.faulty:
                self.restore(app, describe_owner(owner))
        self._marks.clear()

    def recorded(self) -> None:
        """It records no events (its log is in the diagnostics with the network's other services)."""
        return None

    def close(self) -> None:
        """Cancel pending restores and close the API client (the proxies go with the network's Toxiproxy)."""
        for proxy in self._proxies.values():
            if proxy.restore is not None:
                proxy.restore.cancel()
        self.api.close()


def upstream_owner(upstream: str) -> str:
    """The placeholder owner of an upstream as steps name it: ``PDS A`` -> ``A``, ``the relay`` -> ``relay``."""
    text = upstream.strip()
    if text.startswith("PDS "):
        return text[4:].strip()
    for owner, title in SERVICES.items():
        if text.lower() == title.lower():
            return owner
    choices = ", ".join(["PDS <name>", *SERVICES.values()])
    raise UsageError(f"unknown upstream {upstream!r}; an app's upstream is one of: {choices}")


def describe_owner(owner: str) -> str:
    """How steps name the upstream ``owner``: ``A`` -> ``PDS A``."""
    return SERVICES.get(owner, f"PDS {owner}")
