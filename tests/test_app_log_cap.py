"""An app's log is capped (the ``app_log_max_bytes`` setting): the newest output kept, the cut said.

A real process (Python) writes far more than a tiny cap, in numbered lines;
the log file must stay under the cap, keep the last lines whole, and say at
its top and at its bottom how much was cut.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from atproto_bdd.services.app_config import AppSpec
from atproto_bdd.services.app_process import AppProcess, CappedLog, show_size
from atproto_bdd.services.ports import free_port
from atproto_bdd.settings import Settings

#: Writes LINES numbered lines of 100 bytes (about 4 MB), then says it is done and serves until stopped.
CHATTY = """
import sys, socket, time
for n in range({lines}):
    sys.stdout.write(f"line {{n:07d}} " + "x" * 86 + "\\n")
sys.stdout.write("done writing\\n")
sys.stdout.flush()
server = socket.socket()
server.bind(("127.0.0.1", {port}))
server.listen()
time.sleep(120)
"""

CAP = 64 * 1024
LINES = 40_000


def _start(tmp_path: Path, log_max_bytes: int, lines: int = LINES) -> tuple[AppProcess, Path]:
    port = free_port()
    spec = AppSpec(
        name="chatty",
        command=(sys.executable, "-c", CHATTY.format(lines=lines, port=port)),
        cwd=tmp_path,
        ready_log="done writing",
        ready_timeout=60,
        source="test",
    )
    log = tmp_path / "app.log"
    return AppProcess.start(spec, port=port, env={}, log_path=log, log_max_bytes=log_max_bytes), log


def test_an_app_that_writes_far_more_than_the_cap_keeps_the_newest_lines_and_says_what_was_cut(
    tmp_path: Path,
) -> None:
    app, log = _start(tmp_path, CAP)
    try:
        assert app.running
        assert log.stat().st_size <= CAP + CAP // 4, "past the cap by a copy's chunk at most, until it is cut"
    finally:
        app.stop(grace=2)
    data = log.read_bytes()
    assert len(data) <= CAP, f"the log is {len(data)} bytes, over its cap of {CAP}"
    lines = data.decode().splitlines()
    top, bottom = lines[0], lines[-1]
    assert re.fullmatch(
        r"\[atproto-bdd\] [\d,]+ bytes of the app's output, the oldest, were cut here: this log keeps the newest "
        r"output, at most 64 KB \(the app_log_max_bytes setting\)",
        top,
    ), top
    written = LINES * 100 + len("done writing\n")
    assert bottom.startswith(f"[atproto-bdd] the app wrote {written:,} bytes; the oldest "), bottom
    cut = int(re.search(r"the oldest ([\d,]+) were cut", bottom)[1].replace(",", ""))
    kept = lines[1:-1]
    # What was cut and what was kept add up to what the app wrote: nothing lost between a cut and a write.
    assert cut + sum(len(line) + 1 for line in kept) == written
    assert kept[-1] == "done writing"
    assert kept[-2].startswith(f"line {LINES - 1:07d} "), "the newest output is kept"
    numbers = [int(line.split()[1]) for line in kept[:-1]]
    assert numbers == list(range(numbers[0], LINES)), "whole lines, in order, none missing"
    assert app.log().splitlines()[-1] == bottom, "what the diagnostics read is the same file"


def test_below_the_cap_the_log_is_untouched_and_0_turns_the_cap_off(tmp_path: Path) -> None:
    app, log = _start(tmp_path, CAP, lines=100)
    app.stop(grace=2)
    assert "[atproto-bdd]" not in log.read_text()
    assert len(log.read_text().splitlines()) == 101

    (tmp_path / "off").mkdir()
    app, log = _start(tmp_path / "off", 0, lines=2_000)
    app.stop(grace=2)
    assert app.output is None, "no cap: the app writes its file itself"
    assert log.stat().st_size == 2_000 * 100 + len("done writing\n")


def test_the_setting_takes_sizes_and_refuses_what_is_none() -> None:
    assert Settings.load({}, {}).app_log_max_bytes == 50 * 1024**2
    assert show_size(Settings().app_log_max_bytes) == "50 MB"
    assert Settings.load({"app_log_max_bytes": "64KB"}, {}).app_log_max_bytes == CAP
    assert Settings.load({}, {"ATPROTO_BDD_APP_LOG_MAX_BYTES": "1 GiB"}).app_log_max_bytes == 1024**3
    assert Settings.load({"app_log_max_bytes": "0"}, {}).app_log_max_bytes == 0
    for bad in ("lots", "-5", "100", "3 parsecs", "nan"):
        with pytest.raises(Exception, match=r"must be a size: bytes \(1024 or more\), or with a unit such as 50MB"):
            Settings.load({"app_log_max_bytes": bad}, {})


def test_a_log_whose_directory_is_gone_still_drains_the_pipe(tmp_path: Path) -> None:
    import os

    output = CappedLog(tmp_path / "gone" / "app.log", CAP, "t")
    output.start()
    os.write(output.write_fd, b"x" * 100_000)  # more than a pipe holds: the copier reads it all
    output.close_write_end()
    output.finish(timeout=5)
    assert not output._thread.is_alive()
