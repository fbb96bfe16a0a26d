"""Layer 5: one run of atproto-bdd in one process - what the behave hooks and the pytest plugin share.

A run (a behave process, a worker of ``atproto-bdd run``, a pytest process
or xdist worker) has its settings, the project's apps (``atproto-bdd.toml``),
the apps that outlive a scenario, one runtime - started once, after what
its services need is built - the worlds made on it, and a report.
:class:`RunSession` holds all of it; :mod:`atproto_bdd.hooks` and
:mod:`atproto_bdd.pytest_plugin` only adapt their framework's events to it::

    session = RunSession(Settings.load(), Path.cwd())
    session.start({"relay"})          # builds the relay if needed, starts the runtime
    world = session.new_world()       # a fresh network per scenario or test
    ...
    world.close()
    session.close()                   # the run's apps, then every service
    session.write_report()            # reports/atproto-bdd.html (with a report directory)
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from .diagnostics import save_diagnostics
from .errors import AtprotoBddError, UsageError
from .masking import masker
from .protocol.lexicon_docs import load_lexicon_docs
from .report import RunRecord, ScenarioRecord, write_reports
from .services import Runtime, create_runtime
from .services.app_config import AppConfig, load_config
from .services.browser import Browsers
from .services.lexicons import LexiconValidator
from .services.prepare import prepare_ahead
from .settings import Settings
from .world import World
from .world.app_scopes import AppScopes


def require_writable_dir(directory: Path, setting: str) -> None:
    """Make ``directory`` if needed; a UsageError naming ``setting`` if it cannot be made or written to.

    Before anything starts: an unwritable report directory used to be found
    in ``after_all``, once every scenario had run.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(
            f"the {setting} setting names {directory}{_source(setting, directory)}, which cannot be written to "
            f"({exc.strerror or exc}); give a writable directory: -D {setting}=PATH (or ATPROTO_BDD_{setting.upper()})"
        ) from None


def _source(setting: str, directory: Path) -> str:
    """`` (from ...)``: the environment variable ``directory`` came from, when it did (not ``-D``), else nothing."""
    variable = f"ATPROTO_BDD_{setting.upper()}"
    if os.environ.get(variable) and Path(os.environ[variable]).expanduser() == directory:
        return f" (from the environment variable {variable})"
    if setting == "cache_dir" and variable not in os.environ and os.environ.get("XDG_CACHE_HOME"):
        if Path(os.environ["XDG_CACHE_HOME"]) / "atproto-bdd" == directory:
            return " (from XDG_CACHE_HOME: the cache is $XDG_CACHE_HOME/atproto-bdd)"
    return ""


class RunSession:
    """The settings, apps, runtime and report of one run in this process; worlds are made from it."""

    def __init__(self, settings: Settings, project: Path, *, worker: str = "", runtime: Runtime | None = None) -> None:
        """Read the project's apps (a config mistake stops the run here) and make, not start, the runtime.

        ``runtime`` is one made already (a test's own, say); by default the settings choose it.
        """
        self.settings = settings
        for setting, directory in (
            ("cache_dir", str(settings.cache_dir)),
            ("run_root", settings.run_root),
            ("report_dir", settings.report_dir),
        ):
            if directory:
                require_writable_dir(Path(directory).expanduser(), setting)
        self.apps: AppConfig = load_config(project, settings.config)
        #: The project's lexicon documents, read (and their JSON checked) before anything starts.
        self.lexicon_docs = load_lexicon_docs(self.apps.lexicons)
        #: Their validator in the runtime's Node host (``start`` loads them there when the runtime has one).
        self.lexicon_validator: LexiconValidator | None = None
        self.app_scopes = AppScopes()  # apps with scope "feature" or "run"
        self.runtime: Runtime = runtime if runtime is not None else create_runtime(settings)
        #: The run's browser: launched by the first scenario that needs one, closed with the run.
        self.browsers = Browsers(settings)
        self.report = RunRecord(runtime=settings.runtime, worker=worker)
        if not worker and settings.report_dir:
            # The diagnostics of earlier runs (a scenario since fixed, a feature since deleted) are not this run's.
            shutil.rmtree(Path(settings.report_dir) / "diagnostics", ignore_errors=True)

    def start(self, services: Iterable[str] = (), *, prepared: bool = False) -> Runtime:
        """Build what ``services`` need (see :mod:`~atproto_bdd.services.prepare`), then start the runtime.

        ``prepared``: the caller built them already (the pytest plugin does,
        right after collection). An AppView among them also starts its host and
        PostgreSQL beside the network host, not at the first scenario. A runtime
        that cannot start raises its error, masked (behave prints a hook's
        error as one line).
        """
        wanted = set(services)
        if any(spec.faults for spec in self.apps.apps.values()):
            # An app behind faults starts Toxiproxy with its first start, which no step's look-ahead sees.
            wanted.add("faults")
        if not prepared:
            prepare_ahead(self.settings, wanted)
        expect_appview = getattr(self.runtime, "expect_appview", None)
        if expect_appview is not None and "appview" in wanted:
            expect_appview()
        try:
            self.runtime.start()
        except AtprotoBddError as exc:
            raise type(exc)(masker.mask(str(exc))) from None
        if self.lexicon_docs and self.runtime.name == "local":
            # @atproto/lexicon checks them now: a bad definition stops the run before its first network.
            self.lexicon_validator = self.runtime.lexicon_validator(self.lexicon_docs)
        return self.runtime

    def new_world(self, lifetime: str = "scenario") -> World:
        """A world on a fresh network of the runtime, with the project's apps.

        ``lifetime`` is ``scenario``, ``feature`` (a feature or a pytest module
        shares it) or ``run`` (a pytest session shares it).
        """
        world = World(self.runtime, self.settings)
        world.lifetime = lifetime
        world.app_config = self.apps
        world.lexicon_docs = self.lexicon_docs
        world.lexicon_validator = self.lexicon_validator
        world.app_scopes = self.app_scopes
        world.browsers = self.browsers
        return world

    def record(self, scenario: ScenarioRecord) -> None:
        """Add a scenario (or a test) to the run's report."""
        self.report.scenarios.append(scenario)

    def save_diagnostics(self, location: str, details: str) -> Path | None:
        """Keep a failure's diagnostics under the report directory (None without one)."""
        return save_diagnostics(self.settings.report_dir, location, details)

    def close_apps(self, scope: str) -> None:
        """Stop the apps of ``scope``: ``feature`` when a feature (a module) ends, ``run`` at the end."""
        self.app_scopes.close(scope)

    def close(self) -> None:
        """Stop the apps still running (``feature`` and ``run`` scopes), then the runtime and every service it started.

        Whatever fails on the way, the runtime is closed.
        """
        try:
            self.close_apps("feature")
            self.close_apps("run")
        finally:
            try:
                self.browsers.close()
            finally:
                self.runtime.close()

    def write_report(self) -> Path | None:
        """Write the run's report (HTML and JSON) into the report directory; its page, or None without one."""
        if not self.settings.report_dir:
            return None
        self.report.finished = time.time()
        return write_reports(Path(self.settings.report_dir), [self.report])
