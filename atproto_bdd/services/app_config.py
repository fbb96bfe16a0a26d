"""The apps a project declares: ``atproto-bdd.toml`` (or ``[tool.atproto-bdd]`` in ``pyproject.toml``).

One table per app::

    [apps.feedgen]
    command = ["python", "feedgen.py"]   # or a string, split like a shell would
    cwd = "."                            # relative to the config file
    ready_http = "/.well-known/did.json" # or ready_log = "regex", or ready_tcp = true
    ready_timeout = 30
    port = 3000                          # optional: pin its port (an app that hard-codes it); default: a free one
    did = "plc"                          # "plc", "web" or "none"
    scope = "scenario"                   # or "feature", "run"
    image = "ghcr.io/me/feedgen:1"       # optional, Docker runtime: run this image (command: its command)
    cursor_http = "/cursor"              # optional: the firehose sequence number the app has processed
    cursor_of = "A"                      # whose firehose that is: a PDS name or "relay" (default: the only PDS)
    account = "pingbot.test"             # optional: the app's own account (a bot's), made before it starts
    faults = true                        # optional: its env's service URLs go through proxies (Toxiproxy)

    [apps.feedgen.sign_in]               # optional: how a person signs in to a web app (its OAuth client)
    path = "/login"                      # the page with the sign-in form (default "/")
    field = "Handle"                     # the field for the handle: label, placeholder or name (default "Handle")
    button = "Log in"                    # the button that starts it (default "Sign in")

    [apps.feedgen.env]
    PORT = "${app.feedgen.port}"

Beside the apps, where the project's lexicons are (default: ``lexicons/`` in
the project directory, if it exists)::

    lexicons = ["lexicons", "../shared/lexicons/status.json"]   # directories or files, relative to the file

The file is looked up in the project directory (behave's working directory):
the ``config`` setting if given, else ``atproto-bdd.toml``, else
``pyproject.toml``'s ``[tool.atproto-bdd]``. Every mistake (bad TOML, an
unknown key, a missing command) is one message naming the file and the key.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..protocol.syntax import HANDLE_PATTERN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = "atproto-bdd.toml"
APP_KEYS = (
    "command",
    "cwd",
    "env",
    "ready_http",
    "ready_log",
    "ready_tcp",
    "ready_timeout",
    "did",
    "scope",
    "cursor_http",
    "cursor_of",
    "image",
    "port",
    "sign_in",
    "account",
    "faults",
)
#: ``[apps.NAME.sign_in]``: how a person signs in to the app, with the defaults.
SIGN_IN_DEFAULTS = {"path": "/", "field": "Handle", "button": "Sign in"}
DID_METHODS = ("plc", "web", "none")
#: How long an app lives: one scenario, one feature, or the whole run (per worker).
APP_SCOPES = ("scenario", "feature", "run")
APP_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class AppSpec:
    """One declared app: how to start it and when it is ready."""

    name: str
    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready_http: str | None = None
    ready_log: str | None = None
    ready_tcp: bool = False
    ready_timeout: float = 30.0
    did: str = "plc"
    scope: str = "scenario"
    cursor_http: str | None = None
    cursor_of: str | None = None
    image: str | None = None
    #: A pinned port (``port = 3000``: the app hard-codes it, in its redirect URIs say); None: a free one each run.
    port: int | None = None
    #: How a person signs in to it (``[apps.NAME.sign_in]``: path, field, button; see SIGN_IN_DEFAULTS).
    sign_in: Mapping[str, str] = field(default_factory=lambda: dict(SIGN_IN_DEFAULTS))
    #: The handle of the app's own account (a bot's), created before it starts; None: it acts as nobody.
    account: str | None = None
    #: Its env's service URLs point at proxies of its own (Toxiproxy), so faults can be put between it and them.
    faults: bool = False
    source: str = ""  # the file (and table) it was declared in, for messages


@dataclass(frozen=True)
class AppConfig:
    """Every app a project declares, by name."""

    apps: Mapping[str, AppSpec] = field(default_factory=dict)
    source: str = ""
    #: Where the project's lexicon documents are (directories or files); see :mod:`atproto_bdd.protocol.lexicon_docs`.
    lexicons: tuple[Path, ...] = ()

    def app(self, name: str) -> AppSpec:
        """The app called ``name``, or an error listing the declared ones."""
        if name not in self.apps:
            declared = ", ".join(sorted(self.apps)) or "none"
            where = self.source or f"{CONFIG_FILE} (not found)"
            raise UsageError(f"unknown app {name!r}; apps declared in {where}: {declared}")
        return self.apps[name]


def find_config(directory: Path, explicit: str = "") -> tuple[Path, dict[str, Any]] | None:
    """The config file and its atproto-bdd table, looked up in ``directory`` (None if there is none)."""
    if explicit:
        path = (directory / explicit).resolve()
        if not path.is_file():
            raise UsageError(f"the config file {path} (setting config) does not exist")
        table = _read(path)
        return path, table.get("tool", {}).get("atproto-bdd", {}) if path.name == "pyproject.toml" else table
    own = directory / CONFIG_FILE
    if own.is_file():
        return own, _read(own)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        table = _read(pyproject).get("tool", {}).get("atproto-bdd")
        if table is not None:
            return pyproject, table
    return None


#: Files that mark a project's root: the search for its config stops there (another project's is not ours).
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini", ".git")


def find_project_dir(start: Path) -> Path | None:
    """The nearest directory from ``start`` up with a config (``atproto-bdd.toml``, or ``[tool.atproto-bdd]``).

    pytest run from ``tests/`` finds the project's file beside it. The search
    stops at a project's root (a ``pyproject.toml``, ``.git``...): None if
    there is none up to it.
    """
    for directory in (start, *start.parents):
        if find_config(directory) is not None:
            return directory
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return None
    return None


def load_config(directory: Path, explicit: str = "") -> AppConfig:
    """The apps declared for the project in ``directory`` (none if it has no config)."""
    found = find_config(directory, explicit)
    default_lexicons = (directory / "lexicons",) if (directory / "lexicons").is_dir() else ()
    if found is None:
        return AppConfig(source=f"{CONFIG_FILE} (not found in {directory})", lexicons=default_lexicons)
    path, table = found
    where = str(path) if path.name != "pyproject.toml" else f"{path} [tool.atproto-bdd]"
    _no_unknown(table, ("apps", "lexicons"), where, "")
    apps = table.get("apps", {})
    if not isinstance(apps, dict):
        raise UsageError(f"{where}: apps must be a table of apps ([apps.NAME])")
    lexicons = table.get("lexicons")
    if lexicons is None:
        lexicon_paths = default_lexicons
    elif isinstance(lexicons, list) and all(isinstance(item, str) and item for item in lexicons):
        lexicon_paths = tuple((path.parent / item).resolve() for item in lexicons)
    else:
        raise UsageError(
            f"{where}: lexicons must be a list of paths (directories of .json files, or files), relative to the "
            f'file: lexicons = ["lexicons"]; got {lexicons!r}'
        )
    apps_by_name = {name: _app(name, spec, path.parent, where) for name, spec in apps.items()}
    return AppConfig(apps_by_name, where, lexicon_paths)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None


def _no_unknown(table: Mapping[str, Any], valid: tuple[str, ...], where: str, prefix: str) -> None:
    unknown = [key for key in table if key not in valid]
    if unknown:
        raise UsageError(f"{where}: unknown key {prefix}{unknown[0]}; valid keys: {', '.join(valid)}")


def _app(name: str, spec: Any, base: Path, where: str) -> AppSpec:
    key = f"apps.{name}"
    if not APP_NAME.match(name):
        raise UsageError(f"{where}: app name {name!r} must be lower-case letters, digits, - and _")
    if not isinstance(spec, dict):
        raise UsageError(f"{where}: {key} must be a table")
    _no_unknown(spec, APP_KEYS, where, f"{key}.")
    image = spec.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip()):
        raise UsageError(f"{where}: {key}.image must be an image name (ghcr.io/me/app:1)")
    command = spec.get("command", [] if image else None)
    if isinstance(command, str):
        command = shlex.split(command)
    valid = isinstance(command, list) and all(isinstance(part, str) for part in command)
    if "command" in spec and not valid:
        raise UsageError(
            f'{where}: {key}.command must be a list of strings (["python", "app.py"]) or a string, got '
            f"{spec['command']!r}"
        )
    if not valid or (not command and not image):
        raise UsageError(
            f'{where}: {key}.command is required (unless it has an image): a list of strings (["python", "app.py"]) '
            "or a string"
        )
    cwd = spec.get("cwd", ".")
    if not isinstance(cwd, str) or not cwd:
        raise UsageError(f"{where}: {key}.cwd must be a directory (a path relative to the file), got {cwd!r}")
    env = spec.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(value, (str, int, float, bool)) for value in env.values()):
        raise UsageError(f"{where}: {key}.env must be a table of strings")
    ready = [option for option in ("ready_http", "ready_log", "ready_tcp") if spec.get(option)]
    if len(ready) > 1:
        raise UsageError(f"{where}: {key} sets {' and '.join(ready)}; choose one readiness check")
    if "ready_log" in spec:
        if not isinstance(spec["ready_log"], str):
            raise UsageError(f"{where}: {key}.ready_log must be a regular expression (text), got {spec['ready_log']!r}")
        try:
            re.compile(spec["ready_log"])
        except re.error as exc:
            raise UsageError(f"{where}: {key}.ready_log is not a valid regular expression: {exc}") from None
    did = spec.get("did", "plc")
    if did not in DID_METHODS:
        raise UsageError(f"{where}: {key}.did is {did!r}; valid: {', '.join(DID_METHODS)}")
    scope = spec.get("scope", "scenario")
    if scope not in APP_SCOPES:
        raise UsageError(f"{where}: {key}.scope is {scope!r}; valid: {', '.join(APP_SCOPES)}")
    for option in ("ready_http", "cursor_http"):
        if option in spec and (not isinstance(spec[option], str) or not spec[option].startswith("/")):
            raise UsageError(f"{where}: {key}.{option} must be a path starting with / (got {spec[option]!r})")
    if "cursor_of" in spec and "cursor_http" not in spec:
        raise UsageError(f"{where}: {key}.cursor_of needs cursor_http (the path that answers the app's cursor)")
    if "cursor_of" in spec and not isinstance(spec["cursor_of"], str):
        raise UsageError(f'{where}: {key}.cursor_of must be a PDS name or "relay"')
    port = spec.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise UsageError(f"{where}: {key}.port must be a TCP port number, 1 to 65535 (got {port!r})")
    sign_in = spec.get("sign_in", {})
    if not isinstance(sign_in, dict):
        raise UsageError(f"{where}: {key}.sign_in must be a table (path, field, button)")
    _no_unknown(sign_in, tuple(SIGN_IN_DEFAULTS), where, f"{key}.sign_in.")
    for option, value in sign_in.items():
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{where}: {key}.sign_in.{option} must be a non-empty string")
    if not sign_in.get("path", "/").startswith("/"):
        raise UsageError(f"{where}: {key}.sign_in.path must start with / (got {sign_in['path']!r})")
    account = spec.get("account")
    if account is not None and (not isinstance(account, str) or not re.fullmatch(HANDLE_PATTERN, account)):
        raise UsageError(f'{where}: {key}.account must be the handle of its account ("pingbot.test"), got {account!r}')
    faults = spec.get("faults", False)
    if not isinstance(faults, bool):
        raise UsageError(f"{where}: {key}.faults must be true or false (got {faults!r})")
    timeout = spec.get("ready_timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise UsageError(f"{where}: {key}.ready_timeout must be a positive number of seconds (got {timeout!r})")
    if not isinstance(spec.get("ready_tcp", False), bool):
        raise UsageError(f"{where}: {key}.ready_tcp must be true or false (got {spec['ready_tcp']!r})")
    return AppSpec(
        name=name,
        command=tuple(command),
        cwd=(base / cwd).resolve(),
        env={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in env.items()},
        ready_http=spec.get("ready_http"),
        ready_log=spec.get("ready_log"),
        ready_tcp=bool(spec.get("ready_tcp", False)),
        ready_timeout=float(timeout),
        did=did,
        scope=scope,
        cursor_http=spec.get("cursor_http"),
        cursor_of=spec.get("cursor_of"),
        image=image,
        port=port,
        sign_in={**SIGN_IN_DEFAULTS, **sign_in},
        account=account.lower() if account else None,
        faults=faults,
        source=f"{where} [{key}]",
    )
