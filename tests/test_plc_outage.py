"""The PLC directory goes down and comes back (fault injection): its DIDs are kept, its URL is the same.

Real services, on the line ATPROTO_BDD_PDS_VERSION picks. The outage is the embedded runtime's (the host
closes the directory's server and listens again on its port); the Docker runtime refuses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from atproto_bdd.errors import TransportError, UsageError, XrpcError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.docker_runtime.runtime import DockerRuntime
from atproto_bdd.services.specs import PlcService
from atproto_bdd.settings import Settings
from atproto_bdd.world import World


@pytest.fixture
def world(runtime: LocalRuntime) -> Iterator[World]:
    world = World(runtime)
    try:
        world.add_pds("A")
        yield world
    finally:
        world.close(wait=True)


def test_while_it_is_down_nothing_reaches_it_and_new_accounts_fail_then_all_is_back(world: World) -> None:
    alice = world.create_account("alice.test")
    world.plc_down()
    with pytest.raises(TransportError, match="Connection refused"):
        world.plc.document(alice.did)
    with pytest.raises(XrpcError) as failure:
        world.create_account("bob.test")
    assert (failure.value.status_code, failure.value.error) == (502, "UpstreamFailure"), failure.value
    alice.post("the PDS writes without the directory")

    world.plc_up()
    assert world.plc.document(alice.did).handles == ["alice.test"]  # its operations were kept
    bob = world.create_account("bob.test")
    assert world.plc.document(bob.did).handles == ["bob.test"]


def test_down_for_a_while_it_comes_back_on_its_own(world: World) -> None:
    alice = world.create_account("alice.test")
    began = time.monotonic()
    world.plc_down(0.5)
    with pytest.raises(TransportError, match="Connection refused"):
        world.plc.document(alice.did)
    while True:
        try:
            document = world.plc.document(alice.did)
            break
        except TransportError:
            assert time.monotonic() - began < 5, "the directory did not come back within 5 s of a 0.5 s outage"
            time.sleep(0.02)
    assert time.monotonic() - began >= 0.5 and document.handles == ["alice.test"]


def test_the_end_of_the_scenario_brings_it_back_and_down_twice_is_one_outage(world: World) -> None:
    alice = world.create_account("alice.test")
    world.plc_down(30)
    world.plc_down()  # no timer now: down until brought back
    world.end_scenario()
    assert world.plc.document(alice.did).handles == ["alice.test"]
    assert not world.network.plc_outage


def test_the_docker_runtime_refuses_an_outage() -> None:
    with pytest.raises(UsageError, match=r"the docker runtime cannot take the PLC directory down .*-D runtime=local"):
        DockerRuntime(Settings()).plc_down(PlcService("plc-1", "http://127.0.0.1:1"), 2)
