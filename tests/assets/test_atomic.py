"""atomic_write: the whole content or the old one, no temporary file left, the mode asked for."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from assets.atomic import atomic_write


def test_the_content_is_complete_and_replaces_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "CURRENT"
    assert atomic_write(target, b"old") is True
    data = os.urandom(1 << 20)
    assert atomic_write(target, data) is True
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["CURRENT"]


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             broken: str) -> None:
    target = tmp_path / "head.json"
    atomic_write(target, b"old")

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, broken, fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["head.json"]


def test_the_mode_is_set_before_the_file_is_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    target = tmp_path / "kek.active"
    atomic_write(target, b"secret", mode=0o600)
    assert seen == [0o600] and stat.S_IMODE(target.stat().st_mode) == 0o600
    atomic_write(target, b"public", mode=0o644)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_without_a_mode_the_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "mesh.toml", b"[mesh]\n")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "mesh.toml").stat().st_mode) == 0o644


def test_an_owner_only_file_gets_an_owner_only_new_folder(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "keys" / "data" / "tokenize-pii.json", b"{}", mode=0o600)
        atomic_write(tmp_path / "public" / "manifest.json", b"{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "keys" / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "public").stat().st_mode) == 0o755


def test_exclusive_never_replaces_and_the_first_writer_wins(tmp_path: Path) -> None:
    target = tmp_path / "kek-1.key"
    assert atomic_write(target, b"first", mode=0o600, exclusive=True) is True
    assert atomic_write(target, b"second", mode=0o600, exclusive=True) is False
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["kek-1.key"]


def test_a_cache_write_skips_fsync_but_stays_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    target = tmp_path / "head.json"
    atomic_write(target, b"old")
    assert len(synced) == 2  # the file and its folder
    synced.clear()
    atomic_write(target, b"new", durable=False)
    assert synced == [] and target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["head.json"]
