"""Versioned storage: atomic publish, manifests, time travel, and a crash mid-write."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets import StorageError, StorageRoot, VersionStore
from assets.errors import AssetNotMaterializedError, CorruptDataError
from assets.storage import Manifest, PublishRequest
from assets.storage.verified import VerifiedFiles


def request(key: str = "sales.orders", **kw: object) -> PublishRequest:
    base: dict[str, object] = dict(key=key, contract_version="1.0.0", code_version="abc", run_id="run-1",
                                   input_versions={"sales.products": "v0"}, protection={})
    return PublishRequest(**(base | kw))  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> VersionStore:
    return VersionStore(StorageRoot(str(tmp_path / "region")))


def test_publish_writes_data_and_a_complete_manifest(store: VersionStore, tmp_path: Path) -> None:
    frame = pl.DataFrame({"order_id": [1, 2, 3], "amount": [1.5, 2.5, 3.5]})
    manifest = store.publish(frame, request())
    folder = tmp_path / "region" / "sales" / "orders" / manifest.version
    assert (folder / "data.parquet").is_file()
    stored = json.loads((folder / "manifest.json").read_text())
    assert stored["rows"] == 3 and stored["bytes"] == (folder / "data.parquet").stat().st_size
    assert stored["checksum"].startswith("blake3:") and store.verify(manifest)
    assert stored["schema"] == {"order_id": "Int64", "amount": "Float64"}
    assert stored["contract_version"] == "1.0.0" and stored["code_version"] == "abc"
    assert stored["input_versions"] == {"sales.products": "v0"}
    assert stored["produced_at"].endswith("+00:00")
    assert store.current_version("sales.orders") == manifest.version
    assert store.scan("sales.orders").collect().equals(frame)


def test_old_versions_stay_readable_and_current_can_roll_back(store: VersionStore) -> None:
    first = store.publish(pl.DataFrame({"n": [1]}), request())
    second = store.publish(pl.DataFrame({"n": [2]}), request())
    assert store.versions("sales.orders") == [first.version, second.version]
    assert store.scan("sales.orders").collect()["n"].to_list() == [2]
    assert store.scan("sales.orders", first.version).collect()["n"].to_list() == [1]
    store.set_current("sales.orders", first.version, allow_backward=True)
    assert store.scan("sales.orders").collect()["n"].to_list() == [1]


def test_a_partition_sits_between_the_asset_and_its_versions(store: VersionStore, tmp_path: Path) -> None:
    manifest = store.publish(pl.DataFrame({"n": [1]}), request(partition="2026-11-25"))
    assert (tmp_path / "region/sales/orders/2026-11-25" / manifest.version / "data.parquet").is_file()
    assert store.current("sales.orders") is None
    assert store.current("sales.orders", "2026-11-25") == manifest


def test_reading_an_unpublished_asset_says_how_to_fix_it(store: VersionStore) -> None:
    with pytest.raises(AssetNotMaterializedError, match="mesh materialize sales.orders"):
        store.scan("sales.orders")
    with pytest.raises(StorageError, match="version '20261127T101500123456Z-a1b2c3' does not exist"):
        store.manifest("sales.orders", "20261127T101500123456Z-a1b2c3")


@pytest.mark.parametrize("version", ["nope", "../../customers/customers/20261127T101500123456Z-a1b2c3",
                                     "20261127T101500123456Z-a1b2c3/../../x", ""])
def test_a_version_that_is_not_a_version_id_is_refused_before_any_path_is_built(store: VersionStore,
                                                                              version: str) -> None:
    store.publish(pl.DataFrame({"n": [1]}), request())
    with pytest.raises(AssetNotMaterializedError, match="is not a version id"):
        store.manifest("sales.orders", version)
    with pytest.raises(AssetNotMaterializedError, match="is not a version id"):
        store.set_current("sales.orders", version, allow_backward=True)


def test_a_manifest_moved_into_another_assets_folder_is_refused(store: VersionStore, tmp_path: Path) -> None:
    theirs = store.publish(pl.DataFrame({"n": [1]}), request(key="customers.customers"))
    ours = tmp_path / "region/sales/orders" / theirs.version
    shutil.copytree(tmp_path / "region/customers/customers" / theirs.version, ours)
    with pytest.raises(CorruptDataError, match="describes version .* of 'customers.customers'"):
        store.manifest("sales.orders", theirs.version)


@pytest.mark.parametrize("garbage", [
    pytest.param(b"\xfa\x00\xff\x13", id="binary"),
    pytest.param(b"[1]", id="json-list"),
    pytest.param(b'{"version": 3}', id="version-not-text"),
    pytest.param(b"{}", id="no-version"),
])
def test_a_corrupt_current_pointer_is_a_storage_error_naming_the_file_and_the_fix(
        store: VersionStore, tmp_path: Path, garbage: bytes) -> None:
    manifest = store.publish(pl.DataFrame({"order_id": [1]}), request())
    pointer = tmp_path / "region" / "sales" / "orders" / "CURRENT"
    pointer.write_bytes(garbage)
    with pytest.raises(StorageError) as caught:
        store.current("sales.orders")
    assert str(pointer) in caught.value.where and "CURRENT pointer is corrupt" in caught.value.what
    assert f'write {{"version": "{manifest.version}"}} to it' in caught.value.fix


def test_a_corrupted_version_fails_verification(store: VersionStore) -> None:
    manifest = store.publish(pl.DataFrame({"n": list(range(100))}), request())
    path = Path(store.data_path("sales.orders", manifest.version))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not store.verify(manifest)


_WRITER = textwrap.dedent("""
    import sys
    import polars as pl
    from assets.storage import PublishRequest, StorageRoot, VersionStore
    store = VersionStore(StorageRoot(sys.argv[1]))
    frame = pl.DataFrame({"n": pl.int_range(0, 6_000_000, eager=True)}).with_columns(s=pl.lit("x" * 12))
    print("writing", flush=True)
    while True:  # keep publishing until killed, so the kill lands at every stage over the runs
        store.publish(frame, PublishRequest(key="sales.orders", contract_version="1.0.0", code_version="big",
                                            run_id="crash", input_versions={}, protection={}))
