"""One rule for what a child process inherits from our environment (services/child_env.py)."""

from __future__ import annotations

import pytest

from atproto_bdd.services.child_env import Child, child_environment

OURS = {
    "PATH": "/usr/bin",
    "HOME": "/home/qa",
    "LANG": "C.UTF-8",
    "HTTPS_PROXY": "http://proxy:3128",
    "PDS_HOSTNAME": "from-the-shell",
    "NODE_OPTIONS": "--max-old-space-size=4096",
    "NODE_EXTRA_CA_CERTS": "/etc/ssl/ca.pem",
    "PYTHONPATH": "/src",
    "SECRET_TOKEN": "shh",
}


def test_tools_inherit_everything_and_the_given_variables_win() -> None:
    env = child_environment(Child.TOOL, {"PATH": "/go/bin"}, environ=OURS)
    assert env == {**OURS, "PATH": "/go/bin"}


def test_the_node_host_inherits_all_but_the_services_configuration() -> None:
    env = child_environment(Child.NODE_HOST, {"LOG_LEVEL": "info"}, environ=OURS)
    assert "PDS_HOSTNAME" not in env and "NODE_EXTRA_CA_CERTS" not in env
    assert env["NODE_OPTIONS"] == OURS["NODE_OPTIONS"] and env["HTTPS_PROXY"] == OURS["HTTPS_PROXY"]
    assert env["LOG_LEVEL"] == "info"


@pytest.mark.parametrize("kind", [Child.SERVICE, Child.APP])
def test_services_and_apps_inherit_only_the_named_variables(kind: Child) -> None:
    env = child_environment(kind, {"RELAY_ADMIN_PASSWORD": "x"}, environ=OURS)
    assert {"HTTPS_PROXY", "SECRET_TOKEN", "PDS_HOSTNAME", "NODE_OPTIONS"}.isdisjoint(env)
    assert env["HOME"] == "/home/qa" and env["LANG"] == "C.UTF-8" and env["RELAY_ADMIN_PASSWORD"] == "x"
    # Only an app gets where its packages are.
    assert ("PYTHONPATH" in env) is (kind is Child.APP)
