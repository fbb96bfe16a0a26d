"""Faults between an app and the network (world/faults.py, Toxiproxy), against real services.

The app is features/apps/ping_bot.py behind proxies (faults = true): it answers "@pingbot.test ping" with a
"pong" and subscribes again from its cursor when its firehose connection breaks.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import project_world

from atproto_bdd.errors import UsageError
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.bsky import POST

BOT = Path(__file__).resolve().parent.parent / "features" / "apps" / "ping_bot.py"
CONFIG = f"""
[apps.bot]
command = ["{sys.executable}", "{BOT}"]
ready_http = "/"
did = "none"
account = "pingbot.test"
cursor_http = "/cursor"
faults = true

[apps.bot.env]
PORT = "${{app.bot.port}}"
PDS_URL = "${{A.url}}"
BOT_HANDLE = "${{app.bot.handle}}"
BOT_PASSWORD = "${{app.bot.app_password}}"
"""
#: The same bot with a bug apps ship: after a lost connection it subscribes from the live head, not its cursor.
FORGETFUL = (
    CONFIG.replace("[apps.bot", "[apps.forgetful").replace("app.bot.", "app.forgetful.")
    + """RESUME = "no"
"""
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with project_world(tmp_path, CONFIG + FORGETFUL) as world:
        yield world


def test_the_app_reaches_the_pds_through_its_proxy_and_an_outage_ends_on_time(world: World) -> None:
    bot = world.app("bot").start()
    faults = world.faults
    proxy = faults.proxy("bot", "PDS A")
    assert bot.running
    assert proxy.upstream.endswith(f":{world.pds('A').url.rsplit(':', 1)[1]}"), proxy.upstream
    faults.cut("bot", "PDS A", seconds=0.5)
    with pytest.raises(httpx.HTTPError):  # refused while cut: new connections fail
        httpx.get(f"http://127.0.0.1:{proxy.port}/xrpc/_health", timeout=1)
    assert world.pds("A").xrpc_get("com.atproto.server.describeServer")  # the framework goes straight there
    time.sleep(1.0)
    assert httpx.get(f"http://127.0.0.1:{proxy.port}/xrpc/_health", timeout=2).status_code == 200
    alice = world.create_account("alice.test")
    alice.post("@pingbot.test ping")
    world.bot("pingbot.test").expect_reply(alice.latest(POST), "pong")


def test_latency_and_a_bandwidth_limit_slow_what_comes_through_the_proxy_only(world: World) -> None:
    world.app("bot").start()
    faults = world.faults
    proxied = f"http://127.0.0.1:{faults.proxy('bot', 'PDS A').port}"
    alice = world.create_account("alice.test")
    blob = alice.upload_blob(os.urandom(30_000), "application/octet-stream")
    path = f"/xrpc/com.atproto.sync.getBlob?did={alice.did}&cid={blob.cid}"

    def seconds(url: str) -> float:
        began = time.monotonic()
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200 and len(response.content) == 30_000, response
        return time.monotonic() - began

    faults.latency("bot", "PDS A", 300)
    assert seconds(proxied + path) >= 0.3
    assert seconds(world.pds("A").url + path) < 0.3  # the framework's own requests go straight there
    faults.restore("bot", "PDS A")
    assert seconds(proxied + path) < 0.3
    faults.limit("bot", "PDS A", 10)  # 30 KB at 10 KB/s
    assert seconds(proxied + path) >= 2.0


def test_the_end_of_a_scenario_undoes_its_faults_for_a_network_that_outlives_it(world: World) -> None:
    world.app("bot").start()
    faults = world.faults
    proxy = faults.proxy("bot", "PDS A")
    faults.latency("bot", "PDS A", 100)
    faults.cut("bot", "PDS A", seconds=30)
    world.end_scenario_services()
    # Switched on and without its latency toxic, the timer gone: Toxiproxy's own view of the proxy.
    state = httpx.get(f"{faults.service.url}/proxies/{proxy.name}", timeout=2).json()
    assert state["enabled"] is True and state["toxics"] == [], state
    assert proxy.restore is not None and proxy.restore.finished.is_set()  # cancelled
    assert httpx.get(f"http://127.0.0.1:{proxy.port}/xrpc/_health", timeout=2).status_code == 200


def test_a_killed_app_is_gone_at_once_and_starts_again(world: World, capfd: pytest.CaptureFixture[str]) -> None:
    bot = world.app("bot").start()
    pid = bot.pid
    bot.kill()
    assert not bot.running and pid is not None
    bot.restart()
    assert bot.running and bot.pid != pid
    # Its stop before the start found it dead already: not an app that ignores SIGTERM.
    assert "did not exit within" not in capfd.readouterr().err


def test_faults_name_what_is_wrong(world: World) -> None:
    world.app("bot").start()
    with pytest.raises(UsageError, match=r"unknown upstream 'the moon'; an app's upstream is one of: PDS <name>, "):
        world.faults.drop("bot", "the moon")
    with pytest.raises(UsageError, match=r"the app bot does not reach the relay through a proxy \(its proxies: "):
        world.faults.drop("bot", "the relay")
    with pytest.raises(UsageError, match=r"the app other does not reach PDS A through a proxy.*faults = true"):
        world.faults.latency("other", "PDS A", 100)


@pytest.mark.parametrize("app", ["bot", "forgetful"])
def test_what_was_posted_during_an_outage_is_answered_only_by_an_app_that_resumes(world: World, app: str) -> None:
    alice = world.create_account("alice.test")
    world.app(app).start()
    alice.post("a post the bot reads past")
    world.app(app).wait_caught_up(5)
    world.faults.cut(app, "PDS A")
    alice.post("@pingbot.test ping")  # the framework's own request: straight to the PDS
    world.faults.restore(app, "PDS A")
    world.faults.expect_reconnected(app, "PDS A")
    bot = world.bot("pingbot.test")
    if app == "bot":
        assert int(world.faults.expect_resumed(app, "A")) > 0
        bot.expect_reply(alice.latest(POST), "pong")
        return
    with pytest.raises(AssertionError, match=r"again without a cursor \(it had acknowledged #\d+\): it reads from "):
        world.faults.expect_resumed(app, "A")
    with pytest.raises(AssertionError, match=r"pingbot.test did not reply 'pong' to .* within 5s; its repository "):
        bot.expect_reply(alice.latest(POST), "pong")


def test_a_project_with_an_app_behind_faults_builds_toxiproxy_before_its_first_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atproto_bdd import session as session_module

    (tmp_path / "atproto-bdd.toml").write_text(CONFIG)
    asked: list[set[str]] = []
    monkeypatch.setattr(session_module, "prepare_ahead", lambda settings, wanted: asked.append(set(wanted)))

    class Idle:  # a runtime that starts nothing: only what is prepared matters here
        def start(self) -> None:
            pass

    run = session_module.RunSession(Settings.load(), tmp_path, runtime=Idle())  # type: ignore[arg-type]
    run.start({"relay"})
    assert asked == [{"relay", "faults"}]  # the app's first start would otherwise build it mid-scenario


def test_the_relay_resume_check_sees_an_app_that_replays_the_relay_from_zero(tmp_path: Path) -> None:
    from atproto_bdd.world.faults import RELAY

    feedgen = Path(__file__).resolve().parent.parent / "examples" / "feedgen" / "feedgen.py"
    source = feedgen.read_text()
    line = 'url = f"{FIREHOSE}/xrpc/com.atproto.sync.subscribeRepos?cursor={INDEX.cursor()}"'
    assert source.count(line) == 1
    (tmp_path / "replaying.py").write_text(source.replace(line, line.replace("{INDEX.cursor()}", "0")))
    app = f"""
