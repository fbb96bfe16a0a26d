"""Helpers the process tests share."""

from __future__ import annotations

from pathlib import Path


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def write_hold_project(root: Path, feature: str, hold_step: str) -> None:
    """A behave project in ``root``: one feature, our steps and hooks, and a step that holds a scenario."""
    (root / "features").mkdir()
    (root / "steps").mkdir()
    (root / "features" / "hold.feature").write_text(feature)
    (root / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *\n")
    (root / "steps" / "hold_steps.py").write_text(hold_step)
    (root / "environment.py").write_text("from atproto_bdd.hooks import *\n")
