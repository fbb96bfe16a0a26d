"""Layer 5: the pytest plugin - the same networks, apps, diagnostics and report as the behave hooks.

Installed with the package (entry point ``pytest11``), so no conftest is needed::

    def test_post_reaches_the_firehose(atproto_world, atproto_account):
        alice = atproto_account("alice.test")
        atproto_world.open_window()            # what follows is the action
        alice.post("hello")
        atproto_world.expect_on_pds("A", atproto_world.event_query("commit", "alice.test"))

Fixtures:

* ``atproto_runtime`` (session): the runtime - one Node host per pytest
  process, so one per xdist worker;
* ``atproto_world`` (test): a :class:`~atproto_bdd.world.World` on a fresh
  network; ``@pytest.mark.atproto_network("module")`` (or ``"session"``)
  shares one network across a module (the session), as ``@network:feature``
  does in behave;
* ``atproto_account(handle, pds=None)``: the account, created on first use
  (``pds`` names a PDS, created on first use too; default: the only one, ``A``);
  ``atproto_accounts(*handles, pds=None)``: several, created at the same time;
* ``atproto_app(name)``: an app declared in ``atproto-bdd.toml``, started;
  its ``scope`` ``feature`` lives for a module, ``run`` for the session;
* ``atproto_relay`` (the network's relay crawling its PDSes),
  ``atproto_jetstream`` and ``atproto_tap`` (on that relay) and
  ``atproto_appview`` (the network's AppView, added before any PDS) and
  ``atproto_ozone`` (the network's Ozone beside it).

Options: every setting is ``--atproto-<key>`` (``--atproto-runtime=docker``,
``--atproto-pds-version=0.5``) or ini ``atproto_<key>``; command line, then ini,
then ``ATPROTO_BDD_<KEY>``, then the default. ``--atproto-report`` writes the
HTML/JSON report (into ``reports/``, or ``--atproto-report-dir``), merged
across xdist workers. A failed test's report gets sections with the XRPC
transcript, each service's last log lines and the firehose events, masked.

This module is imported by every pytest run of an environment where
atproto-bdd is installed: it imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _pytest
import pluggy
import pytest

from .errors import UsageError
from .services.registry import SERVICES, ServiceKind
from .settings import Settings

if TYPE_CHECKING:
    from .report import RunRecord
    from .services import Runtime
    from .session import RunSession
    from .world import Account, App, World
    from .world.app_scopes import AppScopes
    from .world.appview import AppView
    from .world.ozone import Ozone
    from .world.relay import Relay

#: The marker that shares a network, and its scopes (pytest's names) with the world lifetime each means.
NETWORK_MARK = "atproto_network"
NETWORK_SCOPES = {"function": "scenario", "module": "feature", "session": "run"}
#: The per-process (per-xdist-worker) state, on ``config.stash``.
_RUN = pytest.StashKey["AtprotoRun"]()
#: A test's world, and what its phases reported, on ``item.stash``.
_WORLD = pytest.StashKey["World"]()
_PHASES = pytest.StashKey[list]()  # StepRecords
_DIAGNOSTICS = pytest.StashKey[str]()
#: A failed test's screenshots of its people's pages (caption, PNG), for the run report.
_SCREENSHOTS = pytest.StashKey["list[tuple[str, bytes]]"]()


# -- options ---------------------------------------------------------------------------------


def _option(name: str) -> str:
    return "--atproto-" + name.replace("_", "-")


def pytest_addoption(parser: pytest.Parser) -> None:
    """One ``--atproto-<key>`` option and one ``atproto_<key>`` ini value per setting, and ``--atproto-report``."""
    group = parser.getgroup("atproto-bdd", "atproto-bdd (settings: docs/guide.md#settings)")
    for setting in fields(Settings):
        choices = getattr(setting.metadata["convert"], "choices", None)
        help_text = f"setting {setting.name}" + (f": {', '.join(choices)}" if choices else "")
        help_text += f" (env ATPROTO_BDD_{setting.name.upper()}; ini atproto_{setting.name})"
        metavar = "|".join(choices) if choices else setting.name.upper()
        dest = f"atproto_{setting.name}"
        group.addoption(_option(setting.name), dest=dest, default=None, metavar=metavar, help=help_text)
        parser.addini(f"atproto_{setting.name}", f"atproto-bdd setting {setting.name}", default="")
    group.addoption(
        "--atproto-report",
        action="store_true",
        default=False,
        help="write atproto-bdd's HTML/JSON report (into reports/, or --atproto-report-dir)",
    )


def settings_from(config: pytest.Config, environ: Mapping[str, str] | None = None) -> Settings:
    """The run's settings: command line, then ini, then ``ATPROTO_BDD_*``, then the defaults.

    Unlike behave runs, a pytest run writes no report unless ``--atproto-report``
    or a report directory is given.
    """
    environ = os.environ if environ is None else environ
    given: dict[str, str] = {}
    for setting in fields(Settings):
        value = config.getoption(f"atproto_{setting.name}")
        if value is None:
            value = config.getini(f"atproto_{setting.name}") or None
        if value is not None:
            given[setting.name] = str(value)
    if "report_dir" not in given and "ATPROTO_BDD_REPORT_DIR" not in environ:
        given["report_dir"] = "reports" if config.getoption("atproto_report") else ""
    try:
        return Settings.load(given, environ)
    except UsageError as error:
        raise pytest.UsageError(f"atproto-bdd: {error} (options --atproto-<key>, ini atproto_<key>)") from None


def pytest_configure(config: pytest.Config) -> None:
    """Read and check the settings, register the marker, clear a previous run's worker reports."""
    config.addinivalue_line(
        "markers",
        f"{NETWORK_MARK}(scope): share atproto_world's network across the 'module' or the 'session' "
        "(default 'function': a fresh network per test)",
    )
    run = AtprotoRun(config, settings_from(config))
    config.stash[_RUN] = run
    if run.distributing:  # the xdist controller: no tests here, but SIGTERM must still end the workers cleanly
        from .interrupts import sigterm_as_keyboard_interrupt

        sigterm_as_keyboard_interrupt()
        if run.settings.report_dir:
            shutil.rmtree(Path(run.settings.report_dir) / "workers", ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Build what the collected tests' fixtures start (relay, Jetstream, Tap, AppView) now, not in a test.

    The progress lines get past pytest's output capture. A test wanting an
    AppView also makes its host and PostgreSQL start with the runtime.
    """
    run = config.stash[_RUN]
    used = {name for item in items for name in getattr(item, "fixturenames", ()) if name.startswith("atproto_")}
    if not used:  # a run that uses none of our fixtures imports nothing of ours
        return
    from .services.registry import fixtures

    wanted = {service for fixture, service in fixtures().items() if fixture in used}
    run.services = wanted
    if wanted and not config.getoption("collectonly", False):
        from contextlib import nullcontext

        from .services.prepare import prepare_ahead

        capture = config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            prepare_ahead(run.settings, wanted)


# -- the per-process state ---------------------------------------------------------------------


class AtprotoRun:
    """What one pytest process shares: the settings, the run session (runtime, apps), the report.

    The :class:`~atproto_bdd.session.RunSession` - the same one behave's hooks
    use - is made when the first test asks for the runtime: a pytest run that
    uses no fixture of ours imports and starts nothing.
    """

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        #: The services the collected tests' fixtures start (their builds are done after collection).
        self.services: set[str] = set()
        self.session: RunSession | None = None
        self.report: RunRecord | None = None
        #: The HTML report once written (the terminal summary names it).
        self.report_page: Path | None = None

    @property
    def runtime(self) -> Runtime | None:
        """The running runtime (None before the first fixture of ours, and after the end)."""
        return self.session.runtime if self.session is not None else None

    @property
    def app_scopes(self) -> AppScopes | None:
        """The apps that outlive a test (None before the session starts)."""
        return self.session.app_scopes if self.session is not None else None

    @property
    def worker(self) -> str:
        """The xdist worker id (``gw0``...), or empty."""
        return str(getattr(self.config, "workerinput", {}).get("workerid", ""))

    @property
    def distributing(self) -> bool:
        """Whether this process is an xdist controller handing tests to workers."""
        return not self.worker and self.config.getoption("dist", "no") != "no"

    def project_dir(self) -> Path:
        """Where the project's ``atproto-bdd.toml`` is: the nearest from the directory pytest ran in, up.

        pytest run from ``tests/`` finds it beside ``tests/``; the ``config``
        setting is looked up from pytest's rootdir; without either, the rootdir.
        """
        if self.settings.config:
            return self.config.rootpath
        from .services.app_config import find_project_dir

        return find_project_dir(Path(self.config.invocation_params.dir)) or self.config.rootpath

    def start(self) -> Runtime:
        """Start the run session (installing on first use), as behave's ``before_all`` does."""
        from .interrupts import sigterm_as_keyboard_interrupt
        from .session import RunSession

        sigterm_as_keyboard_interrupt()
        # The project's apps are read here: a config mistake stops the run before any network starts.
        self.session = RunSession(self.settings, self.project_dir(), worker=self.worker)
        return self.session.start(self.services, prepared=True)  # built after collection (see above)

    def close(self) -> None:
        """Stop the session's apps and the runtime (every service it started)."""
        if self.session is not None:
            self.session.close()

    def new_world(self, lifetime: str) -> World:
        """A world on a fresh network of the runtime, with the project's apps."""
        assert self.session is not None, "atproto_runtime starts the run session first"
        return self.session.new_world(lifetime)

    def record(self) -> RunRecord | None:
        """The run's report record (made on first use; None when no report is written)."""
        if self.report is None and self.settings.report_dir:
            from .report import RunRecord

            self.report = RunRecord(runtime=self.settings.runtime, worker=self.worker)
        return self.report


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def atproto_runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """The session's runtime: one Node host per pytest process (per xdist worker), stopped at the end."""
    run = request.config.stash[_RUN]
    try:
        yield run.start()
    finally:
        run.close()


def _shared_world(request: pytest.FixtureRequest, lifetime: str) -> Iterator[World]:
    world = request.config.stash[_RUN].new_world(lifetime)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture(scope="module")
def _atproto_module_world(atproto_runtime: Runtime, request: pytest.FixtureRequest) -> Iterator[World]:
    """The network a module's ``@pytest.mark.atproto_network("module")`` tests share."""
    yield from _shared_world(request, "feature")


@pytest.fixture(scope="session")
def _atproto_session_world(atproto_runtime: Runtime, request: pytest.FixtureRequest) -> Iterator[World]:
    """The network the session's ``@pytest.mark.atproto_network("session")`` tests share."""
    yield from _shared_world(request, "run")


def network_scope(node: pytest.Item) -> str:
    """``function``, ``module`` or ``session``, from the test's nearest ``atproto_network`` mark."""
    mark = node.get_closest_marker(NETWORK_MARK)
    if mark is None:
        return "function"
    scope = mark.args[0] if mark.args else mark.kwargs.get("scope", "")
    if scope not in NETWORK_SCOPES:
        raise UsageError(
            f"{node.nodeid}: @pytest.mark.{NETWORK_MARK}({scope!r}) is not a scope; "
            f"valid: {', '.join(repr(s) for s in NETWORK_SCOPES)}"
        )
    return scope


@pytest.fixture
def atproto_world(request: pytest.FixtureRequest, atproto_runtime: Runtime) -> Iterator[World]:
    """A :class:`~atproto_bdd.world.World` on a fresh network, or the module's/session's shared one (mark)."""
    scope = network_scope(request.node)
    if scope == "function":
        world = request.config.stash[_RUN].new_world("scenario")
    else:
        world = request.getfixturevalue(f"_atproto_{scope}_world")
    world.begin_scenario(request.node.nodeid)
    request.node.stash[_WORLD] = world
    try:
        if "atproto_ozone" in request.fixturenames and world.network.ozone_identity is None:
            world.plan_ozone()  # Ozone's identity and the AppView, before any PDS another fixture may create
        if "atproto_appview" in request.fixturenames and not world.has_appview:
            world.add_appview()  # before any PDS another fixture may create
        yield world
    finally:
        try:
            world.end_scenario()  # the test's own apps stop, even in a shared network
        finally:
            if scope == "function":
                world.close()


@pytest.fixture
def atproto_account(atproto_world: World) -> Callable[..., Account]:
    """A factory: ``atproto_account("alice.test", pds="A")`` -> the account, created on first use."""

    def account(handle: str, pds: str | None = None) -> Account:
        if pds is not None:
            atproto_world.ensure_pds(pds)
        return atproto_world.ensure_account(handle, pds)

    return account


@pytest.fixture
def atproto_accounts(atproto_world: World) -> Callable[..., list[Account]]:
    """A factory: ``alice, bob = atproto_accounts("alice.test", "bob.test", pds="A")``, created at the same time.

    As consecutive ``Given an account ...`` steps do: the PDS hashes each
    password off its event loop, so two accounts cost little more than one.
    """

    def accounts(*handles: str, pds: str | None = None) -> list[Account]:
        if pds is not None:
            atproto_world.ensure_pds(pds)
        else:
            atproto_world.default_pds()
        atproto_world.prefetch_accounts([(handle, pds) for handle in handles])
        return [atproto_world.ensure_account(handle, pds) for handle in handles]

    return accounts


@pytest.fixture
def atproto_app(atproto_world: World) -> Callable[..., App]:
    """A factory: ``atproto_app("feedgen", env=None)`` -> the app declared in ``atproto-bdd.toml``, started and ready.

    ``env`` adds variables to the app's declared ``env`` for this start
    (placeholders allowed; a name it shares replaces the declared value).
    """

    def app(name: str, env: Mapping[str, str] | None = None) -> App:
        return atproto_world.app(name).start(env)

    return app


@pytest.fixture
def atproto_relay(atproto_world: World) -> Relay:
    """The network's relay, crawling every PDS the network has (PDS ``A`` is created if there is none)."""
    if atproto_world.has_relay:
        return atproto_world.relay
    atproto_world.default_pds()
    return atproto_world.add_relay(*atproto_world.pdses)


def _service_fixture(entry: ServiceKind) -> Any:
    """The fixture that starts ``entry`` in the test's world (``atproto_jetstream``...), made from the registry."""
    if entry.on_relay:

        def fixture(atproto_relay: Relay, atproto_world: World) -> Any:
            return atproto_world.add_service(entry.name)

    else:

        def fixture(atproto_world: World) -> Any:
            return atproto_world.add_service(entry.name)

    where = " on the network's relay" if entry.on_relay else " of the test's network"
    fixture.__doc__ = f"{entry.title[:1].upper()}{entry.title[1:]}{where} ({entry.offers})."
    return pytest.fixture(name=entry.fixture)(fixture)


# One fixture per service of the registry without one written out here (atproto_jetstream, atproto_tap, ...).
for _entry in SERVICES.values():
    if not _entry.own_fixture:
        globals()[f"_fixture_{_entry.name}"] = _service_fixture(_entry)


@pytest.fixture
def atproto_appview(atproto_world: World) -> AppView:
    """The network's AppView (``@atproto/bsky``); ``atproto_world`` adds it before any PDS."""
    return atproto_world.appview if atproto_world.has_appview else atproto_world.add_appview()


@pytest.fixture
def atproto_ozone(atproto_world: World) -> Ozone:
    """The network's Ozone (``@atproto/ozone``) beside its AppView, pushing takedowns to its first PDS (``A``).

    ``atproto_world`` makes its identity before any PDS; it starts here. Add its
    team with ``atproto_ozone.add_member(account, "admin")``; then
    ``.report(...)``, ``.takedown(...)``, ``.label(...)``, ``.status(...)``, ``.labels``.
    """
    return atproto_world.add_ozone()


# -- reports: diagnostics in failed tests, the run report --------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Add the diagnostics to a failed test's report; keep each phase for the run report."""
    report: pytest.TestReport = yield
    if report.failed and call.excinfo is not None and not item.config.getoption("fulltrace", False):
        _without_library_frames(item, call.excinfo, report)
    run = item.config.stash.get(_RUN, None)
    if run is not None and run.runtime is not None:
        _mask_report(report)
    world = item.stash.get(_WORLD, None)
    if report.failed and world is not None and report.when in ("setup", "call") and _DIAGNOSTICS not in item.stash:
        _add_diagnostics(item, report, world)
    if run is not None and run.record() is not None:
        _note_phase(item, report)
    return report


#: Where frames are library frames, not the test's: this package, pytest and pluggy.
_PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep
_LIBRARY_DIRS = (_PACKAGE_DIR, *(str(Path(m.__file__).resolve().parent) + os.sep for m in (_pytest, pluggy)))


def _library_frame(entry: Any) -> bool:
    return str(Path(str(entry.path)).resolve()).startswith(_LIBRARY_DIRS)


def _without_library_frames(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException], report: Any) -> None:
    """Show a failure atproto-bdd raised on purpose as its message under the test's own lines, without ours.

    An error of ours (bad input, a service that failed, an XRPC error) or an
    assertion of a world check says everything in its message: the frames of
    the world, the protocol layer or this plugin are noise, as behave's steps
    show it (one line naming the step). Unexpected exceptions (a bug) keep
    every frame; ``--fulltrace`` shows them all anyway.
    """
    from .errors import AtprotoBddError, UsageError

    error = excinfo.value
    entries = list(excinfo.traceback)
    if not isinstance(error, (AtprotoBddError, AssertionError)) or not entries:
        return
    if not str(Path(str(entries[-1].path)).resolve()).startswith(_PACKAGE_DIR):
        return  # raised by the test's own code (its assert): as pytest shows it
    own = excinfo.traceback.filter(lambda entry: not _library_frame(entry))
    if not len(own):  # raised in a fixture of ours, from no line of the test's: the message alone
        report.longrepr = f"{item.nodeid}: {type(error).__name__}: {error}"
        return
    style = item.config.getoption("tbstyle", "auto")
    # Bad input needs no history: what it was raised from (a KeyError, say) is our business, not the test's.
    chain = not isinstance(error, UsageError)
    try:
        report.longrepr = excinfo.getrepr(
            funcargs=True,
            showlocals=item.config.getoption("showlocals", False),
            style="long" if style == "auto" else style,
            # The test's own frames for our error; pytest's own filter for what it was raised from.
            tbfilter=lambda info: own if info.value is error else item._traceback_filter(info),
            chain=chain,
        )
    except Exception:  # a pytest whose internals differ: its own report stands
        pass


