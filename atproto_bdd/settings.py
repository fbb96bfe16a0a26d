"""Run settings, read from behave userdata (``-D key=value``) and the environment.

Userdata wins over environment variables, which win over defaults. Every key
has an ``ATPROTO_BDD_<KEY>`` environment variable (``runtime`` ->
``ATPROTO_BDD_RUNTIME``).
"""

from __future__ import annotations

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
    if seconds <= 0:
        raise UsageError(f"setting {key}={value!r} must be a positive number of seconds")
    return seconds


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
    postgres_url: str = field(default="", metadata={"convert": _text})
    config: str = field(default="", metadata={"convert": _text})
    log_level: str = field(default="info", metadata={"convert": _choice(LOG_LEVELS)})
    keep_run_dir: bool = field(default=False, metadata={"convert": _flag})
    run_root: str = field(default="", metadata={"convert": _text})
    prestart: bool = field(default=True, metadata={"convert": _flag})
    background_snapshots: bool = field(default=True, metadata={"convert": _flag})
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
        values: dict[str, Any] = {}
        for f in fields(cls):
            convert = f.metadata["convert"]
            raw = userdata.get(f.name)
            if raw is None:
                raw = environ.get(f"ATPROTO_BDD_{f.name.upper()}")
            if raw is not None:
                values[f.name] = convert(f.name, str(raw))
        return cls(**values)
