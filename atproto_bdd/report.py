"""The run report: per scenario its steps, timings, XRPC transcript and diagnostics.

The behave hooks record a :class:`RunRecord`; at the end of a run it is written
as JSON (``atproto-bdd.json``, which parallel runs merge) and as one
self-contained HTML page (``atproto-bdd.html``) that needs no JavaScript:
failed scenarios are expanded, passed ones fold into ``<details>``.
"""

from __future__ import annotations

import base64
import html
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .masking import masker


@dataclass
class StepRecord:
    """One step as it ran."""

    keyword: str
    name: str
    status: str
    duration: float
    error: str = ""


@dataclass
class ScenarioRecord:
    """One scenario: where it is, how it went, what it did."""

    feature: str
    name: str
    location: str
    status: str
    duration: float
    steps: list[StepRecord] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    diagnostics: str = ""
    #: What the report should say about the scenario beside its steps (a build it paid for).
    notes: list[str] = field(default_factory=list)
    #: A failed scenario's screenshots: (caption, PNG in base64), shown inline.
    screenshots: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class RunRecord:
    """Every scenario of one behave process (one worker of a parallel run)."""

    runtime: str
    worker: str = ""
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    scenarios: list[ScenarioRecord] = field(default_factory=list)

    def to_json(self) -> str:
        """The record as JSON."""
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """Read a record written by :meth:`to_json`."""
        data = json.loads(text)
        scenarios = [
            ScenarioRecord(
                **{
                    **s,
                    "steps": [StepRecord(**step) for step in s.get("steps", [])],
                    "screenshots": [tuple(shot) for shot in s.get("screenshots", [])],
                }
            )
            for s in data.pop("scenarios", [])
        ]
        return cls(**data, scenarios=scenarios)


def scenario_record(
    scenario: Any,
    transcript: list[str],
    diagnostics: str,
    *,
    notes: list[str] | None = None,
    screenshots: list[tuple[str, bytes]] | None = None,
) -> ScenarioRecord:
    """Build a record from a behave scenario after it ran."""
    steps = [
        StepRecord(
            step.keyword,
            step.name,
            step.status.name,
            round(float(step.duration or 0.0), 4),
            masker.mask(step.error_message or ""),
        )
        for step in scenario.all_steps
    ]
    return ScenarioRecord(
        feature=scenario.feature.name,
        name=scenario.name,
        location=f"{scenario.location.filename}:{scenario.location.line}",
        status=scenario.status.name,
        duration=round(float(scenario.duration or 0.0), 4),
        steps=steps,
        transcript=[masker.mask(line) for line in transcript],
        diagnostics=masker.mask(diagnostics),
        notes=list(notes or []),
        screenshots=[(masker.mask(caption), base64.b64encode(png).decode()) for caption, png in screenshots or []],
    )


def write_worker_report(directory: Path, record: RunRecord) -> Path:
    """Write a worker's record as ``<directory>/workers/<worker>/atproto-bdd.json``, for the merge."""
    path = directory / "workers" / record.worker / "atproto-bdd.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record.to_json())
    return path


def merge_worker_reports(directory: Path) -> Path | None:
    """One report of the run from its workers' JSON (``<directory>/workers/*/atproto-bdd.json``); its page.

    ``atproto-bdd run`` and pytest's xdist controller merge this way. None when no worker wrote one.
    """
    runs = [RunRecord.from_json(path.read_text()) for path in sorted(directory.glob("workers/*/atproto-bdd.json"))]
    return write_reports(directory, runs) if runs else None


