"""The ``atproto-bdd`` command: install services, write the step catalog."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import AtprotoBddError
from .settings import Settings


def _install(args: argparse.Namespace) -> int:
    from .services.go_install import ensure_relay
    from .services.node_install import ensure_node_services

    settings = Settings.load()
    install = ensure_node_services(settings.cache_dir, node=settings.node, npm=settings.npm)
    print(f"PLC and PDS ready in {install.root}")
    if not args.no_relay:
        print(f"relay ready: {ensure_relay(settings.cache_dir, go=settings.go)}")
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


def _run(args: argparse.Namespace) -> int:
    from .parallel import run_parallel

    behave_args = args.behave_args[1:] if args.behave_args[:1] == ["--"] else args.behave_args
    return run_parallel(
        args.paths, jobs=args.jobs, shard=args.shard, reports=Path(args.reports), behave_args=behave_args
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``atproto-bdd`` command."""
    parser = argparse.ArgumentParser(prog="atproto-bdd", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    install = commands.add_parser("install", help="install the pinned services into the cache (once per version)")
    install.add_argument("--no-relay", action="store_true", help="skip building the relay (it needs Go)")
    install.set_defaults(run=_install)

    run = commands.add_parser(
        "run",
        help="run features on parallel workers (behave processes, one network host each)",
        description="Run behave on N workers, optionally on one shard of the suite; "
        "merges JUnit XML and the HTML report. Example: atproto-bdd run -j 2 features -- -D firehose_timeout=10",
    )
    run.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="workers (default: CPU count)")
    run.add_argument("--shard", help="run only part i of n of the suite, e.g. 1/4 (deterministic)")
    run.add_argument("--reports", default="reports", help="reports directory (default: reports)")
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
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except AtprotoBddError as exc:
        print(f"atproto-bdd: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
