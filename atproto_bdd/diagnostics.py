"""Layer 5: what a failed scenario or test did, for both front ends (behave's hooks, the pytest plugin).

:func:`diagnostic_sections` gives titled sections - the XRPC transcript, each
service's last log lines (PLC, PDSes, relay, Jetstream, Tap, AppView,
PostgreSQL), each app's log and the events each recorder saw - all masked. behave prints them
as one text (:func:`diagnostics`); pytest adds each to the test's report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .masking import masker
from .world.events import describe_events

if TYPE_CHECKING:
    from .world import World

#: How many lines of each log the diagnostics show.
LOG_LINES = 15
#: What a restored world's transcript says about the Background's calls at its top.
RESTORED_NOTE = "its calls ran once, in the feature's first scenario; -D background_snapshots=false runs it every time"


def diagnostic_sections(world: World, log_lines: int = LOG_LINES) -> list[tuple[str, str]]:
    """``(title, text)`` pairs: the transcript, each service's and app's last log lines, the events seen."""
    transcript = "\n".join(exchange.summary() for exchange in world.transcript) or "(no XRPC calls)"
    if world.restored:  # the Background's calls above were made once, by an earlier scenario (background_snapshots)
        transcript = f"(this network was restored from a snapshot of the Background: {RESTORED_NOTE})\n{transcript}"
    sections = [("XRPC transcript", transcript)]
    if not world.started:
        return [*_masked(sections), ("network", "(no network was started)")]
    network = world.network
    services = [("PLC directory", network.plc.id)] + [(f"PDS {name}", pds.id) for name, pds in network.pdses.items()]
    if network.relay is not None:
        services.append(("relay", network.relay.id))
    services += [(label, tool.id) for label, tool in (("Jetstream", network.jetstream), ("Tap", network.tap)) if tool]
    if network.appview is not None:
        services.append(("AppView", network.appview.id))
    for label, service_id in services:
        sections.append((f"{label} log (last {log_lines} lines)", world.runtime.log_tail(service_id, log_lines)))
    postgres_log = getattr(world.runtime, "postgres_log_tail", None)
    if network.appview is not None and postgres_log is not None:
        sections.append((f"PostgreSQL log (last {log_lines} lines)", postgres_log(log_lines)))
    for name, app in world.apps.items():
        sections.append((f"app {name} log (last {log_lines} lines)", "\n".join(app.logs().splitlines()[-log_lines:])))
    streams = [(f"PDS {name}", pds) for name, pds in world.pdses.items()]
    if world.has_relay:
        streams.append(("relay", world.relay))
    for label, source in streams:
        if source.firehose_started:  # what was recorded; diagnostics never subscribe again
            events = describe_events(source.recorded_events, world.name_of)
            sections.append((f"{label} firehose events", "\n".join(line.strip() for line in events.splitlines())))
    recorders = [("Jetstream", world.jetstream.recorder)] if world.has_jetstream else []
    if world.has_tap and world.tap.recorder_started:
        recorders.append(("Tap", world.tap.recorder))
    for label, recorder in recorders:
        events = describe_events(recorder.events, world.name_of)
        sections.append((f"{label} events", "\n".join(line.strip() for line in events.splitlines())))
    return _masked(sections)


def diagnostics(world: World, log_lines: int = LOG_LINES) -> str:
    """The sections as one text, under a header naming the scenario (what behave prints)."""
    lines = [f"--- atproto-bdd diagnostics for scenario {world.scenario!r} ---"]
    for title, text in diagnostic_sections(world, log_lines):
        if title == "network":  # not a section of its own in the text: a closing remark
            lines.append(text)
            continue
        lines.append(f"{title}:")
        lines += [f"  {line}" for line in text.splitlines()] or ["  (empty)"]
    return "\n".join(lines)


def _masked(sections: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(title, masker.mask(text) if text.strip() else "(empty)") for title, text in sections]


def save_diagnostics(report_dir: str, location: str, details: str) -> Path | None:
    """Keep a failure's diagnostics in ``<report_dir>/diagnostics/<location>.txt`` (none without a report dir)."""
    if not report_dir:
        return None
    path = Path(report_dir) / "diagnostics" / (re.sub(r"[^A-Za-z0-9_.-]+", "-", location) + ".txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(details + "\n")
    return path
