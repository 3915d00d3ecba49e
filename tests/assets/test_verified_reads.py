"""Reads verify what they serve: a version whose data no longer matches its manifest is never read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from assets import Mesh, StorageError, StorageRoot, VersionStore, materialize
from assets.engine import Status
from assets.storage import PublishRequest
from assets.storage.verified import VerifiedFiles


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
    monkeypatch.setattr(StorageRoot, "checksum", lambda self, path, *rest: hashed.append(path) or real(self, path, *rest))
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


#: A new process reading a version; prints how many times it hashed a data file ("refused" first
#: if the data did not match its manifest).
_READER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from assets import StorageError
    from assets.storage import StorageRoot, VersionStore
    from assets.storage.verified import VerifiedFiles

    hashed = []
    checksum, read_verified = StorageRoot.checksum, VersionStore._read_verified
    StorageRoot.checksum = lambda self, path, *rest: hashed.append(path) or checksum(self, path, *rest)
    VersionStore._read_verified = lambda self, m, path, *rest, **kw: hashed.append(path) or read_verified(self, m, path, *rest, **kw)
    if sys.argv[1] == "mesh":
        from governance.wiring import load_mesh
        store = load_mesh(Path(sys.argv[2])).store()
    else:
        store = VersionStore(StorageRoot(sys.argv[2]), verified=VerifiedFiles(path=Path(sys.argv[3])))
    try:
        store.scan(sys.argv[-1]).collect()
        print(len(hashed))
    except StorageError:
        print("refused", len(hashed))
""")


def read_in_a_new_process(store: VersionStore, cache: Path, key: str = "sales.orders") -> str:
    done = subprocess.run([sys.executable, "-c", _READER, "store", store.root.url, str(cache), key],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "state" / "verified-reads.jsonl"


def test_a_file_verified_in_one_process_is_not_hashed_again_in_the_next(store: VersionStore, cache: Path,
                                                                       tmp_path: Path) -> None:
    writer = VersionStore(store.root, verified=VerifiedFiles(path=cache))
    writer.publish(pl.DataFrame({"n": list(range(1000))}), request())
    assert read_in_a_new_process(store, tmp_path / "elsewhere.jsonl") == "1", "nothing remembered: hashed"
    assert read_in_a_new_process(store, cache) == "0"
    assert read_in_a_new_process(store, tmp_path / "elsewhere.jsonl") == "0", "remembered by the first reader"


@pytest.mark.parametrize("change", [
    pytest.param("same-size", id="content-changed-same-size-and-inode"),
    pytest.param("longer", id="content-changed-other-size"),
    pytest.param("replaced", id="same-content-other-inode"),
])
def test_a_file_changed_after_it_was_remembered_is_hashed_again(store: VersionStore, cache: Path,
                                                                change: str) -> None:
    writer = VersionStore(store.root, verified=VerifiedFiles(path=cache))
    manifest = writer.publish(pl.DataFrame({"n": list(range(1000))}), request())
    writer.scan("sales.orders").collect()
    data = Path(writer.data_path("sales.orders", manifest.version))
    before = data.stat()
    if change == "same-size":
        flip_a_byte(data)
    elif change == "longer":
        with open(data, "ab") as fh:
            fh.write(b"\0")
    else:
        copy = data.with_name("copy.parquet")
        shutil.copy2(data, copy)
        os.replace(copy, data)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))  # the modification time put back
    assert data.stat().st_mtime_ns == before.st_mtime_ns
    expected = {"replaced": "1", "same-size": "refused 1", "longer": "refused 0"}[change]  # other size: not even read
    assert read_in_a_new_process(store, cache) == expected


@pytest.mark.parametrize("garbage", [
    pytest.param(b"\x00\xff" * 5000, id="binary"),
    pytest.param(b'["/x", "sha256:00", [1, [2, 3, 4]]]\n[1, 2]\n{"a": 1}\nnull\n["torn', id="wrong-shapes-and-torn-line"),
    pytest.param(b"\n" * 100 + b"[" * 10_000 + b"\n", id="deeply-nested"),
])
def test_a_damaged_cache_file_is_ignored_and_rebuilt(store: VersionStore, cache: Path, garbage: bytes) -> None:
    store.publish(pl.DataFrame({"n": list(range(1000))}), request())
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(garbage)
    assert read_in_a_new_process(store, cache) == "1"
    assert read_in_a_new_process(store, cache) == "0", "rebuilt with the new entry"
    assert garbage not in cache.read_bytes()


def test_the_cache_file_stays_bounded_and_keeps_the_newest(tmp_path: Path, cache: Path) -> None:
    remembered = VerifiedFiles(path=cache, max_bytes=20_000)
    entries = [(f"/region/sales/orders/v{i:05}/data.parquet", f"sha256:{i:064x}", (1000 + i, (i, i, i)))
               for i in range(1000)]
    for entry in entries:
        remembered.remember(entry)
        assert cache.stat().st_size <= 20_000
    again = VerifiedFiles(path=cache)
    assert entries[-1] in again and entries[0] not in again


def test_a_mesh_remembers_verified_reads_in_its_state_folder(example_mesh: Mesh) -> None:
    assert materialize("sales.orders", mesh=example_mesh, params={"scale": 300}).ok
    done = subprocess.run([sys.executable, "-c", _READER, "mesh", str(example_mesh.root), "sales.orders"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0", done.stderr
    assert (example_mesh.state_dir / "state" / "verified-reads.jsonl").is_file()
