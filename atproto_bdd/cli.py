"""The ``atproto-bdd`` command: install services, write the step catalog."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .errors import AtprotoBddError, UsageError
from .settings import PDS_VERSIONS, Settings


def _at_least_one(text: str) -> int:
    """A worker count: a whole number, 1 or more (argparse shows the message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of workers, 1 or more; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 worker or more; got {value}")
    return value


def _positive_seconds(text: str) -> float:
    """A time limit: seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number above 0); got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds above 0; got {text}")
    return value


def _install(args: argparse.Namespace) -> int:
    """Install the PDS lines and the optional services asked for (npm and Go lanes at the same time)."""
    from .services.prepare import SERVICES, prepare_services

    settings = Settings.load()
    lines = list(PDS_VERSIONS) if args.all else args.pds_versions or [settings.pds_version]
    prepare_services(settings, set(SERVICES) if args.all else set(args.with_services or ()), pds_lines=lines)
    return 0


def _catalog(args: argparse.Namespace) -> int:
    from .catalog import render

    text = render()
    if args.check:
        current = Path(args.output).read_text() if Path(args.output).exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `atproto-bdd catalog --output {args.output}`", file=sys.stderr)
            return 1
        return 0
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


def _writable(directory: Path, option: str) -> Path:
    """``directory``, made if needed; an error naming ``option`` if it cannot be written to (before anything runs)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(
            f"{option} {directory} cannot be written to ({exc.strerror or exc}): give a writable directory"
        ) from None
    return directory


def _run(args: argparse.Namespace) -> int:
    from .parallel import run_parallel

    _writable(Path(args.reports), "--reports")
    behave_args = args.behave_args[1:] if args.behave_args[:1] == ["--"] else args.behave_args
    return run_parallel(
        args.paths,
        jobs=args.jobs,
        shard=args.shard,
        reports=Path(args.reports),
        behave_args=behave_args,
        timeout=args.timeout,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``atproto-bdd`` command."""
    from .services.prepare import SERVICES

    parser = argparse.ArgumentParser(prog="atproto-bdd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    install = commands.add_parser(
        "install",
        help="install the pinned services into the cache ahead of the first run (once per version)",
        description="Install the PLC directory and PDS (npm ci) of the run's PDS line into the cache, with "
        "Node.js 22 when the line needs it and the system's is older. Optional services are built "
        "before the first scenario (or test) of a run that uses them, or here with --with NAME or --all "
        "(CI images): " + "; ".join(f"{name}: {what}" for name, what in SERVICES.items()),
    )
    install.add_argument(
        "--with",
        dest="with_services",
        action="append",
        choices=sorted(SERVICES),
        metavar="NAME",
        help=f"also install an optional service ({', '.join(sorted(SERVICES))}); repeatable",
    )
    install.add_argument(
        "--pds-version",
        dest="pds_versions",
        action="append",
        choices=PDS_VERSIONS,
        help="the PDS line to install (default: the pds_version setting, 0.4 unless set); repeatable",
    )
    install.add_argument(
        "--all", action="store_true", help="also install every optional service and every PDS line (CI images)"
    )
    # Before optional services were built on first use, --no-relay skipped the
    # relay; it is now what happens by default, so the flag is accepted and ignored.
    install.add_argument("--no-relay", action="store_true", help=argparse.SUPPRESS)
    install.set_defaults(run=_install)

    run = commands.add_parser(
        "run",
        help="run features on parallel workers (behave processes, one network host each)",
        description="Run behave on N workers, optionally on one shard of the suite; "
        "merges JUnit XML and the HTML report. SIGTERM and Ctrl-C are passed on to the workers, which stop "
        "their networks (a second one kills them). Example: atproto-bdd run -j 2 features -- -D firehose_timeout=10",
    )
    run.add_argument(
        "-j", "--jobs", type=_at_least_one, default=os.cpu_count() or 1, help="workers (default: CPU count)"
    )
    run.add_argument("--shard", help="run only part i of n of the suite, e.g. 1/4 (deterministic)")
    run.add_argument("--reports", default="reports", help="reports directory (default: reports)")
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="stop the workers (as on SIGTERM) if the run takes longer; exit code 124 (default: no limit)",
    )
    run.add_argument("paths", nargs="*", default=["features"], help="feature files or directories")
    run.add_argument("behave_args", nargs=argparse.REMAINDER, help="after --: options passed to every behave worker")
    run.set_defaults(run=_run)

    catalog = commands.add_parser("catalog", help="write the step catalog (Markdown)")
    catalog.add_argument("--output", default="-", help="file to write, or - for stdout (default)")
    catalog.add_argument("--check", action="store_true", help="fail if --output differs from the generated catalog")
    catalog.set_defaults(run=_catalog)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``atproto-bdd`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # What follows `--` goes to behave untouched. argparse would hand it to the `paths` positional
    # (nargs="*" swallows arguments after `--` on Python 3.11), so it is split off first.
    passed: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, passed = argv[:at], argv[at + 1 :]
    args = build_parser().parse_args(argv)
    if hasattr(args, "behave_args"):
        args.behave_args = [*args.behave_args, *passed]
    try:
        return int(args.run(args))
    except AtprotoBddError as exc:
        print(f"atproto-bdd: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
