"""Run a command and report what it left running: ``python leftovers.py REPORT.json -- ARGV...``.

This process becomes a child subreaper (``PR_SET_CHILD_SUBREAPER``), so
everything the command starts stays below it, even what calls ``setsid`` or
forks twice to leave its parent: when a process's parent dies, it is adopted
here, not by init. After the command exits, what is still below this process
after ``--grace`` seconds (default 5) was left behind: it is named in the
report, then killed. The report (JSON) holds the command's pid and exit code
and the leftovers (pid and command line); this process exits as the command
did. The command's pid is written to the report file at once (``{"pid": N}``)
for a test that signals it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def descendants(root: int) -> dict[int, str]:
    """The processes below ``root`` (pid -> command line), zombies left out."""
    parents: dict[int, int] = {}
    lines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents[int(entry.name)] = int(fields[1])
        lines[int(entry.name)] = cmdline
    below: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in below:
                below[pid] = lines[pid]
                frontier.append(pid)
    return below


def reap() -> None:
    """Collect the exit status of adopted children that ended."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def write(report: Path, data: dict) -> None:
    """Write the report at once (a reader never sees half of it)."""
    partial = report.with_name(report.name + ".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, report)


def main() -> int:
    args = sys.argv[1:]
    grace = 5.0
    if args[:1] == ["--grace"]:
        grace, args = float(args[1]), args[2:]
    report, separator, argv = Path(args[0]), args[1], args[2:]
    assert separator == "--", "usage: leftovers.py [--grace S] REPORT.json -- ARGV..."
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    # Signals are for the command (the test sends them to its pid); here they would only end the watch early.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    command = subprocess.Popen(argv, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    write(report, {"pid": command.pid})
    code = command.wait()
    deadline = time.monotonic() + grace
    left = descendants(os.getpid())
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        reap()
        left = descendants(os.getpid())
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    reap()
    leftovers = [{"pid": pid, "command": line} for pid, line in left.items()]
    write(report, {"pid": command.pid, "exit_code": code, "leftovers": leftovers})
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
