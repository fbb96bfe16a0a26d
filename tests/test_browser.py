"""People in a real browser (world/browser.py, services/browser.py): Chromium driven by Playwright.

These open small pages served from a local HTTP server; what is under test is
finding fields and buttons, the waits and their messages, the diagnostics and
that no browser process outlives behave.
"""

from __future__ import annotations

import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import hold_behave, sigkill_and_expect_gone, write_hold_project

from atproto_bdd.diagnostics import diagnostic_sections, screenshots
from atproto_bdd.errors import UsageError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.browser import find_chromium
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.browser import BrowserStepError

PAGE = b"""<!doctype html><title>Form</title><h1>A form</h1>
<label for=h>Handle</label><input id=h name=handle><input name=secret type=password placeholder=Password>
<button>Sign in</button><a href=/elsewhere>Elsewhere</a>
<script>console.error("a console error")</script>"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/never":  # a server that never answers: the navigation never commits
            time.sleep(30)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def world() -> Iterator[World]:
    settings = replace(Settings.load(), browser_timeout=1.0)
    with LocalRuntime(settings) as runtime:
        world = World(runtime, settings)
        try:
            yield world
        finally:
            world.close()


def test_a_missing_field_or_button_is_named_with_the_ones_on_the_page(world: World, page_url: str) -> None:
    alice = world.add_service("browser").person("alice.test")
    alice.open(page_url)
    alice.fill("Handle", "alice.test")
    alice.fill("Password", "hunter2")  # by placeholder
    with pytest.raises(BrowserStepError) as caught:
        alice.fill("Email", "x")
    message = str(caught.value)
    assert message.startswith('alice.test finds no field "Email" (by label, placeholder or name) within 1s on ')
    assert 'its fields: "Handle", "Password"' in message and page_url in message, message
    with pytest.raises(BrowserStepError, match='its buttons and links: "Sign in", "Elsewhere"'):
        alice.click("Sign out")
    with pytest.raises(BrowserStepError, match=r'does not see "Welcome" within 1s .*the page shows:\n.*A form'):
        alice.expect_text("Welcome")


def test_a_failure_shows_each_page_and_a_screenshot_of_it(world: World, page_url: str) -> None:
    world.add_service("browser").person("alice.test").open(page_url)
    sections = dict(diagnostic_sections(world))
    page = sections["browser: alice.test's page"]
    assert f'page: {page_url} (title "Form")' in page and "console error: a console error" in page, page
    ((caption, png),) = screenshots(world)
    assert caption.startswith("alice.test's page: ") and png.startswith(b"\x89PNG"), caption


def test_a_trace_per_person_is_written_when_the_scenario_ends(tmp_path: Path, page_url: str) -> None:
    settings = replace(Settings.load(), browser_timeout=1.0, browser_trace=True, report_dir=str(tmp_path))
    with LocalRuntime(settings) as runtime:
        world = World(runtime, settings)
        try:
            world.begin_scenario("A form, traced")
            alice = world.add_service("browser").person("alice.test")
            alice.open(page_url)
            alice.fill("Handle", "alice.test")
            trace = tmp_path / "traces" / "A-form-traced-alice.test.zip"
            assert world.browser.traces() == [trace]
            assert f"trace: {trace}" in dict(diagnostic_sections(world))["browser: alice.test's page"]
            assert not trace.exists()
            world.end_scenario()  # a shared network keeps running; the scenario's people close
            assert not world.has_browser, "the scenario's pages outlived it"
            names = set(zipfile.ZipFile(trace).namelist())
            assert "trace.trace" in names and any(name.startswith("resources/") for name in names), names
            world.begin_scenario("A form, traced")  # the same scenario again keeps the first trace
            world.add_service("browser").person("alice.test").open(page_url)
            assert world.browser.traces() == [tmp_path / "traces" / "A-form-traced-alice.test-2.zip"]
        finally:
            world.close()


def test_a_navigation_that_never_commits_cannot_hang_a_step(
    world: World, page_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atproto_bdd.world import browser as browser_module

    monkeypatch.setattr(browser_module, "STUCK_GRACE", 1.0)
    alice = world.add_service("browser").person("alice.test")
    alice.open(page_url)
    alice.page.evaluate(f"() => setTimeout(() => location.href = '{page_url}never', 0)")
    started = time.monotonic()
    with pytest.raises(BrowserStepError, match=r"is not on the app at .*within 1s: the page is "):
        alice.expect_at(page_url + "never", "the app at " + page_url + "never")  # bounded without help
    with pytest.raises(BrowserStepError, match=r'cannot tell that the page does not show "nothing here"'):
        alice.expect_no_text("nothing here")  # bounded too, and no pass for a page that cannot be read
    # A call Playwright gives no deadline (a script in the page) waits for the next document for ever: the
    # browser is killed after the person's timeout and the grace, and the step says why.
    with pytest.raises(BrowserStepError, match=r"could not look at the page: the page did not answer within 2s"):
        alice._wait(lambda: alice.page.evaluate("() => 1"), on_timeout=None)
    assert time.monotonic() - started < 15, "a step blocked past its deadline"
    bob = world.browser.person("bob.test")  # the browser is launched again for the next person
    bob.open(page_url)
    bob.expect_text("A form")


def test_a_bad_browser_executable_names_the_setting() -> None:
    settings = replace(Settings.load(), browser_executable="/nowhere/chrome")
    with pytest.raises(UsageError, match=r"browser_executable='/nowhere/chrome': no such executable"):
        find_chromium(settings)


HOLD_STEP = """
import json, os, time
from behave import when
from atproto_bdd.services.listening import descendants

@when("the run holds")
def hold(context):
    children = sorted(descendants(os.getpid()) - {os.getpid()})
    with open(os.environ["HOLD_MARKER"] + ".tmp", "w") as f:
        json.dump({str(pid): pid for pid in children}, f)
    os.replace(os.environ["HOLD_MARKER"] + ".tmp", os.environ["HOLD_MARKER"])
    time.sleep(120)
"""

FEATURE = """Feature: hold
  Scenario: hold a browser page open
    Given the app guestbook is running
    When alice.test opens /about in the app guestbook
    And the run holds
"""


def test_sigkill_of_behave_takes_the_browser_down(tmp_path: Path) -> None:
    write_hold_project(tmp_path, FEATURE, HOLD_STEP)
    app = Path(__file__).parent.parent / "features" / "apps" / "guestbook_app.py"
    (tmp_path / "atproto-bdd.toml").write_text(
        f'[apps.guestbook]\ncommand = ["python", "{app}"]\nready_http = "/"\ndid = "none"\n'
        '[apps.guestbook.env]\nPORT = "${app.guestbook.port}"\n'
    )
    process, children = hold_behave(tmp_path, tmp_path / "marker.json")
    assert len(children) >= 3, f"the app, Playwright's driver and Chromium run under behave: {children}"
    sigkill_and_expect_gone(process, children, within=5)
