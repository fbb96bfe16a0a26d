"""The pytest plugin on the Docker runtime (issue 14), against the podman engine of the docker target.

Run by ``docker/run_target.py``: DOCKER_HOST and the image overrides reach the
inner pytest through the environment; the runtime is chosen with the plugin's
own option, ``--atproto-runtime=docker``, as a user would.
"""

from __future__ import annotations

import pytest

import docker
from atproto_bdd.services.docker_runtime.engine import LABEL
from atproto_bdd.settings import Settings
from atproto_bdd.waiting import poll

pytest_plugins = ["pytester"]
#: The installs' cache, read before pytester points HOME elsewhere.
CACHE_DIR = Settings.load().cache_dir

TESTS = """
def test_accounts_post_and_the_firehose_on_containers(atproto_world, atproto_accounts):
    assert atproto_world.runtime.name == "docker"
    alice, bob = atproto_accounts("alice.test", "bob.test")
    bob.follow(alice)
    atproto_world.open_window()
    alice.post("from a container")
    event = atproto_world.expect_on_pds("A", atproto_world.event_query("commit", "alice.test"))
    assert event.seq > 0


def test_each_test_gets_a_fresh_network(atproto_world, atproto_account):
    assert "alice.test" not in atproto_world.accounts
    carol = atproto_account("carol.test", pds="B")
    assert carol.did.startswith("did:plc:") and list(atproto_world.pdses) == ["B"]
"""


def test_the_fixtures_run_on_containers_and_leave_none(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("ATPROTO_BDD_CACHE_DIR", str(CACHE_DIR))
    monkeypatch.delenv("ATPROTO_BDD_RUNTIME", raising=False)  # the option chooses the runtime
    monkeypatch.delenv("ATPROTO_BDD_REPORT_DIR", raising=False)
    client = docker.from_env()
    before = {container.id for container in client.containers.list(all=True, filters={"label": LABEL})}
    pytester.makepyfile(test_on_docker=TESTS)
    result = pytester.runpytest_subprocess("--atproto-runtime=docker", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)

    def ours_gone() -> bool:
        now = {container.id for container in client.containers.list(all=True, filters={"label": LABEL})}
        return not (now - before)

    poll(ours_gone, timeout=30, on_timeout=lambda: AssertionError("the run's containers were left on the engine"))
