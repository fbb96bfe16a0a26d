"""The pytest plugin, tested with pytest's own ``pytester``: each test writes a throw-away test
project and runs pytest on it in a subprocess (the plugin loads from its entry point, as it does
for users), against real services. The projects' tests write what they saw (pids, URLs, DIDs)
to a JSON-lines file this module reads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import alive, interruptible

from atproto_bdd.settings import Settings
from atproto_bdd.waiting import poll

pytest_plugins = ["pytester"]
#: The installs' cache, read before pytester points HOME elsewhere.
CACHE_DIR = Settings.load().cache_dir

# A helper the projects' tests import: append what a test saw to $NOTES.
NOTE = '''
import json, os

def note(**seen):
    """Append one JSON line to $NOTES."""
    with open(os.environ["NOTES"], "a") as notes:
        notes.write(json.dumps(seen) + "\\n")
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with the note helper; NOTES points into it."""
    pytester.makepyfile(note=NOTE)
    # pytester gives the subprocess a HOME of its own: keep the installs where they are.
    monkeypatch.setenv("ATPROTO_BDD_CACHE_DIR", str(CACHE_DIR))
    monkeypatch.setenv("NOTES", str(pytester.path / "notes.jsonl"))
    monkeypatch.delenv("ATPROTO_BDD_REPORT_DIR", raising=False)
    return pytester


def notes(pytester: pytest.Pytester) -> list[dict]:
    """What the project's tests noted, in order."""
    path = pytester.path / "notes.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_each_test_gets_a_fresh_network_and_the_factories_work(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_fresh="""
        from note import note

        def test_first(atproto_world, atproto_account):
            alice = atproto_account("alice.test")
            assert atproto_account("alice.test") is alice  # created once
            atproto_world.open_window()
            alice.post("hello")
            event = atproto_world.expect_on_pds("A", atproto_world.event_query("commit", "alice.test"))
            note(plc=atproto_world.network.plc.url, did=alice.did, seq=event.seq)

        def test_second(atproto_world, atproto_account):
            bob = atproto_account("bob.test", pds="B")
            assert list(atproto_world.pdses) == ["B"]
            assert "alice.test" not in atproto_world.accounts
            note(plc=atproto_world.network.plc.url, did=bob.did)

        def test_together(atproto_world, atproto_accounts):
            carol, dave = atproto_accounts("carol.test", "dave.test")
            assert [carol.handle, dave.handle] == ["carol.test", "dave.test"] and carol.did != dave.did
            assert list(atproto_world.pdses) == ["A"]
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    first, second = notes(project)
    assert first["did"] != second["did"]
    # The first network is gone: its PLC directory no longer answers.
    import httpx

    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{first['plc']}/{first['did']}", timeout=2)


def test_the_network_mark_shares_one_network_per_module_or_session(project: pytest.Pytester) -> None:
    body = """
        import pytest
        from note import note

        @pytest.mark.atproto_network("module")
        def test_module_1(atproto_world):
            note(module=__name__, scope="module", plc=atproto_world.network.plc.url, world=id(atproto_world))

        @pytest.mark.atproto_network("module")
        def test_module_2(atproto_world):
            note(module=__name__, scope="module", plc=atproto_world.network.plc.url, world=id(atproto_world))

        @pytest.mark.atproto_network("session")
        def test_session(atproto_world):
            note(module=__name__, scope="session", plc=atproto_world.network.plc.url, world=id(atproto_world))

        def test_own(atproto_world):
            note(module=__name__, scope="function", plc=atproto_world.network.plc.url, world=id(atproto_world))
        """
    project.makepyfile(test_one=body, test_two=body)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    seen = notes(project)
    worlds = {(n["module"], n["scope"]): set() for n in seen}
    for n in seen:
        worlds[(n["module"], n["scope"])].add(n["world"])
    assert len(worlds[("test_one", "module")]) == 1
    assert worlds[("test_one", "module")] != worlds[("test_two", "module")]
    assert worlds[("test_one", "session")] == worlds[("test_two", "session")]
    everything = [n["world"] for n in seen if n["scope"] != "session"]
    assert len(set(everything)) == 6 - 2  # two per module shared, one own each


