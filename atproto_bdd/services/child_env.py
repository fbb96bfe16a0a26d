"""What a child process gets from our environment: one rule, by the kind of child.

Every process atproto-bdd starts takes its environment from
:func:`child_environment` (the variables given for that child come on top):

=========  ==============================================  =====================================================
kind       inherits from our environment                   why
=========  ==============================================  =====================================================
TOOL       everything                                      installers and our own workers (go, npm, pip,
                                                           PostgreSQL's programs, behave workers): they honour
                                                           the user's proxies, mirrors and caches
                                                           (``GOPROXY``, ``npm_config_*``, ``HTTPS_PROXY``)
NODE_HOST  everything but the services' own configuration  the Node host (PLC, PDS, AppView): Node.js settings
           (``PDS_*``) and ``NODE_EXTRA_CA_CERTS``         such as ``NODE_OPTIONS`` apply, but a ``PDS_*`` in
                                                           the caller's shell must not reach every PDS; the CA
                                                           file costs Node.js 20 50 ms a start for loopback HTTP
SERVICE    ``BASICS`` only                                 the network's programs (relay, Jetstream, Tap):
                                                           configured by us alone, the same on every machine
APP        ``BASICS`` and ``APP_PATHS``, ``PATH`` with the  the user's apps: what finds their packages, and
           test's virtualenv first                         ``python`` is the one running the tests
=========  ==============================================  =====================================================
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

#: What every child gets: where programs are, the home directory, the locale and the temporary directory.
BASICS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
#: What an app gets on top: where its Python or Node.js packages are.
APP_PATHS = ("VIRTUAL_ENV", "PYTHONPATH", "NODE_PATH")
#: Variables the Node host does not get although it inherits the rest (see the table above).
LEFT_OUT_OF_THE_HOST = frozenset({"NODE_EXTRA_CA_CERTS"})
#: Prefixes of the services' own configuration, which the Node host does not inherit.
SERVICE_CONFIG_PREFIXES = ("PDS_",)


class Child(Enum):
    """The kinds of child process, each with its rule (see the module's table)."""

    TOOL = "tool"
    NODE_HOST = "node host"
    SERVICE = "service"
    APP = "app"


def app_path(path: str = "") -> str:
    """``PATH`` for a local app: the test's virtualenv first (as if activated), so ``python`` is the one running us."""
    path = path or os.defpath
    if sys.prefix == sys.base_prefix:  # not in a virtualenv
        return path
    bin_dir = str(Path(sys.prefix) / "bin")
    return path if path.split(os.pathsep)[0] == bin_dir else os.pathsep.join([bin_dir, path])


def child_environment(
    kind: Child, env: Mapping[str, str] | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a child of ``kind``: what it inherits from ``environ`` (ours), then ``env``."""
    environ = os.environ if environ is None else environ
    if kind is Child.TOOL:
        inherited = dict(environ)
    elif kind is Child.NODE_HOST:
        inherited = {
            key: value
            for key, value in environ.items()
            if not key.startswith(SERVICE_CONFIG_PREFIXES) and key not in LEFT_OUT_OF_THE_HOST
        }
    else:
        names = BASICS + APP_PATHS if kind is Child.APP else BASICS
        inherited = {name: environ[name] for name in names if name in environ}
        if kind is Child.APP:
            inherited["PATH"] = app_path(inherited.get("PATH", ""))
    return {**inherited, **(env or {})}
