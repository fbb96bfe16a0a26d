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
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError
from ..services.toxiproxy import ToxiproxyApi, ToxiproxyService
from ..waiting import poll
from .needs import Configured, PdsHeads
from .placeholders import PLACEHOLDER
from .service_base import WorldService

if TYPE_CHECKING:
    from .app import App

#: A placeholder that names a service's URL: ``(owner, field)``; the owner is a PDS's name or a service.
SERVICE_URL = re.compile(r"^(?P<owner>[A-Za-z0-9_-]+)\.(?P<field>url|ws_url)$")
#: The services an app may be put behind a fault for, as placeholders and steps name them.
SERVICES = {
    "relay": "the relay",
    "plc": "the PLC directory",
    "jetstream": "Jetstream",
    "tap": "Tap",
    "appview": "the AppView",
}


class FaultsWorld(Configured, PdsHeads, Protocol):
    """What :class:`Faults` uses of the world: settings, its PDSes, and the placeholders' values."""

    def resolve(self, text: str, *, extra: Mapping[str, str] | None = None) -> str: ...


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


class Faults(WorldService):
    """The network's Toxiproxy and the apps' proxies: make faults between an app and a service."""

    NAME: ClassVar[str] = "faults"
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Faults], str]]] = {"url": lambda faults: faults.service.url}

    def __init__(self, world: FaultsWorld, service: ToxiproxyService) -> None:
        super().__init__(world, service)
        self.api = ToxiproxyApi(service.url)
        self._proxies: dict[tuple[str, str], Proxy] = {}
        self._lock = threading.Lock()

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
        proxy.accepted_at_fault = self.accepted(proxy)
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
