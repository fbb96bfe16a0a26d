"""Faults of the Docker runtime, against the podman engine of the docker target.

Run by ``docker/run_target.py`` with DOCKER_HOST and the image overrides set.
"""

from __future__ import annotations

import socket

import pytest

import docker
from atproto_bdd import ServiceError, Settings, World
from atproto_bdd.services import docker_runtime
from atproto_bdd.services.docker_runtime import DockerRuntime


@pytest.fixture
def runtime():
    runtime = DockerRuntime(Settings.load({"service_timeout": "60"}))
    runtime.start()
    yield runtime
    runtime.close()


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


def test_a_container_that_exits_while_starting_shows_its_log(runtime) -> None:
    world = World(runtime)
    with pytest.raises(ServiceError) as caught:
        world.add_pds("A", extra_env={"PDS_BLOBSTORE_S3_BUCKET": "both-disk-and-s3"})
    message = str(caught.value)
    assert message.startswith("PDS A exited while starting; its log ends with:")
    assert "Cannot set both S3 and disk blobstore env vars" in message


def test_a_taken_port_is_reported(runtime, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(docker_runtime, "free_port", lambda: taken.getsockname()[1])
        with pytest.raises(ServiceError, match="could not start the plc container: .*address already in use"):
            World(runtime).add_pds("A")


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
    dead = dict(runtime.labels, **{"dev.atproto-bdd.run": "deadbeef0000", "dev.atproto-bdd.pid": "999999"})
    runtime.client.containers.create(runtime.image("plc"), labels=dead, name=f"atproto-bdd-{runtime.run_id}-orphan")
    following = DockerRuntime(Settings.load())
    following.start()
    try:
        assert following.client.containers.list(all=True, filters={"label": "dev.atproto-bdd.run=deadbeef0000"}) == []
    finally:
        following.close()
