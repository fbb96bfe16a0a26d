from __future__ import annotations

import pickle
from pathlib import Path

import httpx
import pytest

from atproto_bdd.errors import UsageError, XrpcError
from atproto_bdd.masking import SecretMasker
from atproto_bdd.protocol.xrpc import decode, error_from_response
from atproto_bdd.settings import Settings


def test_unknown_lists_choices_sorted() -> None:
    error = UsageError.unknown("PDS", "Z", ["B", "A"], "declare it first")
    assert str(error) == "unknown PDS 'Z'; known PDSs: A, B (declare it first)"
    assert str(UsageError.unknown("account", "x.test", [])) == "unknown account 'x.test'; known accounts: none yet"


def test_xrpc_error_fields_and_pickling() -> None:
    error = XrpcError(
        400, "InvalidHandle", "Handle TLD is invalid", nsid="com.atproto.server.createAccount", method="POST"
    )
    assert str(error) == "POST com.atproto.server.createAccount: 400 InvalidHandle: Handle TLD is invalid"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status_code, copy.error, copy.message, copy.nsid) == (
        400,
        "InvalidHandle",
        "Handle TLD is invalid",
        error.nsid,
    )


def test_error_from_json_and_from_plain_bodies() -> None:
    json_error = error_from_response(httpx.Response(400, json={"error": "InvalidRequest", "message": "nope"}))
    assert (json_error.status_code, json_error.error, json_error.message) == (400, "InvalidRequest", "nope")
    plain = error_from_response(httpx.Response(502, text="upstream down"))
    assert (plain.error, plain.message) == ("BadGateway", "upstream down")


def test_decode() -> None:
    assert decode(httpx.Response(200, json={"a": 1})) == {"a": 1}
    assert (
        decode(httpx.Response(200, content=b"\x00car", headers={"content-type": "application/vnd.ipld.car"}))
        == b"\x00car"
    )
    assert decode(httpx.Response(200)) is None


def test_masker_hides_registered_secrets_longest_first() -> None:
    masker = SecretMasker()
    masker.register("abcdef")
    masker.register("abcdefghij")
    masker.register("x")  # too short to mask safely
    assert masker.mask("p=abcdefghij q=abcdef x") == "p=*** q=*** x"


def test_settings_precedence_and_validation(tmp_path: Path) -> None:
    env = {"ATPROTO_BDD_RUNTIME": "local", "ATPROTO_BDD_REQUEST_TIMEOUT": "3", "ATPROTO_BDD_CACHE_DIR": str(tmp_path)}
    settings = Settings.load({"request_timeout": "7", "network": "feature"}, env)
    assert (settings.request_timeout, settings.network, settings.cache_dir) == (7.0, "feature", tmp_path)
    with pytest.raises(UsageError, match=r"setting runtime='cloud' is not valid; choose one of: local"):
        Settings.load({"runtime": "cloud"}, {})
    with pytest.raises(UsageError, match="must be a positive number of seconds"):
        Settings.load({"service_timeout": "soon"}, {})
    with pytest.raises(UsageError, match="must be true or false"):
        Settings.load({"keep_run_dir": "maybe"}, {})
    # A bad value from the environment names the variable the user set.
    with pytest.raises(UsageError, match=r"ATPROTO_BDD_SERVICE_TIMEOUT='soon' must be a positive number"):
        Settings.load({}, {"ATPROTO_BDD_SERVICE_TIMEOUT": "soon"})


def test_a_name_that_is_nearly_a_settings_is_refused_and_other_names_are_left_to_the_project() -> None:
    with pytest.raises(UsageError, match=r"setting 'firehose_timout' does not exist: did you mean firehose_timeout\?"):
        Settings.load({"firehose_timout": "10"}, {})
    with pytest.raises(UsageError, match=r"ATPROTO_BDD_FIREHOSE_TIMOUT names no setting: did you mean ATPROTO_BDD_"):
        Settings.load({}, {"ATPROTO_BDD_FIREHOSE_TIMOUT": "10"})
    # The project's own -D names, and the variables atproto-bdd passes to its own processes, are no typos.
    assert Settings.load({"my_flag": "1", "x": "2"}, {"ATPROTO_BDD_WORKER": "1", "ATPROTO_BDD_RUN_DIR": "/tmp"})


def test_a_request_that_times_out_names_the_setting_that_bounds_it() -> None:
    import socket

    from atproto_bdd.errors import TransportError
    from atproto_bdd.protocol.xrpc import XrpcClient

    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = XrpcClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2)
        try:
            with pytest.raises(TransportError, match=r"got no answer within 0.2s \(the request_timeout setting"):
                client.query("com.example.slow")
        finally:
            client.close()


@pytest.mark.parametrize("setting", ["report_dir", "run_root", "cache_dir"])
def test_a_directory_setting_that_cannot_be_written_stops_the_run_before_anything_starts(setting: str) -> None:
    from atproto_bdd.session import RunSession

    with pytest.raises(UsageError, match=rf"the {setting} setting names /proc/atproto-bdd, which cannot be written"):
        RunSession(Settings.load({setting: "/proc/atproto-bdd"}), Path("/tmp"))
