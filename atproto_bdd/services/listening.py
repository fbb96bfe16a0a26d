"""Which TCP ports a local process (and its children) listens on, read from ``/proc`` (Linux).

Used to tell an app that listens on a port of its own choosing - its
framework's default, a port in its code - from one that is still starting:
the first never answers on the port it was given, and says so only in its
log. Elsewhere than Linux (no ``/proc``) nothing is known: an empty set.
"""

from __future__ import annotations

import os
from pathlib import Path

#: ``/proc/net/tcp`` state of a listening socket.
_LISTEN = "0A"


def descendants(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """``pid`` and every process below it (children, grandchildren...) that runs now."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # The command name (field 2) is in parentheses and may hold spaces: the fields after it are plain.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        todo.extend(children.get(current, ()))
    return found


def _socket_inodes(pid: int, proc: Path) -> set[str]:
    inodes = set()
    try:
        fds = list((proc / str(pid) / "fd").iterdir())
    except OSError:  # gone, or not ours to read
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def listening_ports(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """The TCP ports (IPv4 and IPv6) that ``pid`` or one of its descendants listens on."""
    inodes: set[str] = set()
    pids = descendants(pid, proc)
    for each in pids:
        inodes |= _socket_inodes(each, proc)
    if not inodes:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / str(pid) / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            if len(fields) > 9 and fields[3] == _LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