def _mask_report(report: pytest.TestReport) -> None:
    """Mask the run's secrets in a report's traceback and captured output (only where one appears)."""
    from .masking import masker

    if report.failed:
        text = report.longreprtext
        masked = masker.mask(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, masker.mask(body)) for title, body in report.sections]


def _add_diagnostics(item: pytest.Item, report: pytest.TestReport, world: World) -> None:
    from .diagnostics import diagnostic_sections, diagnostics, save_diagnostics, screenshots

    try:
        sections = diagnostic_sections(world)
        text = diagnostics(world)
        item.stash[_SCREENSHOTS] = screenshots(world)
    except Exception as error:  # diagnostics must never hide the failure itself
        sections, text = [("diagnostics", f"could not be gathered: {error!r}")], ""
    for title, body in sections:
        report.sections.append((f"atproto-bdd {title}", body))
    item.stash[_DIAGNOSTICS] = text
    run = item.config.stash[_RUN]
    saved = save_diagnostics(run.settings.report_dir, item.nodeid, text) if text else None  # no session needed
    if saved is not None:
        report.sections.append(("atproto-bdd diagnostics file", str(saved)))


def _note_phase(item: pytest.Item, report: pytest.TestReport) -> None:
    from .masking import masker
    from .report import StepRecord

    status = "skipped" if report.skipped else "failed" if report.failed else "passed"
    name = item.name if report.when == "call" else "fixtures"
    error = masker.mask(report.longreprtext) if report.failed else ""
    item.stash.setdefault(_PHASES, []).append(StepRecord(report.when, name, status, round(report.duration, 4), error))
    if report.when == "teardown":
        _record_test(item)


