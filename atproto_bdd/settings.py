"""Run settings, read from behave userdata (``-D key=value``) and the environment.

Userdata wins over environment variables, which win over defaults. Every key
has an ``ATPROTO_BDD_<KEY>`` environment variable (``runtime`` ->
``ATPROTO_BDD_RUNTIME``).
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import UsageError

RUNTIMES = ("local", "docker")
#: The PDS lines (atproto_bdd.services.pds_lines) and the default one.
PDS_VERSIONS = ("0.4", "0.5")
DEFAULT_PDS_VERSION = "0.4"
PLC_MODES = ("memory", "postgres")
NETWORK_SCOPES = ("scenario", "feature")
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal", "silent")


def default_cache_dir() -> Path:
    """The per-user cache, ``$XDG_CACHE_HOME/atproto-bdd`` (``~/.cache/atproto-bdd``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "atproto-bdd"


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def convert(key: str, value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise UsageError(f"setting {key}={value!r} is not valid; choose one of: {', '.join(choices)}")
        return value

    convert.choices = choices  # type: ignore[attr-defined]  # for help texts (the pytest options)
    return convert


def _seconds(key: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or not math.isfinite(seconds):  # nan and inf too
        raise UsageError(f"setting {key}={value!r} must be a positive number of seconds")
    return seconds


#: The units a size setting may name (1024-based, as ``ls -h`` counts).
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2}
_SIZE_UNITS.update({"g": 1024**3, "gb": 1024**3, "gib": 1024**3})


def _size(key: str, value: str) -> int:
    """A size in bytes: ``52428800``, ``50MB``, ``50 MiB``, ``512k``; 0 for no limit."""
    text = value.strip().lower().replace(" ", "").replace("_", "")
    number = text.rstrip("bikmg")
    unit = text[len(number) :]
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        size = -1.0
    if not math.isfinite(size) or size < 0 or (0 < size < 1024):
        raise UsageError(
            f"setting {key}={value!r} must be a size: bytes (1024 or more), or with a unit such as 50MB, 512KB "
            "or 1GB (1024-based); 0 for no limit"
        )
    return int(size)


def _flag(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise UsageError(f"setting {key}={value!r} must be true or false")


def _path(key: str, value: str) -> Path:
    return Path(value).expanduser()


def _text(key: str, value: str) -> str:
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a run can be configured with. See ``docs/guide.md`` for each key."""

    runtime: str = field(default="local", metadata={"convert": _choice(RUNTIMES)})
    pds_version: str = field(default=DEFAULT_PDS_VERSION, metadata={"convert": _choice(PDS_VERSIONS)})
    network: str = field(default="scenario", metadata={"convert": _choice(NETWORK_SCOPES)})
    cache_dir: Path = field(default_factory=default_cache_dir, metadata={"convert": _path})
    service_timeout: float = field(default=90.0, metadata={"convert": _seconds})
    request_timeout: float = field(default=15.0, metadata={"convert": _seconds})
    firehose_timeout: float = field(default=5.0, metadata={"convert": _seconds})
    relay_timeout: float = field(default=15.0, metadata={"convert": _seconds})
    app_timeout: float = field(default=5.0, metadata={"convert": _seconds})
    app_settle: float = field(default=1.0, metadata={"convert": _seconds})
    #: The longest wait a step may ask for (``within N seconds, ...``): a mistyped 99999 must not hang a run.
    max_wait: float = field(default=300.0, metadata={"convert": _seconds})
    appview_timeout: float = field(default=5.0, metadata={"convert": _seconds})
    #: The most an app's log file keeps (bytes; 0: no limit): beyond it the oldest output is cut, and the log says so.
    app_log_max_bytes: int = field(default=50 * 1024**2, metadata={"convert": _size})
    postgres_url: str = field(default="", metadata={"convert": _text})
    config: str = field(default="", metadata={"convert": _text})
    log_level: str = field(default="info", metadata={"convert": _choice(LOG_LEVELS)})
    keep_run_dir: bool = field(default=False, metadata={"convert": _flag})
    run_root: str = field(default="", metadata={"convert": _text})
    prestart: bool = field(default=True, metadata={"convert": _flag})
    background_snapshots: bool = field(default=True, metadata={"convert": _flag})
    #: Test-speed password hashing (local runtime): the PDS's hashes memoized per password, one random
    #: password per run for accounts given none (services/node/host/password_hash.js, world/accounts.py).
    fast_password_hash: bool = field(default=True, metadata={"convert": _flag})
    validate_records: bool = field(default=False, metadata={"convert": _flag})
    report_dir: str = field(default="reports", metadata={"convert": _text})
    plc_mode: str = field(default="memory", metadata={"convert": _choice(PLC_MODES)})
    docker_host: str = field(default="", metadata={"convert": _text})
    pds_image: str = field(default="", metadata={"convert": _text})
    plc_image: str = field(default="", metadata={"convert": _text})
    plc_command: str = field(default="", metadata={"convert": _text})
    relay_image: str = field(default="", metadata={"convert": _text})
    mailpit_image: str = field(default="", metadata={"convert": _text})
    postgres_image: str = field(default="", metadata={"convert": _text})
    node: str = field(default="node", metadata={"convert": _text})
    npm: str = field(default="npm", metadata={"convert": _text})
    go: str = field(default="go", metadata={"convert": _text})
    browser_executable: str = field(default="", metadata={"convert": _text})
    browser_timeout: float = field(default=10.0, metadata={"convert": _seconds})
    browser_headless: bool = field(default=True, metadata={"convert": _flag})
    browser_trace: bool = field(default=False, metadata={"convert": _flag})

    @classmethod
    def load(
        cls,
        userdata: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Read settings from behave userdata and ``ATPROTO_BDD_*`` variables."""
        environ = os.environ if environ is None else environ
        userdata = userdata or {}
        _refuse_near_misses(userdata, environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            convert = f.metadata["convert"]
            raw, key = userdata.get(f.name), f.name
            if raw is None:
                key = f"ATPROTO_BDD_{f.name.upper()}"  # its errors name the variable the user set
                raw = environ.get(key)
            if raw is not None:
                values[f.name] = convert(key, str(raw))
        return cls(**values)


#: Our variables that are no settings: what the framework passes to its own processes, and the dev script's.
INTERNAL_VARIABLES = frozenset(
    f"ATPROTO_BDD_{name}"
    for name in (
        "WORKER",
        "RUN_DIR",
        "NODE_MODULES",
        "TEST_MARKER",
        "REMOVE_RUN_DIR",
        "REMOVE_ALSO",
        "LOAD_CACHE",
        "LOAD_CACHE_DIR",
        "HOST_ROLE",
        "CONTROL_FD",
        "VENV",
        "APP_PROCESS",
        "TEST_WORKERS",
    )
)


def _refuse_near_misses(userdata: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """A UsageError for a name that is nearly a setting's but none (a typo would be ignored, silently).

    Other ``-D`` names are left alone: behave's userdata is the project's too
    (its own steps may read ``-D my_flag``); so are our own process variables.
    """
    names = [f.name for f in fields(Settings)]
    for key in userdata:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.8) if key not in names else []
        if close:
            raise UsageError(f"setting {key!r} does not exist: did you mean {close[0]}? (the settings: docs/guide.md)")
    for variable in environ:
        if not variable.startswith("ATPROTO_BDD_") or variable in INTERNAL_VARIABLES:
            continue
        name = variable[len("ATPROTO_BDD_") :].lower()
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.8) if name not in names else []
        if close:
            raise UsageError(
                f"the environment variable {variable} names no setting: did you mean ATPROTO_BDD_{close[0].upper()}?"
            )