command = ["{sys.executable}", "{{script}}"]
ready_http = "/xrpc/app.bsky.feed.describeFeedGenerator"
did = "none"
cursor_http = "/cursor"
cursor_of = "relay"
faults = true
"""
    env = """
FEEDGEN_PORT = "${{app.{name}.port}}"
FEEDGEN_SUBSCRIPTION_ENDPOINT = "${{relay.ws_url}}"
FEEDGEN_PUBLISHER_DID = "did:plc:nobody"
FEEDGEN_SERVICE_DID = "did:plc:nobody"
FEEDGEN_PLC_URL = "${{plc.url}}"
FEEDGEN_DB = "${{run_dir}}/feedgen.sqlite"
"""
    config = (
        "[apps.good]"
        + app.format(script=feedgen)
        + "[apps.good.env]"
        + env.format(name="good")
        + "[apps.replaying]"
        + app.format(script=tmp_path / "replaying.py")
        + "[apps.replaying.env]"
        + env.format(name="replaying")
    )
    with project_world(tmp_path, config) as world:
        world.add_relay("A")
        world.create_account("alice.test").post("something to read past")
        for name in ("good", "replaying"):
            world.app(name).start()
            world.app(name).wait_caught_up(10)
            world.faults.drop(name, "the relay")
            if name == "good":
                asked = world.faults.expect_resumed(name, RELAY)
                assert int(asked) > 0, asked
            else:
                with pytest.raises(
                    AssertionError,
                    match=r"the app replaying subscribed to the relay firehose again "
                    r"from cursor 0 \(it had acknowledged #\d+\): it replays everything",
                ):
                    world.faults.expect_resumed(name, RELAY)
