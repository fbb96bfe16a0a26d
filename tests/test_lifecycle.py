"""Real-service tests of the run lifecycle: nothing we start outlives the run.

Each test runs behave in a subprocess on a throw-away project whose scenario
writes the Node host's pid and run directory to a file and then waits, so the
test can kill or signal behave mid-run and watch what is left.
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
from helpers import interruptible, network_host, write_hold_project

from atproto_bdd.services import LocalRuntime, Network, PdsSpec

HOLD_STEP = '''
import json, os, time
from behave import when

@when("the run holds")
def hold(context):
    """Reports where the services are, then waits to be interrupted."""
    runtime = context.atproto.runtime
    relay_pid = context.atproto.relay.service.pid  # the network, relay included, is up
    marker = os.environ["HOLD_MARKER"]
    with open(marker + ".tmp", "w") as f:
        json.dump({"host_pid": runtime.host.pid, "relay_pid": relay_pid, "run_dir": str(runtime.run_dir)}, f)
    os.replace(marker + ".tmp", marker)
    time.sleep(120)
'''

FEATURE = """Feature: hold
  Scenario: hold the network
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    When the run holds
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture
def held_run(tmp_path: Path):
    """A behave run paused inside a scenario, with its host pid and run directory."""
    write_hold_project(tmp_path, FEATURE, HOLD_STEP)
    marker = tmp_path / "marker.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "behave", "--no-color", "-f", "plain"],
        cwd=tmp_path,
        env={**os.environ, "HOLD_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"behave never reached the holding step:\n{output}")
        time.sleep(0.05)
    info = json.loads(marker.read_text())
    assert _alive(info["host_pid"]) and _alive(info["relay_pid"])
    yield process, (info["host_pid"], info["relay_pid"]), Path(info["run_dir"])
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    for pid in (info["host_pid"], info["relay_pid"]):
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_sigkill_of_behave_leaves_no_service_behind(held_run) -> None:
    process, (host_pid, relay_pid), run_dir = held_run
    process.kill()
    process.wait(timeout=10)
    assert _wait_gone(host_pid, 3.0), f"the network host {host_pid} outlived behave by more than 3 s"
    assert _wait_gone(relay_pid, 0.5), f"the relay {relay_pid} outlived behave by more than 3 s"
    deadline = time.monotonic() + 3
    while run_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not run_dir.exists(), f"{run_dir} was left behind"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_run_the_normal_clean_up(held_run, signum: int) -> None:
    process, (host_pid, relay_pid), run_dir = held_run
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"behave did not exit within 30 s of {signal.Signals(signum).name}")
    output = process.stdout.read().decode() if process.stdout else ""
    assert process.returncode != 0, output
    assert _wait_gone(host_pid, 3.0), f"host {host_pid} still runs after {signal.Signals(signum).name}:\n{output}"
    assert _wait_gone(relay_pid, 0.5), f"relay {relay_pid} still runs after {signal.Signals(signum).name}"
    assert not run_dir.exists()


def _listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address = local.split(":")[0]
                if width == 8:
                    address = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
                found.add(address)
    return found


def test_services_listen_on_loopback_only() -> None:
    with LocalRuntime() as runtime:
        network = Network(runtime)
        network.add_pds(PdsSpec(name="A"))
        network.add_pds(PdsSpec(name="B"))
        addresses = _listening_addresses(runtime.host.pid)
        network.close(wait=True)
    assert addresses == {"127.0.0.1"}


def test_secrets_differ_per_pds() -> None:
    first, second = PdsSpec(name="A"), PdsSpec(name="A")
    assert first.admin_password != second.admin_password
    assert first.jwt_secret != second.jwt_secret
    assert first.plc_rotation_key_hex != second.plc_rotation_key_hex
    assert len(bytes.fromhex(first.plc_rotation_key_hex)) == 32


def test_two_suites_at_the_same_time_both_pass(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "behave",
                "--no-color",
                "-f",
                "progress",
                "-D",
                f"report_dir={tmp_path / str(n)}",
                "features/records.feature",
                "features/firehose.feature",
            ],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for n in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(outputs)


def test_host_closed_with_a_tiny_timeout_raises_nothing(tmp_path: Path) -> None:
    """A missed service_timeout while the host loads must surface as that error, not as the clean-up's.

    close() with a deadline shorter than a killed process takes to be reaped used to raise
    subprocess.TimeoutExpired, which hid the ServiceError the caller was raising.
    """
    host = network_host(tmp_path / "run")
    host.spawn()  # loading its modules: it cannot answer "shutdown" within 1 ms
    pid = host.pid
    assert pid is not None
    host.close(timeout=0.001)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
