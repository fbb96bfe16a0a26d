"""Layer 5: what a failed scenario or test did, for both front ends (behave's hooks, the pytest plugin).

:func:`diagnostic_sections` gives titled sections - the XRPC transcript, each
service's last log lines (PLC, PDSes, relay, Jetstream, Tap, AppView,
PostgreSQL), each app's log and the events each recorder saw - all masked. behave prints them
as one text (:func:`diagnostics`); pytest adds each to the test's report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .hints import with_hints
from .masking import masker
from .protocol.xrpc import XrpcExchange
from .services.registry import SERVICES
from .world.events import describe_events

if TYPE_CHECKING:
    from .world import World

#: How many lines of each log the diagnostics show.
LOG_LINES = 15
#: What a restored world's transcript says about the Background's calls at its top.
RESTORED_NOTE = "its calls ran once, in the feature's first scenario; -D background_snapshots=false runs it every time"


def diagnostic_sections(world: World, log_lines: int = LOG_LINES) -> list[tuple[str, str]]:
    """``(title, text)`` pairs: the transcript, each service's and app's last log lines, the events seen."""
    transcript = "\n".join(transcript_lines(world.transcript)) or "(no XRPC calls)"
    if world.restored:  # the Background's calls above were made once, by an earlier scenario (background_snapshots)
        transcript = f"(this network was restored from a snapshot of the Background: {RESTORED_NOTE})\n{transcript}"
    sections = [("XRPC transcript", transcript)]
    # What the services that are no network's show (the browser: each person's page).
    for name in SERVICES:
        extra = getattr(world.service(name), "diagnostics", None) if world.has_service(name) else None
        if extra is not None:
            sections += extra()
    if not world.started:
        return [*_masked(sections), ("network", "(no network was started)")]
    network = world.network
    services = [("PLC directory", network.plc.id)] + [(f"PDS {name}", pds.id) for name, pds in network.pdses.items()]
    # The other services in registry order (services/registry.py), each under its own name.
    services += [(SERVICES[name].title.removeprefix("the "), service.id) for name, service in network.services.items()]
    for label, service_id in services:
        sections.append((f"{label} log (last {log_lines} lines)", world.runtime.log_tail(service_id, log_lines)))
    postgres_log = getattr(world.runtime, "postgres_log_tail", None)
    if network.appview is not None and postgres_log is not None:
        sections.append((f"PostgreSQL log (last {log_lines} lines)", postgres_log(log_lines)))
    for name, app in world.apps.items():
        log = app.logs()  # its latest start's, also one that failed
        tail = "\n".join(log.splitlines()[-log_lines:])
        sections.append((f"app {name} log (last {log_lines} lines)", with_hints(tail, seen=log).lstrip("\n")))
    # What each recorder holds (diagnostics never subscribe again): the PDSes' firehoses, then the other services'.
    recorded = [
        (f"PDS {name} firehose", pds.recorded_events) for name, pds in world.pdses.items() if pds.firehose_started
    ]
    for name in SERVICES:
        seen = world.service(name).recorded() if world.has_service(name) else None
        if seen is not None:
            recorded.append(seen)
    for label, events in recorded:
        text = describe_events(events, world.name_of)
        sections.append((f"{label} events", "\n".join(line.strip() for line in text.splitlines())))
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


def screenshots(world: World) -> list[tuple[str, bytes]]:
    """Screenshots (PNG) of the pages the scenario's people had open, with their captions; none without a browser."""
    shots: list[tuple[str, bytes]] = []
    for name in SERVICES:
        take = getattr(world.service(name), "screenshots", None) if world.has_service(name) else None
        if take is not None:
            shots += take()
    return shots


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


def transcript_lines(exchanges: Sequence[XrpcExchange], *, run: int = 3) -> list[str]:
    """The transcript a line a call, with ``run`` or more alike calls in a row (a poll) folded into one line.

    A wait that polled 223 times shows ``[PDS A] GET ...listRecords -> 200 (x223 in a row, 4.1-7.3 ms)``.
    """
    lines: list[str] = []
    index = 0
    while index < len(exchanges):
        first = exchanges[index]
        key = (first.service, first.method, first.nsid, first.status, first.error, first.message)
        end = index + 1
        while end < len(exchanges):
            other = exchanges[end]
            if (other.service, other.method, other.nsid, other.status, other.error, other.message) != key:
                break
            end += 1
        if end - index >= run:
            times = [exchange.duration_ms for exchange in exchanges[index:end]]
            line = first.summary().rsplit(" (", 1)[0]
            lines.append(f"{line} (x{end - index} in a row, {min(times):.1f}-{max(times):.1f} ms)")
        else:
            lines.extend(exchange.summary() for exchange in exchanges[index:end])
        index = end
    return lines
