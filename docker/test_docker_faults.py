"""Faults of the Docker runtime, against the podman engine of the docker target.

Run by ``docker/run_target.py`` with DOCKER_HOST and the image overrides set.
"""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

import docker
from atproto_bdd import ServiceError, Settings, UsageError, World, hooks
from atproto_bdd.services import ports
from atproto_bdd.services.docker_runtime import DockerRuntime
from atproto_bdd.services.docker_runtime.engine import NETWORK_LABEL, check_name_resolution, container_name
from atproto_bdd.session import RunSession
from atproto_bdd.waiting import poll


@pytest.fixture
def runtime():
    runtime = DockerRuntime(Settings.load({"service_timeout": "60"}))
    runtime.start()
    yield runtime
    runtime.close()


def containers_of(runtime: DockerRuntime, network: str) -> list[str]:
    """Names of the containers (any state) labelled with test network ``network``."""
    return sorted(container_name(container) for container in runtime._list(f"{NETWORK_LABEL}={network}"))


def wait_until_gone(runtime: DockerRuntime, network: str) -> None:
    """Wait (removal runs in the background) until no container of ``network``, nor the network, remains."""

    def gone() -> bool:
        networks = {n.name for n in runtime.client.networks.list(names=[network])}  # a name filter matches parts
        return not containers_of(runtime, network) and network not in networks

    poll(
        gone,
        timeout=60,
        on_timeout=lambda: AssertionError(f"{network} or its containers remain: {containers_of(runtime, network)}"),
        max_interval=0.5,
    )


def test_a_missing_image_is_named_with_the_override_to_set() -> None:
    runtime = DockerRuntime(Settings.load({"pds_image": "localhost/atproto-bdd/no-such-image:1"}))
    runtime.start()
    try:
        with pytest.raises(ServiceError) as caught:
            World(runtime).add_pds("A")
    finally:
        runtime.close()
    message = str(caught.value)
    assert "the pds image localhost/atproto-bdd/no-such-image:1 is not available" in message
    assert "ATPROTO_BDD_PDS_IMAGE" in message


def test_a_remote_engine_is_refused_at_start() -> None:
    # 192.0.2.0/24 is TEST-NET-1: nothing is dialled, the address alone is refused.
    runtime = DockerRuntime(Settings.load({"docker_host": "tcp://192.0.2.1:2375"}))
    with pytest.raises(UsageError, match="supports only an engine on this machine, not tcp://192.0.2.1:2375"):
        runtime.start()


def test_a_container_that_exits_while_starting_shows_its_log_and_is_removed(runtime) -> None:
    world = World(runtime)
    with pytest.raises(ServiceError) as caught:
        world.add_pds("A", extra_env={"PDS_BLOBSTORE_S3_BUCKET": "both-disk-and-s3"})
    message = str(caught.value)
    assert message.startswith("PDS A exited while starting; its log ends with:")
    assert "Cannot set both S3 and disk blobstore env vars" in message
    assert [name for name in containers_of(runtime, world.network.plc.network) if "-pds-" in name] == []


