"""The two PDS lines: picking a line, the Node.js each needs, and what differs between them (observed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from atproto_bdd.errors import InstallError, UsageError, XrpcError
from atproto_bdd.services import LocalRuntime, node_runtime
from atproto_bdd.services.node_runtime import NodeRuntime, managed_node, resolve_node
from atproto_bdd.services.pds_lines import PDS_LINES, pds_line
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


def test_each_line_is_pinned_by_its_own_lockfile() -> None:
    for version, line in PDS_LINES.items():
        assert (line.project / "package.json").is_file() and (line.project / "package-lock.json").is_file()
        assert f'"@atproto/pds": "{version}.' in (line.project / "package.json").read_text()
    assert pds_line("0.5").min_node == 22
    with pytest.raises(UsageError, match="pds_version '0.6' is not a supported PDS line; choose one of: 0.4, 0.5"):
        pds_line("0.6")
    with pytest.raises(UsageError, match="choose one of: 0.4, 0.5"):
        Settings.load({"pds_version": "1.0"})


def fake_nodes(monkeypatch: pytest.MonkeyPatch, versions: dict[str, str]) -> list[str]:
    """Pretend the executables in ``versions`` exist with those versions; record managed installs."""
    managed: list[str] = []
    monkeypatch.setattr(node_runtime.shutil, "which", lambda name: f"/bin/{name}" if name in versions else None)
    monkeypatch.setattr(
        node_runtime,
        "probe_node",
        lambda path, cache_dir, managed=False: NodeRuntime(path, versions[Path(path).name], managed=managed),
    )
    monkeypatch.setattr(
        node_runtime,
        "managed_node",
        lambda cache_dir, **kwargs: managed.append("22") or NodeRuntime("/cache/node", "v22.23.5", managed=True),
    )
    return managed


def test_the_system_node_is_used_when_it_is_new_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    managed = fake_nodes(monkeypatch, {"node": "v20.20.2"})
    assert resolve_node(Path("/c"), min_major=18).path == "/bin/node"
    assert managed == []


def test_an_old_or_missing_system_node_brings_the_managed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    managed = fake_nodes(monkeypatch, {"node": "v20.20.2"})
    assert resolve_node(Path("/c"), min_major=22).managed
    managed = fake_nodes(monkeypatch, {})
    assert resolve_node(Path("/c"), min_major=18).managed and managed == ["22"]


def test_a_node_named_in_the_setting_must_be_new_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nodes(monkeypatch, {"node": "v24.1.0", "node20": "v20.1.0"})
    with pytest.raises(InstallError, match=r"names /bin/node20, Node.js v20.1.0, which is too old \(PDS 0.5 needs"):
        resolve_node(Path("/c"), min_major=22, node="node20", needed_for="PDS 0.5")
    with pytest.raises(InstallError, match="`/nowhere/node` \\(the node setting\\) was not found"):
        resolve_node(Path("/c"), min_major=22, node="/nowhere/node")


def test_no_registry_and_no_suitable_node_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # A registry that refuses connections (loopback, nothing listens on port 9) and an empty npm cache.
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    with pytest.raises(InstallError) as caught:
        managed_node(tmp_path, reason="the AppView (@atproto/bsky) needs Node.js 22 or newer", system=None)
    message = str(caught.value)
    assert message.startswith("no Node.js on PATH (the AppView (@atproto/bsky) needs Node.js 22 or newer), and")
    # The progress line names who needs it, with its parentheses intact.
    progress = capfd.readouterr().err
    assert "from the npm registry: no Node.js on PATH; the AppView (@atproto/bsky) needs Node.js" in progress
    assert "Node.js 22 could not be installed from the npm registry" in message
    assert "-D node=/path/to/node" in message


# -- what the lines answer, observed on both (the guide's table comes from these) --------------------


@pytest.fixture(scope="module", params=sorted(PDS_LINES))
def line_world(request: pytest.FixtureRequest):
    runtime = LocalRuntime(Settings.load({"pds_version": request.param}))
    runtime.start()
    world = World(runtime)
    world.add_pds("A")
    yield request.param, world, world.create_account("alice.test")
    world.close()
    runtime.close()


def error_of(call) -> tuple[int, str] | None:
    try:
        call()
    except XrpcError as error:
        return error.status_code, error.error
    return None


def test_the_service_runs_the_line_asked_for(line_world) -> None:
    line, world, _ = line_world
    install = world.runtime._host.install  # noqa: SLF001 - what the host loaded
    package = json.loads((install.node_modules / "@atproto" / "pds" / "package.json").read_text())
    assert package["version"].startswith(f"{line}.")
    assert int(node_runtime.node_version(install.node).lstrip("v").split(".")[0]) >= PDS_LINES[line].min_node


def test_an_unknown_handle(line_world) -> None:
    line, world, alice = line_world
    found = error_of(lambda: alice.xrpc_get("com.atproto.identity.resolveHandle", {"handle": "nobody.test"}))
    assert found == (400, {"0.4": "InvalidRequest", "0.5": "HandleNotFound"}[line])


def test_service_auth_for_a_service_id(line_world) -> None:
    line, world, alice = line_world
    params = {"aud": "did:web:feeds.example#bsky_fg", "lxm": "app.bsky.feed.getFeedSkeleton"}
    found = error_of(lambda: alice.xrpc_get("com.atproto.server.getServiceAuth", params))
    assert found == {"0.4": (500, "InternalServerError"), "0.5": None}[line]  # 0.4 fails on the #fragment


def test_describe_server_names_the_blob_limit_on_05(line_world) -> None:
    line, world, _ = line_world
    assert ("blobUploadLimit" in world.pds("A").describe()) is (line == "0.5")


def test_image_size_limit_in_posts(line_world) -> None:
    line, world, alice = line_world
    blob = alice.upload_blob(os.urandom(1_500_000), "image/png", keep=False)
    post = {
        "text": "a big image",
        "createdAt": "2026-12-02T00:00:00Z",
        "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": blob.ref}]},
    }
    found = error_of(lambda: alice.create_record("app.bsky.feed.post", post))
    assert found == {"0.4": (400, "InvalidRequest"), "0.5": None}[line]  # 1 MB on 0.4.217, 2 MB on 0.5


def test_activating_and_taking_down_at_once(line_world) -> None:
    line, world, _ = line_world
    bob = world.create_account("bob.test")
    body = {
        "subject": {"$type": "com.atproto.admin.defs#repoRef", "did": bob.did},
        "takedown": {"applied": True, "ref": "both"},
        "deactivated": {"applied": False},
    }
    found = error_of(lambda: world.pds("A").admin_post("com.atproto.admin.updateSubjectStatus", body))
    assert found == {"0.4": None, "0.5": (400, "InvalidRequest")}[line]


def test_node_probes_are_remembered_per_binary(tmp_path: Path) -> None:
    system = node_runtime.shutil.which("node")
    assert system, "the tests need a node on PATH"
    first = node_runtime.probe_node(system, tmp_path)
    assert first.version.startswith("v") and first.abi.isdigit()
    memo = tmp_path / "node-probes.json"
    remembered = json.loads(memo.read_text())
    assert list(remembered.values()) == [[first.version, first.abi]]
    # The memo answers from now on: a planted answer shows it was read, not asked again.
    key = next(iter(remembered))
    memo.write_text(json.dumps({key: ["v99.0.0", "999"]}))
    assert node_runtime.probe_node(system, tmp_path).version == "v99.0.0"
    # A binary that changed (another inode, size or time) is asked again; a broken memo is asked again too.
    memo.write_text(json.dumps({key + "0": ["v99.0.0", "999"]}))
    assert node_runtime.probe_node(system, tmp_path) == first
    memo.write_text("{not json")
    assert node_runtime.probe_node(system, tmp_path) == first
