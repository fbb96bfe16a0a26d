"""Where run directories go: tmpfs when there is room, the user's choice first."""

from __future__ import annotations

from pathlib import Path

from atproto_bdd.services.run_root import run_root


def test_a_configured_root_wins(tmp_path: Path) -> None:
    assert run_root(str(tmp_path), environ={"TMPDIR": "/elsewhere"}, shm=tmp_path / "none") == tmp_path


def test_a_tmpdir_the_user_set_is_respected(tmp_path: Path) -> None:
    assert run_root("", environ={"TMPDIR": str(tmp_path)}, shm=tmp_path) is None


def test_tmpfs_is_used_when_it_exists_and_has_room(tmp_path: Path, monkeypatch) -> None:
    import atproto_bdd.services.run_root as module

    assert run_root("", environ={}, shm=tmp_path / "missing") is None
    monkeypatch.setattr(module, "MIN_FREE_BYTES", 0)
    assert run_root("", environ={}, shm=tmp_path) == tmp_path
    monkeypatch.setattr(module, "MIN_FREE_BYTES", 1 << 60)
    assert run_root("", environ={}, shm=tmp_path) is None


def test_the_local_runtime_makes_its_run_directory_there(tmp_path: Path) -> None:
    from atproto_bdd.services import LocalRuntime
    from atproto_bdd.settings import Settings

    with LocalRuntime(Settings.load({"run_root": str(tmp_path)})) as runtime:
        assert runtime.run_dir is not None and runtime.run_dir.parent == tmp_path
    assert list(tmp_path.iterdir()) == []  # removed with the run
