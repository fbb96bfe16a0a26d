"""Start the network host while behave is still loading the steps and features.

behave imports ``environment.py`` first, then every step module, then parses
the features, and only then calls ``before_all``: about 0.3 s of Python work
here, while the Node host's own start (loading the PDS and PLC modules, about
1 s) waits for ``before_all``. When :mod:`atproto_bdd.hooks` is imported by
behave's runner, it calls :func:`prestart_for_behave`, which launches the host
at once with the run's settings (behave has parsed ``-D`` by then); the local
runtime's :meth:`~atproto_bdd.services.local.LocalRuntime.start` then claims
it instead of launching its own, so the two starts overlap on two cores.

Nothing changes for the run: the host is the same process with the same
settings, run directory and clean-up (it watches its stdin and has a
parent-death signal from its first instant). A prestarted host nobody claims
(the settings changed in the user's ``before_all``, a dry run, an error
before ``before_all``) is killed when it is discarded or at exit; it runs no
services then. Nothing is installed here: on a machine without the services
in the cache, ``before_all`` installs them, with its progress lines, as before.
The ``prestart`` setting (``-D prestart=false``) turns this off.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AtprotoBddError
from ..settings import Settings
from .node_host import NodeHost
from .node_install import NodeInstall, ensure_node_services
from .run_root import run_root


@dataclass(frozen=True)
class Prestarted:
    """A host launched ahead of ``before_all``, for these settings and this install."""

    settings: Settings
    install: NodeInstall
    run_dir: Path
    host: NodeHost


_pending: Prestarted | None = None
_lock = threading.Lock()


def prestart_for_behave() -> bool:
    """Launch the network host now if behave's runner is loading us (not in a dry run); True if launched."""
    runner = _behave_runner()
    if runner is None or getattr(runner.config, "dry_run", False):
        return False
    try:
        settings = Settings.load(runner.config.userdata)
    except AtprotoBddError:  # before_all reports the bad setting, with its choices
        return False
    return prestart(settings)


def prestart(settings: Settings) -> bool:
    """Launch a network host for ``settings`` without waiting for it; True if one was launched.

    Only for the local runtime with ``prestart`` on, and only when the services
    are installed already (installing prints progress lines, which belong to
    ``before_all``).
    """
    global _pending
    if settings.runtime != "local" or not settings.prestart:
        return False
    try:
        install = ensure_node_services(
            settings.cache_dir, line=settings.pds_version, node=settings.node, npm=settings.npm, install=False
        )
    except AtprotoBddError:  # not installed yet, or no Node.js: before_all says so
        return False
    with _lock:
        if _pending is not None:
            return False
        try:
            run_dir = Path(tempfile.mkdtemp(prefix="atproto-bdd-run-", dir=run_root(settings.run_root)))
        except OSError:  # an unwritable run_root: before_all says so, naming the setting
            return False
        host = NodeHost(install, run_dir, log_level=settings.log_level, remove_run_dir=not settings.keep_run_dir)
        try:
            host.spawn()
        except OSError:  # before_all starts one the usual way, and reports what fails
            shutil.rmtree(run_dir, ignore_errors=True)
            return False
        _pending = Prestarted(settings, install, run_dir, host)
    atexit.register(discard)
    return True


def claim(settings: Settings, install: NodeInstall) -> Prestarted | None:
    """The prestarted host if it was launched for ``settings`` and ``install``; another one is discarded."""
    global _pending
    with _lock:
        pending, _pending = _pending, None
    if pending is None:
        return None
    if pending.settings == settings and pending.install == install:
        atexit.unregister(discard)
        return pending
    _discard(pending)
    return None


def discard() -> None:
    """Kill a prestarted host nobody claimed (it runs no services) and remove its run directory."""
    global _pending
    with _lock:
        pending, _pending = _pending, None
    if pending is not None:
        _discard(pending)


def _discard(pending: Prestarted) -> None:
    pending.host.kill()
    shutil.rmtree(pending.run_dir, ignore_errors=True)


def _behave_runner() -> Any | None:
    """behave's runner, if it is on the call stack (it imports ``environment.py`` from its ``load_hooks``)."""
    runner_module = sys.modules.get("behave.runner")
    base = getattr(runner_module, "ModelRunner", None)
    if base is None:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, base) and getattr(candidate, "config", None) is not None:
            return candidate
        frame = frame.f_back
    return None