def test_a_port_taken_between_choosing_and_binding_is_retried_on_another(runtime, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        choices = iter([port])
        real = ports.free_port
        monkeypatch.setattr(ports, "free_port", lambda: next(choices, None) or real())
        world = World(runtime)
        world.add_pds("A")
        assert not world.network.plc.url.endswith(f":{port}")
        # The container whose start failed on the taken port was removed before the retry.
        states = {container_name(c): c.status for c in runtime._list(NETWORK_LABEL)}
        assert all(status == "running" for status in states.values()), states


def test_a_port_that_stays_taken_is_reported(runtime, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(ports, "free_port", lambda: taken.getsockname()[1])
        with pytest.raises(ServiceError, match="could not start the plc container: .*address already in use"):
            World(runtime).add_pds("A")
    assert runtime.client.containers.list(all=True, filters={"label": f"dev.atproto-bdd.run={runtime.run_id}"}) == []


def test_containers_that_cannot_resolve_a_name_are_reported(runtime) -> None:
    world = World(runtime)
    pds = world.add_pds("A")
    container = runtime._containers[pds.service.id][0]
    network = world.network.plc.network
    check_name_resolution(container, "plc", network)  # the runtime's own check, passing
    with pytest.raises(ServiceError) as caught:
        check_name_resolution(container, "no-such-service", network)
    assert str(caught.value).startswith(f"containers on network {network} cannot resolve each other by name")
    assert "install netavark and aardvark-dns" in str(caught.value)


def test_a_relay_that_never_subscribes_is_removed(runtime, monkeypatch) -> None:
    def never(*args: object) -> None:
        raise ServiceError("the relay did not subscribe (simulated)")

    world = World(runtime)
    world.add_pds("A")
    monkeypatch.setattr(runtime, "_wait_upgraded", never)
    with pytest.raises(ServiceError, match="simulated"):
        world.add_relay("A")
    assert [name for name in containers_of(runtime, world.network.plc.network) if "-relay-" in name] == []


def test_a_scenario_failing_after_its_relay_started_leaves_no_container(runtime) -> None:
    # The hooks' own path: before_scenario, steps that start a relay, a failing step, after_scenario.
    session = RunSession(Settings.load({"report_dir": ""}), Path.cwd(), runtime=runtime)
    context = SimpleNamespace(atproto_session=session)
    scenario = SimpleNamespace(
        name="fails after its relay started",
        effective_tags=[],
        all_steps=[],
        status=SimpleNamespace(has_failed=lambda: True, name="failed"),
        location=SimpleNamespace(filename="faults.feature", line=1),
        feature=SimpleNamespace(name="faults"),
        duration=0.0,
    )
    hooks.before_scenario(context, scenario)
    world: World = context.atproto
    world.add_pds("A")
    world.add_relay("A")
    world.create_account("alice.test")
    network = world.network.plc.network
    assert any("-relay-" in name for name in containers_of(runtime, network))
    with pytest.raises(AssertionError):
        assert world.account("alice.test").did == "did:plc:not-this-one"  # the step that fails
    hooks.after_scenario(context, scenario)
    wait_until_gone(runtime, network)


def test_closing_a_network_removes_containers_the_world_never_knew(runtime) -> None:
    world = World(runtime)
    world.add_pds("A")
    network = world.network.plc.network
    stray = runtime._run("pds", name="stray", network=network, entrypoint=["node", "-e", "setInterval(()=>{},1e3)"])
    assert stray.name in containers_of(runtime, network)
    world.close(wait=True)
    assert containers_of(runtime, network) == []


def test_everything_of_the_run_is_removed_on_close() -> None:
    runtime = DockerRuntime(Settings.load())
    runtime.start()
    world = World(runtime)
    world.add_pds("A")
    run = runtime.run_id
    probe = docker.from_env()
    runtime.close()
    label = {"label": f"dev.atproto-bdd.run={run}"}
    assert probe.containers.list(all=True, filters=label) == []
    assert probe.networks.list(filters=label) == []


def test_leftovers_of_a_crashed_run_are_removed_at_the_next_start(runtime) -> None:
    # What a run whose process died left behind: labels of this machine, a pid that is gone.
    dead = dict(runtime.labels(), **{"dev.atproto-bdd.run": "deadbeef0000", "dev.atproto-bdd.pid": "999999"})
    runtime.client.containers.create(runtime.image("plc"), labels=dead, name=f"atproto-bdd-{runtime.run_id}-orphan")
    following = DockerRuntime(Settings.load())
    following.start()
    try:
        assert following.client.containers.list(all=True, filters={"label": "dev.atproto-bdd.run=deadbeef0000"}) == []
    finally:
        following.close()


def test_an_app_with_an_image_runs_as_a_labelled_container_that_stops_with_it(runtime) -> None:
    from atproto_bdd.services.app_config import load_config

    world = World(runtime)
    world.app_config = load_config(Path(__file__).resolve().parents[1])  # the repository's atproto-bdd.toml
    world.add_pds("A")
    app = world.app("echo-image").start()
    names = {container_name(c): c.id for c in runtime._list(f"dev.atproto-bdd.run={runtime.run_id}")}
    containers = [cid for name, cid in names.items() if "-app-echo-image-" in name]
    assert len(containers) == 1, names
    assert runtime.client.containers.get(containers[0]).status == "running"
    assert app.running and app.pid and "listening on 127.0.0.1" in app.logs()
    app.stop()
    assert not app.running
    with pytest.raises(docker.errors.NotFound):
        runtime.client.containers.get(containers[0])
    world.close()


def test_an_app_with_an_image_that_does_not_exist_is_named(runtime) -> None:
    from atproto_bdd.services.app_config import AppConfig, AppSpec

    world = World(runtime)
    spec = AppSpec(name="ghost", command=(), cwd=Path("."), image="localhost/atproto-bdd/no-such-app:1", did="none")
    world.app_config = AppConfig({"ghost": spec})
    with pytest.raises(ServiceError, match="the app ghost image localhost/atproto-bdd/no-such-app:1 is not available"):
        world.app("ghost").start()
    world.close()


def test_an_appview_is_refused_at_once_with_the_reason(runtime) -> None:
    world = World(runtime)
    with pytest.raises(UsageError, match="the docker runtime cannot run an AppView"):
        world.add_appview()
    world.close()


def test_ozone_is_refused_at_once_with_the_reason(runtime) -> None:
    world = World(runtime)
    with pytest.raises(UsageError, match="the docker runtime cannot run Ozone: Ozone runs beside the embedded AppView"):
        world.plan_ozone()
    world.close()


def test_jetstream_and_tap_are_refused_at_once_with_the_reason(runtime) -> None:
    world = World(runtime)
    try:
        world.ensure_pds("A")
        world.add_relay("A")
        with pytest.raises(UsageError, match="the docker runtime cannot run Jetstream"):
            world.add_jetstream()
        with pytest.raises(UsageError, match="the docker runtime cannot run Tap"):
            world.add_tap()
    finally:
        world.close()


def test_faults_between_an_app_and_the_network_are_refused_at_once_with_the_reason(runtime) -> None:
    world = World(runtime)
    try:
        world.ensure_pds("A")
        with pytest.raises(UsageError, match="the docker runtime cannot run Toxiproxy"):
            world.add_service("faults")
    finally:
        world.close()
