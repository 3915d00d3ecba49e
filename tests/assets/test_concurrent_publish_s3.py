"""Concurrent publishers and leftovers on S3 (a real moto server): CURRENT only moves forward,
by conditional writes; a killed writer's manifest-less version folder counts and is removed."""

from __future__ import annotations

import subprocess
import sys
import threading

import polars as pl
import pytest

from assets import StorageRoot, VersionStore
from assets.storage import PublishRequest, StagedVersion
from tests.assets.test_concurrent_publish import _KILLED_WRITER, request


@pytest.fixture
def store(s3_bucket: str) -> VersionStore:
    return VersionStore(StorageRoot(f"s3://{s3_bucket}/region"))


def test_concurrent_publishers_on_s3_leave_current_on_the_newest_version(store: VersionStore) -> None:
    for _ in range(3):  # each round: six versions staged in order, committed all at once
        staged = [store.stage(pl.DataFrame({"n": [n]}), request()) for n in range(6)]
        start = threading.Barrier(len(staged))

        def commit(one: StagedVersion, start: threading.Barrier) -> None:
            start.wait()
            store.commit(one)

        threads = [threading.Thread(target=commit, args=(s, start)) for s in reversed(staged)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.current_version("sales.orders") == staged[-1].version == store.versions("sales.orders")[-1]


def test_a_rollback_on_s3_moves_current_back_and_a_later_forward_move_wins(store: VersionStore) -> None:
    first = store.publish(pl.DataFrame({"n": [1]}), request())
    second = store.publish(pl.DataFrame({"n": [2]}), request())
    store.set_current("sales.orders", first.version, allow_backward=True)
    assert store.current_version("sales.orders") == first.version
    store.set_current("sales.orders", second.version)
    assert store.current_version("sales.orders") == second.version


def _folder(store: VersionStore, version: str) -> str:
    return store.root.path("sales", "orders", version)


def _version_folders(store: VersionStore) -> list[str]:
    return [v for v in store.root.listdir(store.root.path("sales", "orders")) if v[:1].isdigit()]


def test_a_killed_writers_version_folder_on_s3_counts_and_is_removed_by_the_next_publish(store: VersionStore) -> None:
    store.publish(pl.DataFrame({"n": [1]}), request())
    alive = store.stage(pl.DataFrame({"n": [3]}), request())  # a live writer, mid-publish
    before = store.storage_bytes("sales")
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, store.root.url], check=False)
    [killed] = [v for v in _version_folders(store) if v not in (*store.versions("sales.orders"), alive.version)]
    size = sum(store.root.size(p) for p in store.root.walk_files(_folder(store, killed)))
    assert size > 0 and store.storage_bytes("sales") == before + size  # it takes quota until removed
    assert store.leftovers() == [(_folder(store, killed), size)]  # counted (`mesh gc --dry-run`); never a live one
    newest = store.publish(pl.DataFrame({"n": [2]}), request())
    assert killed not in _version_folders(store)
    assert alive.version in _version_folders(store)  # in progress, younger than the grace period: kept
    store.commit(alive)
    assert alive.version in store.versions("sales.orders")
    assert store.current_version("sales.orders") == newest.version  # the older one finished last
    assert store.leftovers() == [] and _version_folders(store) == store.versions("sales.orders")
    assert store.root.listdir(store.root.path("sales", "orders", ".staging")) == []  # no mark stays behind


def test_manifest_less_s3_folders_older_than_the_grace_period_are_removed_whoever_wrote_them(
        store: VersionStore) -> None:
    published = store.publish(pl.DataFrame({"n": [1]}), request())
    staged = store.stage(pl.DataFrame({"n": [2]}), request())  # this process is alive, but the folder is old
    removed = store.remove_leftovers(grace_seconds=0)
    assert [path for path, _ in removed] == [staged.folder]
    assert _version_folders(store) == [published.version] == store.versions("sales.orders")


def test_a_partitioned_assets_killed_writer_on_s3_is_found_too(store: VersionStore) -> None:
    req = PublishRequest(key="sales.orders", contract_version="1.0.0", code_version="abc", run_id="r",
                         input_versions={}, protection={}, partition="2026-01-01")
    store.publish(pl.DataFrame({"n": [1]}), req)
    staged = store.stage(pl.DataFrame({"n": [2]}), req)
    assert [path for path, _ in store.leftovers(grace_seconds=0)] == [staged.folder]
