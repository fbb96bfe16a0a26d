"""Declaring apps under test (atproto-bdd.toml), their DIDs, and their placeholders."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.crypto import PublicKey
from atproto_bdd.protocol.multiformats import base32_encode
from atproto_bdd.protocol.plc_ops import SigningKey, genesis_operation
from atproto_bdd.services.app_config import find_config, find_project_dir, load_config
from atproto_bdd.world.placeholders import ws_url

GOOD = """
[apps.feedgen]
command = "python feedgen.py --port 1"
cwd = "app"
ready_http = "/health"

[apps.feedgen.env]
PORT = "${app.feedgen.port}"
DEBUG = true
"""


def write(tmp_path: Path, text: str, name: str = "atproto-bdd.toml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def test_an_app_is_read_with_its_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    app = config.app("feedgen")
    assert app.command == ("python", "feedgen.py", "--port", "1")
    assert app.cwd == (tmp_path / "app").resolve()
    assert app.env == {"PORT": "${app.feedgen.port}", "DEBUG": "true"}
    assert (app.ready_http, app.did, app.scope, app.ready_timeout) == ("/health", "plc", "scenario", 30.0)


def test_pyproject_is_the_fallback_and_atproto_bdd_toml_wins(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("[apps.", "[tool.atproto-bdd.apps."), "pyproject.toml")
    assert find_config(tmp_path)[0].name == "pyproject.toml"
    assert load_config(tmp_path).app("feedgen").command[0] == "python"
    write(tmp_path, '[apps.other]\ncommand = ["x"]\n')
    assert sorted(load_config(tmp_path).apps) == ["other"]
    assert load_config(tmp_path / "empty-dir").apps == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[apps.a\ncommand = 1", "is not valid TOML"),
        ('[apps.a]\ncommand = ["x"]\nreedy_http = "/"', "unknown key apps.a.reedy_http; valid keys: command, cwd, env"),
        ("[apps.a]\ncwd = '.'", "apps.a.command is required"),
        ('[apps.a]\ncommand = ["x"]\ndid = "key"', "apps.a.did is 'key'; valid: plc, web, none"),
        ('[apps.a]\ncommand = ["x"]\nready_log = "("', "apps.a.ready_log is not a valid regular expression"),
        ('[apps.a]\ncommand = ["x"]\nready_log = "x"\nready_tcp = true', "choose one readiness check"),
        ('[apps.a]\ncommand = ["x"]\nscope = "forever"', "apps.a.scope is 'forever'; valid: scenario, feature, run"),
        ('[apps.a]\ncommand = ["x"]\ncursor_http = "cursor"', "apps.a.cursor_http must be a path starting with /"),
        ('[apps.a]\ncommand = ["x"]\ncursor_of = "A"', "apps.a.cursor_of needs cursor_http"),
        ('[services.a]\ncommand = ["x"]', "unknown key services; valid keys: apps"),
        ('[apps.A]\ncommand = ["x"]', "app name 'A' must be lower-case"),
        ('[apps.a]\ncommand = ["x"]\nport = "3000"', "apps.a.port must be a TCP port number, 1 to 65535"),
        ('[apps.a]\ncommand = ["x"]\nport = 70000', "apps.a.port must be a TCP port number"),
        (
            '[apps.a]\ncommand = ["x"]\n[apps.a.sign_in]\nbuton = "Go"',
            "unknown key apps.a.sign_in.buton",
        ),
        ('[apps.a]\ncommand = ["x"]\n[apps.a.sign_in]\npath = "login"', "apps.a.sign_in.path must start with /"),
    ],
)
def test_config_mistakes_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match="atproto-bdd.toml") as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)


def test_an_unknown_app_lists_the_declared_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown app 'feedgn'; apps declared in .*atproto-bdd.toml: feedgen"):
        load_config(write(tmp_path, GOOD)).app("feedgn")


def test_a_genesis_operation_is_signed_and_names_its_did() -> None:
    key = SigningKey.generate()
    did, operation = genesis_operation(
        rotation_keys=[key.did_key],
        verification_methods={"atproto": key.did_key},
        services={"bsky_fg": {"type": "BskyFeedGenerator", "endpoint": "http://127.0.0.1:1"}},
        signer=key,
    )
    unsigned = {name: value for name, value in operation.items() if name != "sig"}
    signature = base64.urlsafe_b64decode(operation["sig"] + "==")
    assert PublicKey.from_did_key(key.did_key).verify(dagcbor.encode(unsigned), signature)
    assert did == "did:plc:" + base32_encode(hashlib.sha256(dagcbor.encode(operation)).digest())[:24]
    assert operation["prev"] is None and operation["type"] == "plc_operation"
    assert SigningKey.from_hex(key.hex).did_key == key.did_key and len(key.hex) == 64


def test_signatures_are_low_s() -> None:
    key = SigningKey.generate()
    half = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2
    assert all(int.from_bytes(key.sign(bytes([n]))[32:], "big") <= half for n in range(40))


def test_ws_urls() -> None:
    assert ws_url("http://localhost:2583") == "ws://localhost:2583"
    assert ws_url("https://pds.example") == "wss://pds.example"


def test_cursor_settings_and_scopes_are_read(tmp_path: Path) -> None:
    text = '[apps.a]\ncommand = ["x"]\ncursor_http = "/cursor"\ncursor_of = "relay"\nscope = "run"'
    app = load_config(write(tmp_path, text)).app("a")
    assert (app.cursor_http, app.cursor_of, app.scope) == ("/cursor", "relay", "run")


def test_apps_run_with_the_test_virtualenv_first_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from atproto_bdd.services.child_env import app_path

    monkeypatch.setattr(sys, "prefix", "/venv")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert app_path("/usr/bin:/bin") == "/venv/bin:/usr/bin:/bin"
    assert app_path("/venv/bin:/bin") == "/venv/bin:/bin"
    monkeypatch.setattr(sys, "base_prefix", "/venv")
    assert app_path("/usr/bin") == "/usr/bin"


@pytest.mark.parametrize(
    ("name", "stable"),
    [
        ("app.feedgen.port", True),
        ("app.my-app.did", True),
        ("run_dir", True),
        ("now", True),
        ("A.ws_url", False),
        ("plc.url", False),
        ("alice.test.did", False),
        ("relay.url", False),
    ],
)
def test_which_placeholders_an_app_outliving_its_network_may_use(name: str, stable: bool) -> None:
    from atproto_bdd.world.app import STABLE_PLACEHOLDER

    assert bool(STABLE_PLACEHOLDER.match(name)) is stable


def test_the_sign_in_form_has_defaults(tmp_path: Path) -> None:
    app = load_config(write(tmp_path, '[apps.a]\ncommand = ["x"]\n[apps.a.sign_in]\nbutton = "Log in"')).app("a")
    assert dict(app.sign_in) == {"path": "/", "field": "Handle", "button": "Log in"}


def test_a_pinned_port_is_read(tmp_path: Path) -> None:
    app = load_config(write(tmp_path, '[apps.a]\ncommand = ["x"]\nport = 3000')).app("a")
    assert app.port == 3000
    assert load_config(write(tmp_path, '[apps.a]\ncommand = ["x"]')).app("a").port is None


def test_an_app_listening_on_another_port_fails_at_once_saying_which(tmp_path: Path) -> None:
    import sys
    import time

    from atproto_bdd.services.app_config import AppSpec
    from atproto_bdd.services.app_process import AppProcess, AppStartError
    from atproto_bdd.services.ports import free_port

    port, other = free_port(), free_port()
    # A server (under a shell, as npm and framework CLIs run them) that ignores the port it is given.
    command = ("sh", "-c", f"exec {sys.executable} -m http.server {other} --bind 127.0.0.1")
    spec = AppSpec(name="ignorer", command=command, cwd=tmp_path, ready_http="/", ready_timeout=30, source="t.toml")
    started = time.monotonic()
    with pytest.raises(AppStartError) as caught:
        AppProcess.start(spec, port=port, env={}, log_path=tmp_path / "app.log")
    message = str(caught.value)
    assert f"listens on {other}, not on its port {port}: pass ${{app.ignorer.port}}" in message, message
    assert f"pin port = {other}" in message
    assert time.monotonic() - started < 10, "said at once, not after ready_timeout"


def test_a_pinned_port_is_the_apps_and_a_taken_one_is_refused_naming_it(tmp_path: Path) -> None:
    import socket
    import sys

    from atproto_bdd.services import LocalRuntime
    from atproto_bdd.services.ports import free_port
    from atproto_bdd.world import World

    port = free_port()
    app = f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1"
    config = load_config(
        write(
            tmp_path, f'[apps.pinned]\ncommand = ["sh", "-c", "{app}"]\nready_http = "/"\ndid = "none"\nport = {port}'
        )
    )
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.app_config = config
        try:
            started = world.app("pinned").start()
            assert (started.port, started.url) == (port, f"http://127.0.0.1:{port}")
            started.stop()
        finally:
            world.close()
        with socket.socket() as squatter:  # another program on the pinned port
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            world = World(runtime)
            world.app_config = config
            try:
                with pytest.raises(UsageError, match=f"port = {port} pinned in .*atproto-bdd.toml.*is taken"):
                    world.app("pinned").start()
            finally:
                world.close()


def test_the_projects_config_is_found_from_a_subdirectory_but_not_past_a_projects_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "atproto-bdd.toml").write_text('[apps.indexer]\ncommand = ["python", "indexer.py"]\n')
    assert find_project_dir(project / "tests") == project  # pytest run from tests/
    inner = project / "tools" / "other"
    inner.mkdir(parents=True)
    (project / "tools" / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    assert find_project_dir(inner) is None  # another project's root comes first
    with pytest.raises(UsageError, match=r"apps declared in atproto-bdd.toml \(not found in .*other\): none"):
        load_config(inner).app("indexer")