def write_reports(directory: Path, runs: list[RunRecord], *, name: str = "atproto-bdd") -> Path:
    """Write ``<name>.html`` (and, for a single run, ``<name>.json``) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    if len(runs) == 1:
        (directory / f"{name}.json").write_text(runs[0].to_json())
    page = directory / f"{name}.html"
    page.write_text(render_html(runs))
    return page


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1d1f23;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .2em} h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;margin:.4em 0} td,th{border:1px solid #dde;padding:.25em .5em;
text-align:left;vertical-align:top} th{background:#f2f3f7}
.passed{color:#14632f} .failed,.error,.hook_error{color:#a1141a} .skipped,.untested,.undefined{color:#6a6d75}
.badge{display:inline-block;padding:0 .45em;border-radius:.3em;font-weight:600;background:#eef}
.badge.failed,.badge.error{background:#fde3e4} .badge.passed{background:#e1f5e6}
details{border:1px solid #dde;border-radius:.4em;margin:.5em 0;padding:.3em .7em}
summary{cursor:pointer;font-weight:600} pre{background:#f6f7f9;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} .muted{color:#6a6d75}
figure{margin:.6em 0} figure img{max-width:100%;border:1px solid #dde} figcaption{color:#6a6d75}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def render_html(runs: list[RunRecord]) -> str:
    """One self-contained HTML page for one or more runs (the workers of a parallel run)."""
    scenarios = [s for run in runs for s in run.scenarios]
    failed = [s for s in scenarios if s.status in ("failed", "error", "hook_error")]
    passed = sum(1 for s in scenarios if s.status == "passed")
    started = min((run.started for run in runs), default=time.time())
    finished = max((run.finished or run.started for run in runs), default=started)
    workers = ", ".join(sorted({run.worker for run in runs if run.worker})) or "1"
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        "<title>atproto-bdd report</title>",
        f"<style>{_CSS}</style><body>",
        "<h1>atproto-bdd report</h1>",
        f"<p class=muted>{_e(time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started)))} &middot; "
        f"{finished - started:.1f} s wall clock &middot; runtime {_e(runs[0].runtime if runs else '-')} "
        f"&middot; workers: {_e(workers)}</p>",
        f"<p><span class='badge passed'>{passed} passed</span> "
        f"<span class='badge failed'>{len(failed)} failed</span> "
        f"<span class=badge>{len(scenarios)} scenarios</span></p>",
        "<table><tr><th>scenario</th><th>feature</th><th>status</th><th class=num>seconds</th></tr>",
    ]
    for index, scenario in enumerate(scenarios):
        parts.append(
            f"<tr><td><a href='#s{index}'>{_e(scenario.name)}</a></td><td>{_e(scenario.feature)}</td>"
            f"<td class={_e(scenario.status)}>{_e(scenario.status)}</td>"
            f"<td class=num>{scenario.duration:.3f}{' *' if scenario.notes else ''}</td></tr>"
        )
    parts.append("</table>")
    if any(scenario.notes for scenario in scenarios):
        parts.append("<p class=muted>* the scenario's time includes a build or install (see its notes)</p>")
    for index, scenario in enumerate(scenarios):
        parts.append(_scenario_html(index, scenario))
    parts.append("</body></html>")
    return "\n".join(parts)


def _scenario_html(index: int, scenario: ScenarioRecord) -> str:
    bad = scenario.status in ("failed", "error", "hook_error")
    rows = []
    for step in scenario.steps:
        error = f"<pre>{_e(step.error)}</pre>" if step.error else ""
        rows.append(
            f"<tr><td>{_e(step.keyword)} {_e(step.name)}{error}</td><td class={_e(step.status)}>{_e(step.status)}</td>"
            f"<td class=num>{step.duration:.3f}</td></tr>"
        )
    transcript = "\n".join(scenario.transcript) or "(no XRPC calls)"
    diagnostics = f"<h3>Diagnostics</h3><pre>{_e(scenario.diagnostics)}</pre>" if scenario.diagnostics else ""
    diagnostics += "".join(
        f"<figure><img alt='{_e(caption)}' src='data:image/png;base64,{png}'><figcaption>{_e(caption)}</figcaption>"
        "</figure>"
        for caption, png in scenario.screenshots
    )
    notes = "".join(f"<p class=muted>Note: {_e(note)}</p>" for note in scenario.notes)
    return (
        f"<details id=s{index}{' open' if bad else ''}><summary>"
        f"<span class='badge {_e(scenario.status)}'>{_e(scenario.status)}</span> {_e(scenario.name)} "
        f"<span class=muted>{_e(scenario.location)} &middot; {scenario.duration:.3f} s</span></summary>"
        + notes
        + "<table><tr><th>step</th><th>status</th><th class=num>seconds</th></tr>"
        + "".join(rows)
        + f"</table><h3>XRPC transcript</h3><pre>{_e(transcript)}</pre>{diagnostics}</details>"
    )
