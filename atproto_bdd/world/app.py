"""An app under test in the scenario's network: :class:`App` (``context.atproto.app("feedgen")``).

The app is declared in ``atproto-bdd.toml`` (see
:mod:`atproto_bdd.services.app_config`) and started on demand. Before the
first start it gets a loopback port and, with ``did = "plc"``, a did:plc of
its own in the network's PLC directory (verification methods ``#atproto``
and ``#atproto_label`` with one secp256k1 key, services ``#bsky_fg`` and
``#atproto_labeler`` at its URL). Port and DID stay the same across restarts.
Its environment may use every placeholder, resolved when it starts.

An app's ``scope`` says how long it lives: one scenario (the default), one
feature, or the whole run. An app that outlives a scenario moves from world
to world (:meth:`App.attach`): its DID's genesis operation is submitted to
each new network's PLC directory, so it keeps the same DID everywhere. Its
environment may then refer only to what outlives the network too (``app.*``,
``run_dir``, ``now``), unless its feature shares one network.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from ..errors import TransportError, UsageError
from ..masking import masker
from ..notices import say_once
from ..protocol.http import new_client
from ..protocol.plc_ops import SigningKey, genesis_operation
from ..protocol.xrpc import XrpcClient, error_from_response
from ..services.app_config import AppSpec
from ..services.app_process import AppProcess
from ..services.ports import free_port, on_free_port, port_is_free
from ..waiting import poll
from . import eventual
from .needs import (
    AddsServices,
    Configured,
    HasAccounts,
    Lifetime,
    OnTheRuntime,
    PdsHeads,
    Placeholders,
    Recording,
    RelayWindows,
)
from .placeholders import PLACEHOLDER

if TYPE_CHECKING:
    from .account import Account


class AppWorld(
    Configured,
    Recording,
    OnTheRuntime,
    PdsHeads,
    RelayWindows,
    Placeholders,
    Lifetime,
    HasAccounts,
    AddsServices,
    Protocol,
):
    """What :class:`App` uses of the world: settings, the transcript, the runtime, heads, placeholders, the PLC,
    and accounts (its own)."""


#: Seconds an app has to exit after SIGTERM before it is killed.
STOP_GRACE = 5.0
#: Apps' scopes and worlds' lifetimes, shortest first (pytest: test, module, session).
_SCOPE_ORDER = {"scenario": 0, "feature": 1, "run": 2}
#: Placeholders that mean the same in every network: what an app that outlives its network may use.
STABLE_PLACEHOLDER = re.compile(r"^(app\.[a-z][a-z0-9_-]*\.(url|port|did|signing_key)|run_dir|now)$")


class App:
    """One declared app in one world: start, stop, restart, its log and requests to it."""

    def __init__(self, world: AppWorld, spec: AppSpec) -> None:
        self.spec = spec
        self._world = world
        self._process: AppProcess | None = None
        self._port: int | None = None
        self._did: str | None = None
        self._key: SigningKey | None = None
        self._extra_env: dict[str, str] = {}
        # In the runtime's run directory where it has one (its logs then stay with -D keep_run_dir=true).
        run_dir = getattr(world.runtime, "run_dir", None)
        base = str(run_dir) if run_dir is not None and Path(run_dir).is_dir() else None
        self._dir = Path(
            tempfile.mkdtemp(prefix=f"app-{spec.name}-" if base else f"atproto-bdd-app-{spec.name}-", dir=base)
        )
        self._starts = 0
        #: The log file of the latest start (kept when the start failed: its log says why).
        self._log_path: Path | None = None
        self._plc_operation: dict[str, Any] | None = None
        self._registered_in: set[str] = set()  # ids of the PLC directories that know the app's DID

    def attach(self, world: AppWorld) -> App:
        """Use the app in ``world`` from now on (an app whose scope outlives a scenario moves on).

        Its DID, if it has one already, is registered in the new network's PLC
        directory, with the same genesis operation: the same DID.
        """
        self._world = world
        if self._plc_operation is not None:
            self._register_plc()
        return self

    # -- what the app is ------------------------------------------------------------

    @property
    def name(self) -> str:
        """The app's name in the config (``feedgen``)."""
        return self.spec.name

    @property
    def title(self) -> str:
        """How messages name it: ``the app feedgen``."""
        return f"the app {self.name}"

    def account(self) -> Account:
        """The app's own account (``account = "..."`` in its table), created in this network if it has none yet."""
        if self.spec.account is None:
            raise UsageError(
                f'the app {self.name} has no account of its own: add account = "bot.test" (a handle) to '
                f"{self.spec.source}"
            )
        return self._world.ensure_account(self.spec.account)

    @property
    def port(self) -> int:
        """The loopback port the app must bind (chosen at its first start)."""
        if self._port is None:
            raise UsageError(f"the app {self.name} has not been started yet (Given the app {self.name} is running)")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def reserve_url(self) -> str:
        """The app's URL, its port chosen now if it has none yet (a service that calls it starts first).

        Used by Tap's webhook mode: Tap needs the app's URL before the app
        starts with ``${tap.url}`` in its env. The app then starts on that
        port (another process taking it meanwhile fails the start, saying so).
        """
        if self._port is None:
            self._port = self._pinned_port() or free_port()
        return self.url

    @property
    def signing_key(self) -> SigningKey:
        """The app's secp256k1 key (``${app.NAME.signing_key}`` is its hex)."""
        if self._key is None:
            self._key = SigningKey.generate()
        return self._key

    @property
    def did(self) -> str:
        """The app's DID: its did:plc, or ``did:web:localhost%3A<port>`` with ``did = "web"``."""
        if self.spec.did == "none":
            raise UsageError(f'the app {self.name} has no DID (did = "none" in {self.spec.source})')
        if self.spec.did == "web":
            return f"did:web:localhost%3A{self.port}"
        if self._did is None:
            raise UsageError(f"the app {self.name} has not been started yet (Given the app {self.name} is running)")
        return self._did

    @property
    def has_did(self) -> bool:
        """Whether the app has a DID yet (it gets one at its first start, unless ``did = "none"``)."""
        if self.spec.did == "web":
            return self._port is not None
        return self.spec.did == "plc" and self._did is not None

    @property
    def run_dir(self) -> Path:
        """A scratch directory for the app's data (``${run_dir}`` in its environment)."""
        return self._dir

    @property
    def pid(self) -> int | None:
        """The process id of the app's latest start (None before it started)."""
        return self._process.process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the app's process runs."""
        return self._process is not None and self._process.running

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, extra_env: Mapping[str, str] | None = None) -> App:
        """Start the app (if it does not run yet) and wait until it is ready."""
        if extra_env:
            self._extra_env.update(extra_env)
        if self.running:
            return self
        if self._port is not None:  # a restart keeps the port (and so the DID document's endpoint)
            self._launch(self._port)
        elif self.spec.port is not None:
            self._launch(self._pinned_port())
        else:
            on_free_port(self._launch)
        return self

    def _pinned_port(self) -> int | None:
        """The port pinned with ``port = N``, after checking nothing else listens on it; None if none is pinned."""
        port = self.spec.port
        if port is not None and not port_is_free(port):
            raise UsageError(
                f"the app {self.name} has port = {port} pinned in {self.spec.source}, and port {port} on 127.0.0.1 "
                "is taken by another process (another run, a worker of this one, or the app from before): free it, "
                "run the features that start it on one worker, or remove port to get a free port each run"
            )
        return port

    def _launch(self, port: int) -> None:
        first = self._port is None
        self._port = port
        try:
            if self.spec.did == "plc":
                self._did = self._register_plc()
            if self.spec.account is not None:  # before it starts: a bot signs in at once
                self.account()
            env = self._environment()
            self._starts += 1
            log = self._log_dir() / f"app-{self.name}-{self._starts}.log"
            self._log_path = log
            self._process = None  # the latest start's, or none if it fails (its log file then says why)
            self._process = self._world.runtime.run_app(
                self.spec, port=port, env=env, log_path=log, data_dir=self.run_dir
            )
        except BaseException:
            if first:  # the next port gets a DID of its own (the document names the endpoint)
                self._port = self._did = self._plc_operation = None
            raise

    def _register_plc(self) -> str:
        """The app's did:plc, created at its first start and known to the current world's PLC directory."""
        if self._plc_operation is None or self._did is None:
            key = self.signing_key
            endpoint = f"http://127.0.0.1:{self.port}"
            self._did, self._plc_operation = genesis_operation(
                rotation_keys=[key.did_key],
                verification_methods={"atproto": key.did_key, "atproto_label": key.did_key},
                services={
                    "bsky_fg": {"type": "BskyFeedGenerator", "endpoint": endpoint},
                    "atproto_labeler": {"type": "AtprotoLabeler", "endpoint": endpoint},
                },
                signer=key,
            )
            self._registered_in = set()
        # By service id, not URL: a later network's directory may get an earlier one's port.
        directory = self._world.network.plc.id
        if directory not in self._registered_in:
            self._world.plc.create(self._did, self._plc_operation)
            self._registered_in.add(directory)
        return self._did

    @property
    def outlives_network(self) -> bool:
        """Whether the app lives longer than the current world's network (its env must not point into it)."""
        return _SCOPE_ORDER[self.spec.scope] > _SCOPE_ORDER.get(self._world.lifetime, 0)

    def _environment(self) -> dict[str, str]:
        """The config's env (and the start's extra env), placeholders resolved (the runtime adds what it runs with)."""
        env: dict[str, str] = {}
        extra = {"run_dir": str(self.run_dir)}
        if self.spec.faults:  # its service URLs go through proxies of its own (world/faults.py)
            values = [*self.spec.env.values(), *self._extra_env.values()]
            extra.update(self._world.add_service("faults").placeholders_for(self, values))
        for name, value in {**self.spec.env, **self._extra_env}.items():
            if self.outlives_network:
                self._refuse_network_placeholders(name, value)
            try:
                env[name] = self._world.resolve(value, extra=extra)
            except UsageError as exc:
                raise UsageError(f"the app {self.name}'s env {name}: {exc}") from None
        return env

    def _refuse_network_placeholders(self, name: str, value: str) -> None:
        for match in PLACEHOLDER.finditer(value):
            if not STABLE_PLACEHOLDER.match(match.group(1).strip()):
                raise UsageError(
                    f"the app {self.name}'s env {name} uses {match.group(0)}, which belongs to one scenario's "
                    f"network, but the app (scope = {self.spec.scope!r} in {self.spec.source}) outlives that "
                    'network; use scope = "scenario", or scope = "feature" with the feature tagged @network:feature '
                    "(apps that outlive their network may use ${app.*}, ${run_dir} and ${now})"
                )

    def _log_dir(self) -> Path:
        return self._dir / "logs"

    def stop(self) -> None:
        """Stop the app (SIGTERM, then SIGKILL after :data:`STOP_GRACE` seconds)."""
        if self._process is None:
            return
        # An app that had already exited (killed by a step, crashed) has -SIGKILL or its own code: no warning.
        was_running = self.running
        if self._process.stop(STOP_GRACE) == -signal.SIGKILL and was_running:
            # Every stop of such an app costs the whole grace period: worth telling once.
            say_once(
                f"the app {self.name} did not exit within {STOP_GRACE:g}s of SIGTERM and was killed; "
                "each of its stops costs that long (does it handle SIGTERM, and close open connections?)",
                key=f"slow to stop: {self.name}",
            )

    def kill(self) -> None:
        """Kill the app at once (SIGKILL): a crash, no clean shutdown. ``start()`` or ``restart()`` starts it again."""
        if self._process is not None:
            self._process.kill()

    def cursor(self) -> int:
        """The firehose sequence number the app says it has processed (GET its ``cursor_http``).

        The answer may be a bare number or a JSON object with ``cursor`` or ``seq``.
        """
        path = self.spec.cursor_http
        if not path:
            raise UsageError(f"the app {self.name} declares no cursor_http in {self.spec.source}")
        response = self.http("GET", path)
        if response.status_code >= 400:
            raise error_from_response(response, method="GET", nsid=path)
        try:
            data = json.loads(response.text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            data = data.get("cursor", data.get("seq"))
        if isinstance(data, bool) or not isinstance(data, int):
            raise UsageError(
                f"the app {self.name}'s GET {path} answered {response.text[:80]!r}; expected its cursor: a number, "
                'or {"cursor": N}'
            )
        return data

    def caught_up_check(self) -> Callable[[], int] | None:
        """What proves the app has processed everything up to now (None without ``cursor_http``)."""
        if not self.spec.cursor_http:
            return None
        return lambda: self.wait_caught_up(self._world.settings.app_timeout)

    def wait_caught_up(self, timeout: float) -> int:
        """Wait until the app's cursor reaches the head of the firehose it reads (``cursor_of``); that head.

        The head is read from the PDS (or the relay) when the call starts, so
        whatever an earlier step did is at or below it.
        """
        source = self.spec.cursor_of
        world = self._world
        if source == "relay":
            head, stream = world.relay_head(), "the relay firehose"
        else:
            if source is None and len(world.pdses) != 1:
                names = ", ".join(sorted(world.pdses)) or "none"
                raise UsageError(
                    f"the app {self.name} reads the firehose of which PDS? This network has {names}: set cursor_of "
                    f'(a PDS name or "relay") in {self.spec.source}'
                )
            name = source or next(iter(world.pdses))
            head, stream = world.pds_head(world.pds(name).name), f"the firehose of PDS {name}"
        seen: list[int] = []

        def caught_up() -> bool:
            seen[:] = [self.cursor()]
            return seen[0] >= head

        poll(
            caught_up,
            timeout=timeout,
            on_timeout=lambda: AssertionError(
                f"the app {self.name} did not catch up with {stream} within {timeout:g}s: its cursor "
                f"({self.spec.cursor_http}) is {seen[0] if seen else 'unknown'}, the stream's head is #{head}"
            ),
            max_interval=0.025,
        )
        return head

    def restart(self) -> App:
        """Stop the app and start it again on the same port, with the same DID and environment."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the app for good (the end of its scope) and remove its scratch directory."""
        self.stop()
        if not self._world.settings.keep_run_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    # -- its log -------------------------------------------------------------------------

    def logs(self) -> str:
        """What the app printed in its latest start (stdout and stderr, secrets masked), also a start that failed."""
        if self._process is not None:
            return self._process.log()
        if self._log_path is not None and self._log_path.is_file():
            return masker.mask(self._log_path.read_text(errors="replace"))
        return ""

    def wait_for_log(self, text: str, timeout: float) -> str:
        """Wait up to ``timeout`` for a log line containing ``text``; the line, or AssertionError."""

        def found() -> str | None:
            return next((line for line in self.logs().splitlines() if text in line), None)

        def missing() -> AssertionError:
            tail = "\n".join(f"    {line}" for line in self.logs().splitlines()[-20:]) or "    (empty)"
            return AssertionError(
                f"the app {self.name} did not log {text!r} within {timeout:g}s; its log ends with:\n{tail}"
            )

        return poll(found, timeout=timeout, on_timeout=missing, max_interval=0.05)

    def expect_no_log(self, text: str) -> str:
        """Fail if a line of the app's output contains ``text``, once the app is proved to have caught up.

        With ``cursor_http``, after its cursor reached the firehose's head
        (what it printed while handling the action is in its log by then);
        without, after watching it for ``app_settle`` seconds (said once).
        """

        def failure(logs: str) -> str:
            line = next(line for line in logs.splitlines() if text in line)
            return f"the app {self.name} logged {text!r}: {line.strip()}"

        return eventual.never(
            self.logs,
            lambda logs: any(text in line for line in logs.splitlines()),
            caught_up=self.caught_up_check(),
            settle=self._world.settings.app_settle,
            failure=failure,
            unproved_note=(
                f"'does not log' checks on the app {self.name} watch its output for app_settle seconds: it declares "
                "no cursor_http, so they cannot prove it has seen the action"
            ),
        )

    # -- requests to it ------------------------------------------------------------------

    def http(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An HTTP request to the app (``path`` from its root); the response, whatever its status."""
        try:
            with new_client(timeout=self._world.settings.request_timeout) as client:
                return client.request(method, f"{self.url}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {self.url}{path} failed: {exc}") from None

    def get(self, path: str) -> Any:
        """GET ``path``; the decoded body (JSON, else text), or an XrpcError for a status of 400 or more."""
        response = self.http("GET", path)
        if response.status_code >= 400:
            raise error_from_response(response, method="GET", nsid=path)
        try:
            return response.json()
        except ValueError:
            return response.text

    def xrpc_get(self, nsid: str, params: Mapping[str, Any] | None = None, *, as_account: Any = None) -> Any:
        """An XRPC query to the app; ``as_account`` sends a service-auth JWT that account's PDS issued."""
        headers = {}
        if as_account is not None:
            headers["authorization"] = f"Bearer {as_account.service_auth(self.did, nsid)}"
        client = XrpcClient(
            self.url, name=f"app {self.name}", timeout=self._world.settings.request_timeout, recorder=self._world.record
        )
        try:
            return client.query(nsid, params, headers=headers)
        finally:
            client.close()