""")


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4, 0.9, 1.7], ids=lambda d: f"kill-after-{d}s")
def test_a_process_killed_mid_write_leaves_the_previous_version_intact(store: VersionStore, tmp_path: Path,
                                                                       delay: float) -> None:
    before = store.publish(pl.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]}), request())
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, store.root.url], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        staging = tmp_path / "region/sales/orders/.staging"
        deadline = time.monotonic() + 30
        while not any(staging.glob("*/data.parquet")) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
    finally:
        writer.kill()
        writer.wait()
    current = store.require_current("sales.orders")
    assert store.verify(current), "the current version is corrupt"
    frame = store.scan("sales.orders").collect()
    if current.version == before.version:
        assert frame["n"].to_list() == [1, 2, 3]
    else:  # the kill landed after a publish completed: that version must be whole
        assert current.code_version == "big" and frame.height == 6_000_000
    for version in store.versions("sales.orders"):
        assert store.verify(store.manifest("sales.orders", version))
    after = store.publish(pl.DataFrame({"n": [4], "s": ["d"]}), request())
    assert store.scan("sales.orders").collect()["n"].to_list() == [4]
    assert after.version > current.version


def _as_published_by_an_older_mesh(store: VersionStore, manifest: Manifest) -> Manifest:
    """Rewrite a version's manifest with the SHA-256 checksum an older mesh wrote."""
    data = Path(store.data_path(manifest.key, manifest.version)).read_bytes()
    old = dataclasses.replace(manifest, checksum="sha256:" + hashlib.sha256(data).hexdigest())
    Path(store.data_path(manifest.key, manifest.version)).with_name("manifest.json").write_bytes(old.to_json())
    return old


