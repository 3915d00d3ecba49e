"""A published version survives a crash: its data, manifest and folder reach the disk before
the folder is moved into place, and the asset's folder is synced after ``CURRENT`` moves."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from assets import StorageRoot, VersionStore
from assets.atomic import sync_together
from assets.storage import PublishRequest


def _journal(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every fsync (by path), rename and replace, in order, as the real calls happen."""
    seen: list[tuple[str, str]] = []
    fsync, rename, replace = os.fsync, os.rename, os.replace

    def spy_fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def spy_rename(src: str, dst: str) -> None:
        seen.append(("rename", str(src)))
        rename(src, dst)

    def spy_replace(src: str, dst: str) -> None:
        seen.append(("replace", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "rename", spy_rename)
    monkeypatch.setattr(os, "replace", spy_replace)
    return seen


def test_the_data_manifest_and_folder_are_durable_before_the_version_is_moved_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = VersionStore(StorageRoot(str(tmp_path / "region")))
    seen = _journal(monkeypatch)
    manifest = store.publish(pl.DataFrame({"n": [1, 2, 3]}), PublishRequest(
        key="sales.orders", contract_version="1.0.0", code_version="abc", run_id="run-1", input_versions={},
        protection={}))
    asset = str(tmp_path / "region" / "sales" / "orders")
    moved = next(i for i, (op, path) in enumerate(seen) if op == "rename" and "/.staging/" in path)
    staging = seen[moved][1]
    synced_before = {path for op, path in seen[:moved] if op == "fsync"}
    assert {f"{staging}/data.parquet", f"{staging}/manifest.json", staging} <= synced_before
    assert any(path.startswith(f"{asset}/.CURRENT.") for path in synced_before)  # the pointer's next content
    pointer = next(i for i, (op, path) in enumerate(seen) if op == "replace" and path == f"{asset}/CURRENT")
    assert pointer > moved and not [op for op, _ in seen[moved + 1:pointer] if op == "fsync"]  # no wait between
    assert ("fsync", asset) in seen[pointer:]  # the folder that holds both renames
    assert sorted(p.name for p in Path(asset).iterdir()) == sorted([".CURRENT.lock", ".staging", "CURRENT",
                                                                    manifest.version])
    assert store.current_version("sales.orders") == manifest.version and store.verify(manifest)


def test_a_pointer_that_would_move_back_is_dropped_with_its_prepared_file(tmp_path: Path) -> None:
    store = VersionStore(StorageRoot(str(tmp_path / "region")))
    request = PublishRequest(key="sales.orders", contract_version="1.0.0", code_version="abc", run_id="run-1",
                             input_versions={}, protection={})
    older = store.stage(pl.DataFrame({"n": [1]}), request)
    newer = store.publish(pl.DataFrame({"n": [2]}), request)
    store.commit(older)  # published, but CURRENT stays on the newer version
    asset = tmp_path / "region" / "sales" / "orders"
    assert store.current_version("sales.orders") == newer.version
    assert not [p.name for p in asset.iterdir() if p.name.endswith(".tmp")]


def test_sync_together_syncs_every_path_and_raises_a_failure(tmp_path: Path) -> None:
    files = [tmp_path / f"f{i}" for i in range(5)]
    for file in files:
        file.write_bytes(b"x")
    sync_together([*files, tmp_path])
    with pytest.raises(FileNotFoundError):
        sync_together([files[0], tmp_path / "missing", files[1]])