def test_a_bad_mark_or_option_is_named_with_the_valid_choices(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.atproto_network("feature")
        def test_bad_scope(atproto_world):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*atproto_network('feature') is not a scope; valid: 'function', 'module', 'session'*"])
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--atproto-pds-version=9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*setting pds_version='9' is not valid; choose one of: 0.4, 0.5*"])


def test_a_failed_test_reports_transcript_logs_and_events_masked(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_fails="""
        from note import note

        def test_fails(atproto_world, atproto_account):
            alice = atproto_account("alice.test")
            note(password=alice.password)
            atproto_world.open_window()
            alice.post("hello")
            atproto_world.expect_on_pds("A", atproto_world.event_query("commit", "alice.test"))
            print("the password is", alice.password)
            assert False, "wrong on purpose: " + alice.password
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--atproto-report")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    for section in (
        "atproto-bdd XRPC transcript",
        "atproto-bdd PLC directory log (last 15 lines)",
        "atproto-bdd PDS A log (last 15 lines)",
        "atproto-bdd PDS A firehose events",
    ):
        assert section in output, output
    assert "POST com.atproto.repo.createRecord -> 200" in output
    assert "commit alice.test: create app.bsky.feed.post/" in output, output
    [seen] = notes(project)
    assert seen["password"] not in output
    assert "wrong on purpose: ***" in output
    assert "the password is ***" in output
    saved = project.path / "reports" / "diagnostics" / "test_fails.py-test_fails.txt"
    assert "XRPC transcript:" in saved.read_text()
    page = (project.path / "reports" / "atproto-bdd.html").read_text()
    assert "test_fails" in page and seen["password"] not in page


def test_xdist_workers_each_have_a_host_and_isolated_networks_and_one_report(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_workers="""
        import os, pytest
        from note import note

        @pytest.mark.parametrize("n", range(6))
        def test_network(atproto_world, atproto_account, n):
            alice = atproto_account("alice.test")
            note(worker=os.environ.get("PYTEST_XDIST_WORKER"), host=atproto_world.runtime.host.pid,
                 plc=atproto_world.network.plc.url, did=alice.did)
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--atproto-report")
    result.assert_outcomes(passed=6)
    seen = notes(project)
    hosts = {n["worker"]: set() for n in seen}
    for n in seen:
        hosts[n["worker"]].add(n["host"])
    assert set(hosts) == {"gw0", "gw1"}, seen
    assert all(len(pids) == 1 for pids in hosts.values())  # one host per worker
    assert hosts["gw0"] != hosts["gw1"]
    assert len({n["did"] for n in seen}) == 6  # each test its own network and account
    page = (project.path / "reports" / "atproto-bdd.html").read_text()
    assert "6 passed" in page and "workers: gw0, gw1" in page
    assert not any(alive(pid) for pids in hosts.values() for pid in pids)


APP = """
import http.server, os, signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ["GREETING"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

APP_CONFIG = """
[apps.greeter]
command = ["python", "app.py"]
ready_http = "/"
scope = "feature"
env = { PORT = "${app.greeter.port}", GREETING = "hello from ${app.greeter.port}" }
"""


def test_apps_start_from_the_config_and_a_feature_scope_lives_for_a_module(project: pytest.Pytester) -> None:
    (project.path / "app.py").write_text(APP)
    (project.path / "atproto-bdd.toml").write_text(APP_CONFIG)
    body = """
        import pytest
        from note import note

        def test_a(atproto_app):
            app = atproto_app("greeter")
            note(module=__name__, pid=app.pid, text=app.http("GET", "/").text)

        def test_b(atproto_app):
            note(module=__name__, pid=atproto_app("greeter").pid)

        def test_unknown(atproto_app):
            with pytest.raises(Exception, match="greeter"):
                atproto_app("nope")
        """
    project.makepyfile(test_one=body, test_two=body)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    seen = notes(project)
    one = {n["pid"] for n in seen if n["module"] == "test_one"}
    two = {n["pid"] for n in seen if n["module"] == "test_two"}
    assert len(one) == 1 and len(two) == 1 and one != two
    assert seen[0]["text"].startswith("hello from ")
    assert not any(alive(pid) for pid in one | two)


def test_relay_and_appview_fixtures(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_services="""
        def test_relay(atproto_world, atproto_relay, atproto_account):
            alice = atproto_account("alice.test")
            atproto_world.open_window()
            alice.post("to the relay")
            atproto_world.expect_on_relay(atproto_world.event_query("commit", "alice.test"))

        def test_appview(atproto_appview, atproto_account):
            alice, bob = atproto_account("alice.test"), atproto_account("bob.test")
            bob.follow(alice)
            post = alice.post("seen by bob")
            atproto_appview.expect(lambda: atproto_appview.timeline(bob), lambda uris: post.uri in uris,
                                   "bob's timeline has the post", str)
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_ozone_fixture_comes_before_the_pdses_the_test_makes(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_moderation="""
        from atproto_bdd.world.bsky import POST

        def test_takedown(atproto_account, atproto_ozone, atproto_world):
            alice, bob, carol = (atproto_account(h) for h in ("alice.test", "bob.test", "carol.test"))
            atproto_ozone.add_member(carol, "moderator")
            post = alice.post("awful")
            atproto_ozone.report(bob, post, "violation")
            atproto_ozone.expect_review_state(post, "open", "alice's post")
            atproto_ozone.takedown(carol, post)
            assert atproto_world.appview.post(post.uri, bob) is None
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


HOLD = """
import json, os, time
from note import note

def test_hold(atproto_world, atproto_account):
    atproto_account("alice.test")
    runtime = atproto_world.runtime
    note(worker=os.getpid(), host=runtime.host.pid, run_dir=str(runtime.run_dir))
    time.sleep(120)
"""


def start_holding(project: pytest.Pytester, args: list[str], holders: int) -> tuple[subprocess.Popen[bytes], Path]:
    """Run pytest on test_hold.py in the background until ``holders`` tests hold; the process and its log."""
    output = project.path / "run.log"
    with open(output, "wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "test_hold.py"],
            cwd=project.path,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=interruptible,
        )
    held = poll(lambda: run.poll() is not None or len(notes(project)) == holders, timeout=90, on_timeout=None)
    if not held or run.poll() is not None:
        run.kill()
        run.wait(10)
        pytest.fail(f"the tests never held:\n{output.read_text()}")
    return run, output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_session_leaves_nothing_running(project: pytest.Pytester, signum: int) -> None:
    project.makepyfile(test_hold=HOLD)
    run, output = start_holding(project, [], holders=1)
    try:
        [seen] = notes(project)
        assert alive(seen["host"])
        started = time.monotonic()
        run.send_signal(signum)
        run.wait(timeout=30)
        gone = poll(lambda: not alive(seen["host"]), timeout=10, on_timeout=None)
        assert gone, f"the host outlived {signal.Signals(signum).name} by 10 s\n{output.read_text()}"
        if signum != signal.SIGKILL:  # an orderly stop: the fixtures' finalizers ran
            assert "Interrupted" in output.read_text() or "KeyboardInterrupt" in output.read_text()
        cleaned = poll(lambda: not Path(seen["run_dir"]).exists(), timeout=10, on_timeout=None)
        assert cleaned, f"run directory left {time.monotonic() - started:.1f}s after the signal"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)


def test_sigterm_to_an_xdist_controller_stops_the_workers_and_their_hosts(project: pytest.Pytester) -> None:
    twice = "import pytest\n\n@pytest.mark.parametrize('n', [1, 2])\ndef test_hold(n, "
    project.makepyfile(test_hold=HOLD.replace("def test_hold(", twice))
    run, output = start_holding(project, ["-n", "2"], holders=2)
    try:
        pids = [pid for n in notes(project) for pid in (n["worker"], n["host"])]
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=45)
        gone = poll(lambda: not any(alive(pid) for pid in pids), timeout=15, on_timeout=None)
        assert gone, f"still running: {[pid for pid in pids if alive(pid)]}\n{output.read_text()}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)


def test_the_plugin_loads_without_starting_anything(project: pytest.Pytester) -> None:
    pytester = project
    # Only the registry of services (stdlib and our errors; the plugin makes its fixtures from it) is loaded.
    plain = (
        "def test_plain():\n    import sys\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith(('atproto_bdd.services.', 'atproto_bdd.world')))\n"
        "    assert loaded == ['atproto_bdd.services.registry'], loaded\n"
    )
    pytester.makepyfile(test_plain=plain)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "atproto-bdd" not in result.stdout.str().split("collected")[-1]


def test_the_registry_makes_the_jetstream_and_tap_fixtures_on_the_relay(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_sync="""
        from note import note

        def test_jetstream_and_tap(atproto_world, atproto_account, atproto_jetstream, atproto_tap):
            alice = atproto_account("alice.test")
            assert atproto_world.has_relay and atproto_world.jetstream is atproto_jetstream
            atproto_world.open_window()
            alice.post("seen by both")
            query = atproto_world.event_query("commit", "alice.test", collection="app.bsky.feed.post")
            event = atproto_jetstream.expect(query)
            atproto_tap.track(alice.did)
            note(jetstream=atproto_jetstream.url, tap=atproto_tap.url, did=event.did)
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures")
    assert "Jetstream on the network's relay" in result.stdout.str(), result.stdout.str()[-2000:]
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (seen,) = notes(project)
    assert seen["jetstream"].startswith("ws://127.0.0.1:") and seen["tap"].startswith("http://127.0.0.1:")


def test_the_browser_fixture_gives_each_person_a_page(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_pages="""
        def test_pages(atproto_browser):
            alice = atproto_browser.person("alice.test")
            alice.open("data:text/html,<title>T</title><label for=n>Name</label><input id=n><p>hello</p>")
            alice.fill("Name", "alice.test")
            alice.expect_text("hello")
            alice.expect_no_text("goodbye")
            assert atproto_browser.person("bob.test").page is not alice.page
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
