"""Reads verify what they serve: a version whose data no longer matches its manifest is never read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from assets import Mesh, StorageError, StorageRoot, VersionStore, materialize
from assets.engine import Status
from assets.storage import PublishRequest


def request(key: str = "sales.orders") -> PublishRequest:
    return PublishRequest(key=key, contract_version="1.0.0", code_version="abc", run_id="run-1",
                          input_versions={}, protection={})


@pytest.fixture
def store(tmp_path: Path) -> VersionStore:
    return VersionStore(StorageRoot(str(tmp_path / "region")))


def flip_a_byte(path: Path) -> None:
    """Change one byte in the middle of a file, keeping its size (bit rot)."""
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_flipped_byte_is_never_served(store: VersionStore) -> None:
    manifest = store.publish(pl.DataFrame({"n": list(range(1000))}), request())
    data = Path(store.data_path("sales.orders", manifest.version))
    flip_a_byte(data)
    with pytest.raises(StorageError, match="does not match its manifest") as raised:
        store.scan("sales.orders")
    message = str(raised.value)
    assert str(data) in message and "mesh dr replicate" in message and "roll back" in message
    with pytest.raises(StorageError, match="does not match its manifest"):
        store.scan("sales.orders", manifest.version)


def test_a_data_file_swapped_for_another_assets_is_never_served(store: VersionStore) -> None:
    orders = store.publish(pl.DataFrame({"n": [1, 2, 3]}), request())
    other = store.publish(pl.DataFrame({"n": [7, 8, 9]}), request("sales.products"))
    store.scan("sales.orders").collect()  # verified once, before the swap
    shutil.copy2(store.data_path("sales.products", other.version), store.data_path("sales.orders", orders.version))
    with pytest.raises(StorageError, match="sales.orders.*does not match its manifest"):
        store.scan("sales.orders")


def test_each_file_is_hashed_once_until_it_changes(store: VersionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[str] = []
    real = StorageRoot.checksum
    monkeypatch.setattr(StorageRoot, "checksum", lambda self, path: hashed.append(path) or real(self, path))
    manifest = store.publish(pl.DataFrame({"n": [1, 2, 3]}), request())
    hashed.clear()
    for _ in range(3):
        assert store.scan("sales.orders").collect()["n"].to_list() == [1, 2, 3]
    assert len(hashed) <= 1  # the publisher's own hash may count as the verification
    data = Path(store.data_path("sales.orders", manifest.version))
    flip_a_byte(data)
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(StorageError, match="does not match its manifest"):
        store.scan("sales.orders")


def test_an_assets_input_that_fails_its_checksum_is_not_fed_downstream(example_mesh: Mesh) -> None:
    assert materialize("+sales.daily_sales", mesh=example_mesh, params={"scale": 300}).ok
    store = example_mesh.store()
    orders = store.require_current("sales.orders")
    flip_a_byte(Path(store.data_path("sales.orders", orders.version)))
    before = store.current_version("sales.daily_sales")
    result = materialize("sales.daily_sales", mesh=example_mesh)["sales.daily_sales"]
    assert result.status is Status.ERROR and "does not match its manifest" in str(result.error)
    assert store.current_version("sales.daily_sales") == before
