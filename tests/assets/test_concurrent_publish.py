"""Concurrent publishers and leftovers: CURRENT only moves forward; killed writers' staging is cleaned."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import polars as pl
import pytest

from assets import StorageError, StorageRoot, VersionStore
from assets.storage import PublishRequest


def request(key: str = "sales.orders") -> PublishRequest:
    return PublishRequest(key=key, contract_version="1.0.0", code_version="abc", run_id="run-1",
                          input_versions={}, protection={})


@pytest.fixture
def store(tmp_path: Path) -> VersionStore:
    return VersionStore(StorageRoot(str(tmp_path / "region")))


def test_a_slower_publisher_of_an_older_version_does_not_move_current_back(store: VersionStore) -> None:
    older = store.stage(pl.DataFrame({"n": [1]}), request())
    newer = store.stage(pl.DataFrame({"n": [2]}), request())
    assert older.version < newer.version
    store.commit(newer)
    store.commit(older)  # finishes last, as a slow concurrent publisher would
    assert store.current_version("sales.orders") == newer.version
    assert store.versions("sales.orders") == [older.version, newer.version]  # still published, readable by name
    assert store.scan("sales.orders", older.version).collect()["n"].to_list() == [1]


def test_concurrent_publishers_leave_current_on_the_newest_version(store: VersionStore) -> None:
    start = threading.Barrier(8)

    def publish(n: int) -> None:
        staged = store.stage(pl.DataFrame({"n": [n]}), request())
        start.wait()
        store.commit(staged)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.current_version("sales.orders") == store.versions("sales.orders")[-1]


def test_going_back_is_an_explicit_rollback(store: VersionStore) -> None:
    first = store.publish(pl.DataFrame({"n": [1]}), request())
    second = store.publish(pl.DataFrame({"n": [2]}), request())
    with pytest.raises(StorageError, match="would move CURRENT back") as refused:
        store.set_current("sales.orders", first.version)
    assert "allow_backward" in refused.value.fix
    assert store.current_version("sales.orders") == second.version
    store.set_current("sales.orders", first.version, allow_backward=True)
    assert store.current_version("sales.orders") == first.version
    store.set_current("sales.orders", second.version)  # forward again needs nothing
    assert store.current_version("sales.orders") == second.version


_KILLED_WRITER = textwrap.dedent("""
    import os, sys
    import polars as pl
    from assets.storage import PublishRequest, StorageRoot, VersionStore
    store = VersionStore(StorageRoot(sys.argv[1]))
    store.stage(pl.DataFrame({"n": list(range(10_000))}), PublishRequest(
        key="sales.orders", contract_version="1.0.0", code_version="x", run_id="killed", input_versions={},
        protection={}))
    os._exit(9)  # killed before commit: its staging folder stays behind
""")


def test_a_killed_writers_staging_counts_and_is_removed_by_the_next_publish(store: VersionStore,
                                                                            tmp_path: Path) -> None:
    store.publish(pl.DataFrame({"n": [1]}), request())
    before = store.storage_bytes("sales")
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, store.root.url], check=False)
    staging = tmp_path / "region/sales/orders/.staging"
    [leftover] = list(staging.iterdir())
    size = sum(f.stat().st_size for f in leftover.rglob("*") if f.is_file())
    assert size > 0 and store.storage_bytes("sales") == before + size  # it takes quota until removed
    alive = store.stage(pl.DataFrame({"n": [3]}), request())  # a live writer, mid-publish
    store.publish(pl.DataFrame({"n": [2]}), request())
    assert not leftover.exists()
    assert Path(alive.folder).exists()  # in progress, and younger than the grace period: kept
    store.commit(alive)
    assert list(staging.iterdir()) == []


def test_leftovers_older_than_the_grace_period_are_removed_whoever_wrote_them(store: VersionStore) -> None:
    staged = store.stage(pl.DataFrame({"n": [1]}), request())  # this process is alive, but the folder is old
    removed = store.remove_leftovers(grace_seconds=0)
    assert [path for path, _ in removed] == [staged.folder] and not Path(staged.folder).exists()