def test_a_version_checksummed_with_sha256_still_verifies_and_reads(store: VersionStore) -> None:
    frame = pl.DataFrame({"n": [1, 2, 3]})
    old = _as_published_by_an_older_mesh(store, store.publish(frame, request()))
    fresh = VersionStore(store.root, verified=VerifiedFiles())  # nothing remembered from the publish
    assert fresh.manifest("sales.orders", old.version).checksum.startswith("sha256:")
    assert fresh.verify(old) and fresh.scan("sales.orders").collect().equals(frame)
    data = Path(store.data_path("sales.orders", old.version))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    again = VersionStore(store.root, verified=VerifiedFiles())
    assert not again.verify(old)
    with pytest.raises(StorageError, match="does not match its manifest"):
        again.scan("sales.orders")


def test_a_checksum_of_an_unknown_algorithm_is_refused_with_a_fix(store: VersionStore) -> None:
    manifest = store.publish(pl.DataFrame({"n": [1]}), request())
    odd = dataclasses.replace(manifest, checksum="md5:0123")
    Path(store.data_path("sales.orders", manifest.version)).with_name("manifest.json").write_bytes(odd.to_json())
    fresh = VersionStore(store.root, verified=VerifiedFiles())
    with pytest.raises(StorageError, match=r"checksum algorithm 'md5'.*blake3.*sha256") as caught:
        fresh.scan("sales.orders")
    assert caught.value.fix and "manifest.json" in caught.value.where


def test_a_full_disk_while_writing_publishes_nothing_and_says_how_to_fix_it(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import resource, sys
        import polars as pl
        from assets import StorageError, StorageRoot, VersionStore
        from assets.storage import PublishRequest
        store = VersionStore(StorageRoot({str(tmp_path / "region")!r}))
        request = PublishRequest(key="sales.orders", contract_version="1.0.0", code_version="c", run_id="r",
                                 input_versions={{}}, protection={{}})
        first = store.publish(pl.DataFrame({{"n": [1, 2, 3]}}), request)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))  # as `ulimit -f 64`
        try:
            store.publish(pl.DataFrame({{"n": range(2_000_000)}}).with_columns(s=pl.col("n").cast(pl.String)), request)
        except StorageError as exc:
            print("refused:", exc)
        assert store.current("sales.orders") == first, "the earlier version stays current"
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "asset 'sales.orders': writing the new version failed" in done.stdout
    assert "Fix: free space on the region's disk" in done.stdout and "Traceback" not in done.stdout + done.stderr


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=6)


@given(st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(Manifest)]), _JSON))
def test_a_stored_manifest_is_a_manifest_or_a_value_error(data: dict[str, object]) -> None:
    try:
        manifest = Manifest.from_json(json.dumps(data))
    except ValueError as exc:
        assert "manifest" in str(exc)
    else:
        assert isinstance(manifest.rows, int) and all(isinstance(v, str) for v in manifest.schema.values())


@given(st.text(max_size=12) | st.sampled_from(["1.0.0", "1.0", "01.0.0", "1.0.0-rc.1", "1.x.0", "x"])
       | st.integers(1, 6_000).map(lambda digits: "9" * digits + ".0.0"))
def test_a_stored_contract_version_is_one_contract_evolution_can_compare(version: str) -> None:
    """What ``mesh contract diff`` and ``mesh check`` compare the declared contract_version with:
    a stored one that is not MAJOR.MINOR.PATCH (or too long to parse) is a damaged manifest."""
    from assets.contract_diff import Change, bump_problem

    stored = json.loads(Manifest(key="sales.orders", version="v1", checksum="sha256:0", rows=0, bytes=0, schema={},
                                 contract_version="1.0.0", code_version="c", produced_at="t", run_id="r").to_json())
    try:
        manifest = Manifest.from_json(json.dumps(stored | {"contract_version": version}))
    except ValueError as exc:
        assert "'contract_version' is not a semantic version" in str(exc)
    else:
        bump_problem("sales.orders", manifest.contract_version, "1.0.0", [Change(True, "column 'n' removed")])


