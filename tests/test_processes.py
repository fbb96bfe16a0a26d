"""Child processes never outlive us, and services retry a port someone else took.

The first tests use plain programs (sleep, Python); the later ones real
services: the relay binary (built once into the cache) and the Node host.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import alive, network_host

from atproto_bdd.services import ports
from atproto_bdd.services.processes import ManagedProcess
from atproto_bdd.waiting import poll


def gone_within(pid: int, seconds: float) -> bool:
    """Whether ``pid`` exits within ``seconds``."""
    return bool(poll(lambda: not alive(pid), timeout=seconds, on_timeout=None))


def kill_quietly(*pids: int) -> None:
    """Clean-up after a failed test: SIGKILL whatever of ``pids`` still runs."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def first_port_taken(monkeypatch: pytest.MonkeyPatch, taken_port: int) -> list[int]:
    """Make ``on_free_port`` pick a taken port first; returns the ports it picked."""
    # Modules that import free_port by name (for ports that are not retried) must hold the real one: import them
    # before the patch, whatever ran before this test.
    import atproto_bdd.services.local  # noqa: F401
    import atproto_bdd.services.relay  # noqa: F401

    picked: list[int] = []
    real = ports.free_port

    def pick() -> int:
        picked.append(taken_port if not picked else real())
        return picked[-1]

    monkeypatch.setattr(ports, "free_port", pick)
    return picked


# -- ManagedProcess -------------------------------------------------------------


def test_output_goes_to_the_log_and_the_exit_code_is_kept(tmp_path: Path) -> None:
    process = ManagedProcess.start(
        [sys.executable, "-c", "print('hello'); raise SystemExit(3)"], log_path=tmp_path / "logs" / "p.log"
    )
    assert process.wait(10) == 3
    assert not process.alive() and process.returncode == 3
    assert process.log_tail() == "hello"
    assert process.exited_with("HELLO") and not process.exited_with("address already in use")


