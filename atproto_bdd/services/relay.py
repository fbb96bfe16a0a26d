"""Running the indigo relay as a local process: its start-up, and its database template, made by the binary itself."""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import ServiceError
from ..masking import masker
from ..settings import Settings
from .child_env import Child, child_environment
from .go_install import INDIGO_VERSION, ensure_relay
from .health import wait_until_healthy
from .ports import free_port, on_free_port
from .processes import ManagedProcess
from .relay_config import relay_environment, store_template

#: Seconds a relay gets to exit after SIGTERM before it is killed.
RELAY_STOP_GRACE = 2.5


def port_taken(process: ManagedProcess, what: str) -> ServiceError | None:
    """The error to raise when ``process`` exited because one of its ports was taken, else ``None``.

    The message says "address already in use", so :func:`~.ports.on_free_port`
    tries again on other ports.
    """
    if process.exited_with("address already in use"):
        return ServiceError(f"{what} could not listen on its port: address already in use")
    return None


def launch_program(
    argv: list[str],
    env: Mapping[str, str],
    *,
    cwd: Path,
    log_path: Path,
    health_url: str,
    what: str,
    timeout: float,
    grace: float,
    headers: dict[str, str] | None = None,
    ready: Callable[[ManagedProcess], None] = lambda process: None,
    resolv_conf: Path | None = None,
) -> ManagedProcess:
    """Start a program of our own (the relay, Jetstream, Tap) in ``cwd``; wait until healthy and ``ready``.

    It inherits only the basics of our environment (:mod:`.child_env`), plus ``env``;
    ``resolv_conf`` becomes its ``/etc/resolv.conf`` (the network's handle
    DNS). On any failure the program is stopped first (``grace`` seconds
    after SIGTERM); one that exited because a port was taken raises an error
    :func:`~.ports.is_address_in_use` recognises.
    """
    process = ManagedProcess.start(
        argv,
        log_path=log_path,
        env=child_environment(Child.SERVICE, env),
        cwd=cwd,
        name=Path(argv[0]).name,
        resolv_conf=resolv_conf,
    )
    try:
        wait_until_healthy(
            what,
            health_url,
            timeout=timeout,
            log_tail=lambda: masker.mask(process.log_tail()),
            alive=process.alive,
            headers=headers,
        )
        ready(process)
    except BaseException:
        process.stop(grace)
        taken = port_taken(process, what)
        if taken is not None:
            raise taken from None
        raise
    return process


def launch_relay(
    binary: Path,
    env: Mapping[str, str],
    *,
    data_dir: Path,
    log_path: Path,
    api_url: str,
    what: str,
    timeout: float,
    ready: Callable[[ManagedProcess], None] = lambda process: None,
) -> ManagedProcess:
    """Start ``binary serve`` in ``data_dir`` and wait until it is healthy and ``ready(process)`` returns."""
    return launch_program(
        [str(binary), "serve"],
        env,
        cwd=data_dir,
        log_path=log_path,
        health_url=f"{api_url}/xrpc/_health",
        what=what,
        timeout=timeout,
        grace=RELAY_STOP_GRACE,
        ready=ready,
    )


def ensure_relay_template(binary: Path, cache_dir: Path, *, timeout: float) -> Path:
    """A database whose schema the relay created itself, made once per relay version."""
    template = cache_dir / "go" / f"relay-{INDIGO_VERSION}.template.sqlite"
    if template.exists():
        return template
    with tempfile.TemporaryDirectory(prefix="atproto-bdd-relay-template-") as tmp:
        data_dir = Path(tmp)
        log_path = data_dir / "relay.log"

        def start(api: int) -> ManagedProcess:
            env = relay_environment(
                data_dir,
                api_bind=f"127.0.0.1:{api}",
                metrics_listen=f"127.0.0.1:{free_port()}",
                admin_password="template",
                plc_url="http://127.0.0.1:9",
            )
            return launch_relay(
                binary,
                env,
                data_dir=data_dir,
                log_path=log_path,
                api_url=f"http://127.0.0.1:{api}",
                what="the relay (creating its database template)",
                timeout=timeout,
            )

        process = on_free_port(start)
        code = process.stop(RELAY_STOP_GRACE)
        if code not in (0, -signal.SIGTERM):
            raise ServiceError(f"the relay exited with {code}; its log ends with:\n{process.log_tail()}")
        return store_template(data_dir / "relay.sqlite", template)


def prepare(settings: Settings) -> str:
    """Build the relay (``go install``, once per version) and its database template; where it is."""
    binary = ensure_relay(settings.cache_dir, go=settings.go)
    ensure_relay_template(binary, settings.cache_dir, timeout=settings.service_timeout)
    return f"relay ready: {binary}"