_STATISTIC = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4) | st.dates().map(str)
_CHECKS = st.dictionaries(st.sampled_from(["greater_than", "greater_than_or_equal_to", "less_than", "in_range",
                                           "isin", "notin", "str_length", "custom"]),
                          st.dictionaries(st.sampled_from(["min_value", "max_value", "allowed_values",
                                                           "forbidden_values", "include_min"]),
                                          _STATISTIC | st.lists(_STATISTIC, max_size=3) | _JSON, max_size=3),
                          max_size=3)
_COLUMN = st.fixed_dictionaries({"dtype": st.sampled_from(["Int64", "String"]) | _JSON,
                                 "nullable": st.booleans() | _JSON, "unique": st.booleans() | _JSON,
                                 "checks": _CHECKS | _JSON}, optional={"warnings": _CHECKS | _JSON})


@given(st.dictionaries(st.sampled_from(["n", "s", "gone"]), _COLUMN | _JSON, max_size=3) | _JSON)
def test_a_stored_contract_is_one_contract_evolution_can_compare(contract: object) -> None:
    """The contract a manifest stores is what `mesh contract diff`, `mesh check`, a run's bump check
    and the subscribers' breaking-change notice compare the code's contract with: one of another
    shape is a damaged manifest, and any of the right shape compares (its bounds of any type)."""
    import pandera.polars as pa

    from assets.contract_diff import compare, describe

    class Contract(pa.DataFrameModel):
        n: int = pa.Field(ge=1, le=9, isin=[1, 2, 3])
        s: str = pa.Field(str_length={"min_value": 1}, notin=["x"])

    stored = json.loads(Manifest(key="sales.orders", version="v1", checksum="sha256:0", rows=0, bytes=0, schema={},
                                 contract_version="1.0.0", code_version="c", produced_at="t", run_id="r").to_json())
    try:
        manifest = Manifest.from_json(json.dumps(stored | {"contract": contract}))
    except ValueError as exc:
        assert "manifest's 'contract' is not" in str(exc)
    else:
        compare("sales.orders", manifest, describe(Contract), "1.0.0")


@given(st.text(max_size=12) | st.sampled_from(["tokenize:pii", "encrypt:restricted", "tokenize", ":pii", "tokenize:"]))
def test_a_stored_protection_names_a_method_and_a_classification(how: str) -> None:
    """What a read splits to unprotect a column: one that is not ``<method>:<classification>``
    is a damaged manifest, not an unpacking ValueError when the column is read."""
    stored = json.loads(Manifest(key="sales.orders", version="v1", checksum="sha256:0", rows=0, bytes=0, schema={},
                                 contract_version="1.0.0", code_version="c", produced_at="t", run_id="r").to_json())
    try:
        manifest = Manifest.from_json(json.dumps(stored | {"protection": {"email": how}}))
    except ValueError as exc:
        assert "'protection' is not" in str(exc)
    else:
        method, classification = manifest.protection["email"].split(":", 1)
        assert method and classification


def test_a_manifest_with_a_field_of_the_wrong_type_is_damaged_not_a_crash(store: VersionStore, tmp_path: Path) -> None:
    manifest = store.publish(pl.DataFrame({"n": [1]}), request())
    path = tmp_path / "region/sales/orders" / manifest.version / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "rows": "many"}))
    with pytest.raises(CorruptDataError, match="'rows' is not a whole number.*Fix: copy the version back"):
        store.manifest("sales.orders", manifest.version)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 5 * 1024 * 1024 + 3])
def test_a_local_checksum_and_copy_hash_every_byte_whatever_the_file_size(tmp_path: Path, size: int) -> None:
    from assets.storage.digest import checksum_of

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "data.bin").write_bytes(data)
    source, target = StorageRoot(str(tmp_path / "a")), StorageRoot(str(tmp_path / "b"))
    (tmp_path / "b").mkdir()
    assert source.checksum(source.path("data.bin")) == checksum_of(data)
    assert target.copy_from(source, source.path("data.bin"), target.path("copy.bin")) == (checksum_of(data), size)
    assert (tmp_path / "b" / "copy.bin").read_bytes() == data
