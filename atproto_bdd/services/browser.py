"""A real browser for the people of a scenario: Debian's Chromium, driven by Playwright for Python.

Playwright's own browser download needs the internet beyond the package
registries, so the browser is Chromium from the system (Debian's ``chromium``
package, installed with apt-get on first use when we are root) or the one
``browser_executable`` names; Playwright (from PyPI, pinned) is the installed
package if it is there at our version, else installed into the cache on first
use, like the AppView's PostgreSQL.

One browser per run (per worker), launched the first time a scenario needs
it (:class:`Browsers`); each person of a scenario gets a fresh context
(``world/browser.py``). Playwright's driver is our child and Chromium the
driver's: when this process dies, even by SIGKILL, the driver's pipe closes
and it takes Chromium down with it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..errors import InstallError, ServiceError, UsageError
from ..settings import Settings
from .cached_install import install_lock, install_once
from .child_env import Child, child_environment
from .listening import descendants
from .progress import Progress
from .toolchain import run_logged

#: Playwright for Python, and the greenlet its sync API runs on (pinned together: ``pip install --no-deps``).
PLAYWRIGHT_VERSION = "1.65.3"
GREENLET_VERSION = "3.5.6"
#: Names Chromium goes by on PATH, in the order they are tried.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The Debian package installed when none is found (as root, with apt-get).
CHROMIUM_PACKAGE = "chromium"


def _installed_playwright() -> bool:
    """Whether the ``playwright`` package importable here is ours (the pinned version)."""
    from importlib import metadata

    try:
        return metadata.version("playwright") == PLAYWRIGHT_VERSION
    except metadata.PackageNotFoundError:
        return False


def ensure_playwright(cache_dir: Path) -> None:
    """Make ``playwright`` importable at the pinned version: the installed one, or one installed into the cache."""
    if _installed_playwright():
        return
    # greenlet is compiled: one install per Python version and platform.
    target = cache_dir / "browser" / f"playwright-{PLAYWRIGHT_VERSION}-{sys.implementation.cache_tag}-{sys.platform}"

    def pip_install(staging: Path) -> str:
        pins = [f"playwright=={PLAYWRIGHT_VERSION}", f"greenlet=={GREENLET_VERSION}"]
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-deps", "--quiet"]
        with Progress(f"installing Playwright {PLAYWRIGHT_VERSION} for the browser (pip, once per version)"):
            run_logged(
                [*command, "--target", str(staging), *pins],
                cwd=cache_dir,
                log_path=target.with_name(f"{target.name}.install.log"),
                timeout=15 * 60,
                what=f"pip install {' '.join(pins)} (the browser's driver)",
                env=child_environment(Child.TOOL),
            )
        return PLAYWRIGHT_VERSION

    cache_dir.mkdir(parents=True, exist_ok=True)
    install_once(target, pip_install, lock=target.with_name(".install.lock"))
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
        importlib.invalidate_caches()


def find_chromium(settings: Settings, *, install: bool = True) -> str:
    """The Chromium to drive: ``browser_executable``, else one on PATH, else Debian's package installed now.

    Installing needs root and apt-get; without them the error names the
    package and the setting.
    """
    named = settings.browser_executable
    if named:
        path = shutil.which(named)
        if path is None:
            raise UsageError(
                f"setting browser_executable={named!r}: no such executable (give the path of a Chromium or "
                "Chrome, e.g. -D browser_executable=/usr/bin/chromium)"
            )
        return path
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    apt = shutil.which("apt-get")
    if not install or apt is None or os.geteuid() != 0:
        raise InstallError(
            f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)} on PATH): install it "
            f"(apt-get install {CHROMIUM_PACKAGE}, as root) or name one with -D browser_executable=/path/to/chrome"
        )
    log = settings.cache_dir / "browser" / "apt-get.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    # Workers that start at once take turns (dpkg has a lock of its own, which fails instead of waiting).
    with install_lock(log.with_name(".apt-get.lock")):
        if not any(shutil.which(name) for name in CHROMIUM_NAMES):
            _apt_install(apt, log)
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    raise InstallError(f"apt-get installed {CHROMIUM_PACKAGE}, but no Chromium is on PATH; see {log}")


def _apt_install(apt: str, log: Path) -> None:
    argv = [apt, "install", "-y", "--no-install-recommends", CHROMIUM_PACKAGE]
    env = child_environment(Child.TOOL, {"DEBIAN_FRONTEND": "noninteractive"})
    what = f"apt-get install {CHROMIUM_PACKAGE}"
    with Progress(f"installing Chromium ({what}, once)"):
        try:
            run_logged(argv, cwd=Path("/"), log_path=log, timeout=15 * 60, what=what, env=env)
        except InstallError:  # the package lists may be missing or old (a fresh container): update, then again
            run_logged([apt, "update"], cwd=Path("/"), log_path=log, timeout=15 * 60, what="apt-get update", env=env)
            run_logged(argv, cwd=Path("/"), log_path=log, timeout=15 * 60, what=what, env=env)


def prepare(settings: Settings) -> str:
    """Install Playwright and find (or install) Chromium; where they are (``atproto-bdd install --with browser``)."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    ensure_playwright(settings.cache_dir)
    return f"browser ready: Playwright {PLAYWRIGHT_VERSION}, {find_chromium(settings)}"


class Browsers:
    """The run's browser: launched on first use (``get()``), closed with the run (``close()``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = threading.Lock()
        #: The Chromium it drives (known once launched), and its main process (for :meth:`kill`).
        self.executable = ""
        self._chromium: set[int] = set()

    @property
    def launched(self) -> bool:
        """Whether the browser runs."""
        return self._browser is not None

    def get(self) -> Any:
        """The Playwright ``Browser`` (Chromium, headless unless ``browser_headless=false``), launched now if needed."""
        with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            self.close_quietly()
            ensure_playwright(self.settings.cache_dir)
            executable = find_chromium(self.settings)
            from playwright.sync_api import Error, sync_playwright

            args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
            playwright = sync_playwright().start()
            before = _chromium_processes()
            try:
                self._browser = playwright.chromium.launch(
                    executable_path=executable,
                    headless=self.settings.browser_headless,
                    args=args,
                    timeout=self.settings.service_timeout * 1000,
                )
            except Error as exc:
                playwright.stop()
                raise ServiceError(f"Chromium ({executable}) did not start: {str(exc).strip()[-800:]}") from None
            self._playwright = playwright
            self.executable = executable
            self._chromium = _chromium_processes() - before
            return self._browser

    def kill(self) -> None:
        """Kill this browser's Chromium (SIGKILL), which ends every call into it; the next :meth:`get` relaunches.

        For a call that blocks for ever (``world/browser.py``: a page whose
        navigation never commits). It may run on another thread than the
        one driving Playwright, so it touches processes only: the Chromium main
        processes that appeared below this process when it was launched.
        """
        for pid in self._chromium:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close_quietly(self) -> None:
        """Close the browser and Playwright's driver, if they run; what fails on the way is dropped."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        for close in (getattr(browser, "close", None), getattr(playwright, "stop", None)):
            if close is not None:
                try:
                    close()
                except Exception:  # the driver may be gone already
                    pass

    def close(self) -> None:
        """Close the browser (every context in it) and Playwright's driver."""
        with self._lock:
            self.close_quietly()


def _chromium_processes() -> set[int]:
    """The browsers Playwright runs below this process: their command line has its pipe's flag."""
    found = set()
    for pid in descendants(os.getpid()) - {os.getpid()}:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if b"--remote-debugging-pipe" in command:
            found.add(pid)
    return found