def test_stop_kills_a_program_that_ignores_sigterm_and_its_group(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """\
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    process = ManagedProcess.start([sys.executable, "-c", script], log_path=tmp_path / "p.log")
    grandchild = int(poll(lambda: process.log_tail().strip() or None, timeout=10, on_timeout=AssertionError))
    started = time.monotonic()
    assert process.stop(grace=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 3
    assert gone_within(grandchild, 3), "the program's own child survived the group's SIGKILL"


def test_sigkill_of_the_parent_takes_the_child_down(tmp_path: Path) -> None:
    """The parent-death signal, also for a child started on a thread that has ended since."""
    script = textwrap.dedent(
        f"""\
        import sys, threading, time
        from pathlib import Path
        from atproto_bdd.services.processes import ManagedProcess
        log = Path({str(tmp_path)!r})
        main = ManagedProcess.start(["sleep", "60"], log_path=log / "main.log")
        found = []
        thread = threading.Thread(target=lambda: found.append(
            ManagedProcess.start(["sleep", "60"], log_path=log / "thread.log")))
        thread.start()
        thread.join()  # the thread has ended: its child must live on
        time.sleep(0.3)
        print(main.pid, found[0].pid, int(found[0].alive()), flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    main_pid, thread_pid, thread_child_alive = (int(x) for x in parent.stdout.readline().split())
    try:
        assert thread_child_alive == 1, "a child started on a short-lived thread died with that thread"
        parent.kill()
        parent.wait(10)
        assert gone_within(main_pid, 3) and gone_within(thread_pid, 3)
    finally:
        kill_quietly(parent.pid, main_pid, thread_pid)


# -- taken ports ------------------------------------------------------------------


def test_mail_capture_retries_a_taken_port(monkeypatch: pytest.MonkeyPatch, first_port_taken: list[int]) -> None:
    from atproto_bdd.services import email as mail

    monkeypatch.setattr(mail, "READY_TIMEOUT", 1.0)  # aiosmtpd reports a failed bind only after it
    capture = mail.MailCapture().start()
    try:
        assert len(first_port_taken) == 2
        assert capture.smtp_url == f"smtp://127.0.0.1:{first_port_taken[1]}"
    finally:
        capture.close()


@pytest.fixture(scope="module")
def relay_binary() -> Path:
    """The relay, built into the real cache (once per version)."""
    from atproto_bdd.services.go_install import ensure_relay
    from atproto_bdd.settings import Settings

    settings = Settings.load()
    return ensure_relay(settings.cache_dir, go=settings.go)


def test_the_template_relay_retries_a_taken_port(
    tmp_path: Path, relay_binary: Path, first_port_taken: list[int]
) -> None:
    from atproto_bdd.services.relay import ensure_relay_template

    template = ensure_relay_template(relay_binary, tmp_path, timeout=60)
    assert template.exists()
    assert len(first_port_taken) == 2


def test_the_runtime_relay_retries_a_taken_port(
    relay_binary: Path, first_port_taken: list[int], taken_port: int
) -> None:
    from atproto_bdd.services import LocalRuntime, Network, PdsSpec

    with LocalRuntime() as runtime:
        network = Network(runtime)
        network.add_pds(PdsSpec(name="A"))
        relay = network.add_relay(["A"])
        assert first_port_taken == [taken_port, relay.ports[0]]
        assert "address already in use" in runtime.log_tail(relay.id, lines=200)  # its first attempt said so
        network.close(wait=True)


# -- the local runtime's processes --------------------------------------------------

RUNTIME_SCRIPT = """\
import json, os, sys, time
from atproto_bdd.services import LocalRuntime, Network, PdsSpec

runtime = LocalRuntime()
runtime.start()
network = Network(runtime)
network.add_pds(PdsSpec(name="A"))
relay = network.add_relay(["A"])
print(json.dumps({"host": runtime.host.pid, "relay": relay.pid, "run_dir": str(runtime.run_dir)}), flush=True)
time.sleep(120)
"""


@pytest.fixture
def runtime_process(relay_binary: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int | str]]]:
    """A Python process running a local runtime with a PDS and a relay, and their pids."""
    process = subprocess.Popen([sys.executable, "-c", RUNTIME_SCRIPT], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once the relay is up; empty if the script died
    try:
        info = json.loads(line)
    except ValueError:
        process.kill()
        pytest.fail(f"the runtime script did not start its services: {line!r}")
    yield process, info
    process.kill()
    process.wait(10)
    kill_quietly(int(info["host"]), int(info["relay"]))
    # A test that SIGKILLs the host leaves its run directory: nobody is left to remove it.
    shutil.rmtree(str(info["run_dir"]), ignore_errors=True)


def test_sigkill_of_the_python_process_takes_the_host_and_relay_down(runtime_process) -> None:
    process, info = runtime_process
    host, relay = int(info["host"]), int(info["relay"])
    assert alive(host) and alive(relay)
    process.kill()
    process.wait(10)
    assert gone_within(relay, 2), f"the relay {relay} outlived the SIGKILLed runtime"
    assert gone_within(host, 5), f"the Node host {host} outlived the SIGKILLed runtime"
    assert poll(lambda: not Path(str(info["run_dir"])).exists(), timeout=5, on_timeout=None), "run dir left behind"


def test_sigkill_of_the_node_host_stops_the_relay(runtime_process) -> None:
    process, info = runtime_process
    host, relay = int(info["host"]), int(info["relay"])
    os.kill(host, signal.SIGKILL)
    assert gone_within(relay, 5), f"the relay {relay} outlived the SIGKILLed Node host"
    assert process.poll() is None, "the runtime process itself should keep running"


def test_the_node_host_gets_no_pds_variables_and_no_extra_ca_certificates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PDS_* would configure every PDS; NODE_EXTRA_CA_CERTS costs Node.js 20 a CA bundle's parsing per start.
    monkeypatch.setenv("PDS_INVITE_REQUIRED", "true")
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("ATPROTO_BDD_TEST_MARKER", "kept")
    host = network_host(tmp_path / "run")
    try:
        host.start(timeout=120)
        assert host.pid is not None
        environ = Path(f"/proc/{host.pid}/environ").read_bytes().split(b"\0")
        names = dict(item.split(b"=", 1) for item in environ if item)
        assert names.get(b"ATPROTO_BDD_TEST_MARKER") == b"kept"
        assert b"NODE_EXTRA_CA_CERTS" not in names and not any(name.startswith(b"PDS_") for name in names)
    finally:
        host.close()
