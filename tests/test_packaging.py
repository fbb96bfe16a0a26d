"""The package as a user installs it: a wheel alone in a clean virtualenv.

A plain ``pip install`` must give a package whose steps and hooks import and
run; nothing in the repository (our venv, our glue files) may help.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What a checkout holds that is not part of the source distribution.
UNPACKAGED = (".git", ".venv", "build", "dist", "reports", "node_modules", ".work", "__pycache__", "*.egg-info")

FEATURE = """Feature: a plain install
  Scenario: posting reaches the repository and the firehose
    Given a PDS named A
    And an account alice.test on PDS A
    When alice.test posts "installed from a wheel"
    Then alice.test has 1 app.bsky.feed.post record
    And the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post
"""


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools' build/ directory in the checkout could carry stale modules.
    source = tmp_path_factory.mktemp("source") / "atproto-bdd"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*UNPACKAGED))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)])
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("atproto_bdd-*.whl")
    return path


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new virtualenv with only the wheel and what it declares installed."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    base = getattr(sys, "_base_executable", sys.executable)
    created = _run([base, "-m", "venv", str(venv)])
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return python


def test_the_wheel_carries_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "atproto_bdd"
    data = [
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert data, "the package has data files (host.js, lockfiles)"
    missing = [name for name in data if name not in names]
    assert not missing, f"the wheel lacks {missing}"


def test_the_protocol_layer_imports_alone(clean_venv: Path) -> None:
    probe = (
        "import sys, atproto_bdd.protocol.firehose, atproto_bdd.protocol.repo, atproto_bdd.protocol.dpop;"
        "loaded = [m for m in sys.modules if m.startswith(('atproto_bdd.services', 'atproto_bdd.steps',"
        " 'atproto_bdd.world', 'behave', 'docker'))];"
        "assert not loaded, loaded"
    )
    result = _run([str(clean_venv), "-c", probe])
    assert result.returncode == 0, result.stderr


def test_a_feature_runs_with_only_the_two_glue_files(clean_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "steps").mkdir()
    (tmp_path / "features" / "install.feature").write_text(FEATURE)
    (tmp_path / "environment.py").write_text("from atproto_bdd.hooks import *  # noqa: F401,F403\n")
    (tmp_path / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *  # noqa: F401,F403\n")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["ATPROTO_BDD_REPORT_DIR"] = str(tmp_path / "reports")
    result = _run([str(clean_venv), "-m", "behave", "--no-color", "-f", "plain"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 scenario passed" in result.stdout, result.stdout
