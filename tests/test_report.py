"""The run report: JSON round trip, HTML content, and rendering in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from atproto_bdd.masking import masker
from atproto_bdd.report import RunRecord, ScenarioRecord, StepRecord, render_html, write_reports

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sample_run() -> RunRecord:
    secret = masker.new_secret()
    failed = ScenarioRecord(
        feature="Relay",
        name="Commits reach the relay <fast>",
        location="features/relay.feature:12",
        status="failed",
        duration=1.25,
        steps=[
            StepRecord("Given", "a PDS named A", "passed", 0.03),
            StepRecord("Then", "the relay firehose shows a commit", "failed", 1.2, "did not show a commit"),
        ],
        transcript=["[PDS A] POST com.atproto.server.createAccount -> 200 (90.1 ms)"],
        diagnostics=masker.mask(f"relay log:\n  admin password {secret}"),
    )
    passed = ScenarioRecord("Posts", "A post", "features/records.feature:9", "passed", 0.4, [], [], "")
    return RunRecord(
        runtime="local", worker="1", started=1_800_000_000.0, finished=1_800_000_003.0, scenarios=[failed, passed]
    )


def test_json_round_trip() -> None:
    run = sample_run()
    assert RunRecord.from_json(run.to_json()) == run


def test_html_holds_steps_timings_transcript_and_masked_diagnostics() -> None:
    page = render_html([sample_run()])
    assert "<script" not in page  # readable without JavaScript
    assert "Commits reach the relay &lt;fast&gt;" in page  # escaped
    assert "<details id=s0 open>" in page and "<details id=s1>" in page  # failures expanded
    assert "1.250 s" in page and "did not show a commit" in page
    assert "POST com.atproto.server.createAccount" in page
    assert "admin password ***" in page


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed for this test: apt-get install chromium (./dev test installs it)"
    from PIL import Image

    page = write_reports(tmp_path, [sample_run()])
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,900"]
    subprocess.run([*common, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    )
    assert "Commits reach the relay" in dom.stdout and "1 failed" in dom.stdout
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 900)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 20, "the screenshot is (nearly) blank"
    reds = sum(count for count, (r, g, b) in colours if r > 150 and g < 80 and b < 80)
    assert reds > 50, "the failed scenario's red status is not visible"


@pytest.mark.parametrize("status", ["error", "hook_error"])
def test_errors_count_as_failures(status: str) -> None:
    run = sample_run()
    run.scenarios[1].status = status
    assert "2 failed" in render_html([run])


def test_a_failed_scenarios_screenshots_are_inline_and_survive_the_json() -> None:
    import base64

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()
    scenario = ScenarioRecord(
        "F", "S", "f.feature:1", "failed", 1.0, screenshots=[("alice.test's page: http://x/", png)]
    )
    record = RunRecord(runtime="local", scenarios=[scenario])
    again = RunRecord.from_json(record.to_json())
    assert again.scenarios[0].screenshots == [("alice.test's page: http://x/", png)]
    page = render_html([again])
    assert f"src='data:image/png;base64,{png}'" in page and "<figcaption>alice.test&#x27;s page: http://x/" in page


def test_a_run_starts_without_the_diagnostics_of_earlier_runs(tmp_path: Path) -> None:
    from atproto_bdd.session import RunSession
    from atproto_bdd.settings import Settings

    stale = tmp_path / "reports" / "diagnostics" / "features-deleted.feature-3.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("a failure of a feature that no longer exists\n")
    session = RunSession(Settings.load({"report_dir": str(tmp_path / "reports")}), tmp_path)
    try:
        assert not stale.exists()
    finally:
        session.close()
    kept = tmp_path / "reports" / "diagnostics" / "other.txt"
    kept.parent.mkdir(parents=True)
    kept.write_text("a worker's\n")
    worker = RunSession(Settings.load({"report_dir": str(tmp_path / "reports")}), tmp_path, worker="2")
    try:
        assert kept.exists()  # a worker of `atproto-bdd run`: its parent cleaned its directory
    finally:
        worker.close()