def _record_test(item: pytest.Item) -> None:
    import base64

    from .masking import masker
    from .report import ScenarioRecord

    phases = item.stash.get(_PHASES, [])
    failed = [phase for phase in phases if phase.status == "failed"]
    if failed:
        status = "failed" if failed[0].keyword == "call" else "error"
    elif any(phase.status == "skipped" for phase in phases):
        status = "skipped"
    else:
        status = "passed"
    world = item.stash.get(_WORLD, None)
    path, line, _ = item.location
    run = item.config.stash[_RUN]
    record = run.record()
    assert record is not None
    record.scenarios.append(
        ScenarioRecord(
            feature=path,
            name=item.name,
            location=f"{path}:{(line or 0) + 1}",
            status=status,
            duration=round(sum(phase.duration for phase in phases), 4),
            steps=phases,
            transcript=[masker.mask(x.summary()) for x in world.transcript] if world is not None else [],
            diagnostics=item.stash.get(_DIAGNOSTICS, ""),
            screenshots=[
                (masker.mask(caption), base64.b64encode(png).decode())
                for caption, png in item.stash.get(_SCREENSHOTS, [])
            ],
        )
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a module's last test (its shared network is gone by then), stop its apps with ``scope = "feature"``."""
    try:
        return (yield)
    finally:
        run = item.config.stash.get(_RUN, None)
        scopes = run.app_scopes if run is not None else None
        module = getattr(item, "module", None)
        if scopes is not None and (nextitem is None or getattr(nextitem, "module", None) is not module):
            scopes.close("feature")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the run report: a worker's JSON for the controller, or the merged (or single) HTML page."""
    run = session.config.stash.get(_RUN, None)
    if run is None or not run.settings.report_dir:
        return
    from .report import merge_worker_reports, write_reports, write_worker_report

    directory = Path(run.settings.report_dir)
    if run.distributing:
        run.report_page = merge_worker_reports(directory)
        return
    record = run.record()
    assert record is not None
    record.finished = time.time()
    if run.worker:
        write_worker_report(directory, record)
    else:
        run.report_page = write_reports(directory, [record])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where the report is."""
    run = config.stash.get(_RUN, None)
    page = getattr(run, "report_page", None)
    if page is not None:
        terminalreporter.write_line(f"atproto-bdd: report written to {page}")
