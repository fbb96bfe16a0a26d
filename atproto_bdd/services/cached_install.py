"""Installing into the cache, one way for everything installed there: complete or absent, never half.

Every install (an npm project, PostgreSQL, the relay's database template,
Go programs) follows the same rules, kept here:

* it is complete when its marker file is there (:func:`is_installed`);
* it is built in a sibling ``<target>.partial-<pid>`` directory and renamed
  into place at the end, so a reader never sees a half-filled install, and a
  failed or interrupted build leaves nothing behind (:func:`install_once`);
* processes that install the same thing at once take turns on a file lock,
  and the ones that wait find the install done (:func:`install_lock`);
* single files (a template, a memo) are written beside their target and
  renamed over it (:func:`replace_file`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

#: The file that marks a complete install.
COMPLETE_MARKER = ".atproto-bdd-complete"


def is_installed(target: Path) -> bool:
    """Whether ``target`` holds a complete install."""
    return (target / COMPLETE_MARKER).exists()


@contextlib.contextmanager
def install_lock(path: Path) -> Iterator[None]:
    """Hold the file lock ``path`` (created if needed): one install at a time across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install_once(target: Path, build: Callable[[Path], str], *, lock: Path | None = None) -> Path:
    """``target``, built by ``build(staging)`` first if it is not complete yet.

    ``build`` fills the empty ``staging`` directory and returns the text of
    the marker (what was installed). With ``lock``, processes take turns and
    the ones that waited find the install done.
    """
    if is_installed(target):
        return target
    with install_lock(lock) if lock is not None else contextlib.nullcontext():
        if is_installed(target):
            return target
        staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            marker = build(staging)
            (staging / COMPLETE_MARKER).write_text(marker.rstrip("\n") + "\n")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # a failed install leaves no half-filled directory behind
            raise
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    return target


def replace_file(target: Path, write: Callable[[Path], None]) -> Path:
    """Write ``target`` through a sibling file (``write(partial)``) renamed over it: readers see old or new."""
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    try:
        write(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
