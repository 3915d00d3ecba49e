"""Replication to the standby region: verified copies, idempotent, in order, residency-aware,
and nothing partial or corrupt is ever taken for a replica."""

from __future__ import annotations

import dataclasses
import hashlib
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import tomlkit

from assets import Mesh, StorageError, StorageRoot, materialize
from assets.events import AssetUpdate, dispatch
from governance.dr import dr_status
from governance.handlers import HistoryHandler, PolicyCheckHandler, ReplicationHandler
from governance.replication import Replicator
from governance.services import governed
from governance.wiring import load_mesh
from tests.full_disk import MESH, run_on_a_full_disk

SMALL = {"scale": 300, "seed": 3}


def _no_replication(mesh: Mesh) -> list[object]:
    audit = governed(mesh).audit
    return [PolicyCheckHandler(mesh, audit), HistoryHandler(governed(mesh).history)]


def test_every_published_version_reaches_the_standby_verified(example_mesh: Mesh) -> None:
    result = materialize("*", mesh=example_mesh, params=SMALL)
    assert result.ok
    east, west = example_mesh.store("us-east"), example_mesh.store("us-west")
    for r in result.results.values():  # a partitioned asset's partition is replicated on its own
        key, partition = r.key, r.partition
        assert r.manifest is not None
        replica = west.manifest(key, r.manifest.version, partition)
        assert replica == r.manifest and west.verify(replica)
        assert west.current_version(key, partition) == east.current_version(key, partition)
        assert west.scan(key, partition=partition).collect().equals(east.scan(key, partition=partition).collect())
    copies = governed(example_mesh).audit.query(action="replicate")
    assert {(c.target, c.outcome) for c in copies} == {(r.key, "copied") for r in result.results.values()}
    assert all(c.details["to"] == "us-west" and c.details["checksum"].startswith("blake3:") for c in copies)
    assert dr_status(example_mesh).ready


def test_replaying_an_update_copies_nothing(example_mesh: Mesh) -> None:
    manifest = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert manifest is not None
    audit = governed(example_mesh).audit
    before = len(audit.query(action="replicate"))
    handler = ReplicationHandler(example_mesh, audit)
    for _ in range(3):
        message = handler.handle(AssetUpdate.from_manifest(manifest, "airflow"))
        assert "0 copied, 0 repaired, 1 already there" in message
    assert len(audit.query(action="replicate")) == before


def test_missed_versions_are_copied_in_order(example_mesh: Mesh) -> None:
    versions = [materialize("sales.products", mesh=example_mesh, handlers=_no_replication(example_mesh))
                ["sales.products"].manifest.version for _ in range(3)]  # type: ignore[union-attr]
    lag = dr_status(example_mesh, keys=["sales.products"]).assets[0]
    assert lag.state == "behind" and lag.missing == tuple(versions) and lag.seconds_behind > 0
    result = Replicator.for_mesh(example_mesh, governed(example_mesh).audit).replicate("sales.products")  # type: ignore[union-attr]
    assert [c.version for c in result.copies] == versions and all(c.action == "copied" for c in result.copies)
    assert example_mesh.store("us-west").current_version("sales.products") == versions[-1]
    assert dr_status(example_mesh, keys=["sales.products"]).assets[0].state == "in sync"


def test_a_corrupted_replica_is_detected_and_copied_again(example_mesh: Mesh) -> None:
    manifest = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert manifest is not None
    west = example_mesh.store("us-west")
    replica = Path(west.data_path("sales.products", manifest.version))
    data = bytearray(replica.read_bytes())
    data[len(data) // 2] ^= 0xFF
    replica.write_bytes(bytes(data))
    lag = dr_status(example_mesh, verify=True, keys=["sales.products"]).assets[0]
    assert lag.state == "corrupt" and lag.corrupt == (manifest.version,)
    [outcome] = dispatch([ReplicationHandler(example_mesh, governed(example_mesh).audit)],
                         AssetUpdate.from_manifest(manifest, "airflow"))
    assert outcome.ok and "1 repaired" in outcome.message
    assert west.verify(manifest)
    assert governed(example_mesh).audit.query(action="replicate")[-1].outcome == "repaired"


def test_a_copy_killed_midway_leaves_no_visible_replica(example_mesh: Mesh) -> None:
    manifest = materialize("sales.orders", mesh=example_mesh, params={"scale": 200_000},
                           handlers=_no_replication(example_mesh))["sales.orders"].manifest
    assert manifest is not None
    script = textwrap.dedent(f"""
        import os, signal
        from assets.storage import StorageRoot
        from governance.replication import Replicator
        from governance.services import governed
        from governance.wiring import load_mesh
        real = StorageRoot.copy_from
        def dying(self, source, source_path, path, **_):
            with source.fs.open(source_path, "rb") as src, self.fs.open(path, "wb") as dst:
                dst.write(src.read({manifest.bytes // 2}))
                dst.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        StorageRoot.copy_from = dying
        mesh = load_mesh({str(example_mesh.root)!r})
        Replicator.for_mesh(mesh, governed(mesh).audit).replicate("sales.orders")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    west = example_mesh.store("us-west")
    assert west.versions("sales.orders") == [] and west.current_version("sales.orders") is None
    staged = list(Path(west.root.root, "sales", "orders", ".staging").rglob("data.parquet"))
    assert staged and staged[0].stat().st_size < manifest.bytes  # the partial copy sits where no reader looks
    result = Replicator.for_mesh(example_mesh, governed(example_mesh).audit).replicate("sales.orders")  # type: ignore[union-attr]
    assert [c.action for c in result.copies] == ["copied"] and west.verify(west.manifest("sales.orders", manifest.version))


def test_an_unreachable_standby_does_not_fail_the_run_and_catches_up(example_mesh: Mesh) -> None:
    west_root = Path(example_mesh.store("us-west").root.root)
    west_root.parent.mkdir(parents=True, exist_ok=True)
    west_root.write_text("the standby is unreachable")  # a file where the region's folder should be
    result = materialize("+sales.daily_sales", mesh=example_mesh, params=SMALL)
    assert result.ok
    for r in result.results.values():
        replication = next(h for h in r.handlers if h.kind == "replication")
        assert not replication.ok and ("NotADirectoryError" in replication.message or "not a directory" in replication.message.lower())
    status = dr_status(example_mesh)
    lagging = {a.key: a for a in status.assets if a.state in ("behind", "unreachable")}
    assert set(lagging) == set(result.results) and not status.ready and status.rpo_versions == len(result.results)
    west_root.unlink()
    materialize("sales.orders", mesh=example_mesh, params=SMALL)  # the next update of one asset
    replicator = Replicator.for_mesh(example_mesh, governed(example_mesh).audit)
    assert replicator is not None
    results = replicator.replicate_many(example_mesh.select("+sales.daily_sales"))
    assert not any(isinstance(r, Exception) for r in results)
    assert dr_status(example_mesh).ready


def test_residency_keeps_a_domain_out_of_the_standby_and_says_so(example_root: Path) -> None:
    document = tomlkit.parse((example_root / "mesh.toml").read_text())
    document["regions"]["us-west"]["jurisdiction"] = "ca"  # type: ignore[index]
    for name in ("customers", "finance", "marketing"):
        document["domains"][name]["residency"] = ["us", "ca"]  # type: ignore[index]
    (example_root / "mesh.toml").write_text(tomlkit.dumps(document))
    mesh = load_mesh(example_root)
    result = materialize("+sales.daily_sales or finance.fx_rates", mesh=mesh, params=SMALL)
    assert result.ok
    outcome = next(h for h in result["sales.orders"].handlers if h.kind == "replication")
    assert outcome.ok and "not replicated to us-west" in outcome.message and "residency" in outcome.message
    assert mesh.store("us-west").versions("sales.orders") == []
    assert mesh.store("us-west").versions("finance.fx_rates") != []
    refusals = governed(mesh).audit.query(action="replicate", target="sales")
    assert refusals and all(r.outcome == "refused" for r in refusals)
    lag = {a.key: a for a in dr_status(mesh).assets}
    assert lag["sales.orders"].state == "excluded" and "must stay in ['us']" in lag["sales.orders"].detail
    assert lag["finance.fx_rates"].state == "in sync"


def test_a_successful_copy_leaves_nothing_in_staging(example_mesh: Mesh) -> None:
    materialize("sales.products", mesh=example_mesh)
    staging = Path(example_mesh.store("us-west").root.root, "sales", "products", ".staging")
    assert not staging.exists() or list(staging.iterdir()) == []


def _publish_without_replication(mesh: Mesh, key: str, times: int) -> list[str]:
    return [materialize(key, mesh=mesh, handlers=_no_replication(mesh))[key].manifest.version  # type: ignore[union-attr]
            for _ in range(times)]


def test_a_source_that_differs_from_its_manifest_is_never_published_in_the_target(example_mesh: Mesh) -> None:
    first, corrupt, last = _publish_without_replication(example_mesh, "sales.products", 3)
    east, west = example_mesh.store("us-east"), example_mesh.store("us-west")
    data = Path(east.data_path("sales.products", corrupt))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size: only the checksum, computed while copying, can tell
    data.write_bytes(bytes(raw))
    replicator = Replicator.for_mesh(example_mesh, governed(example_mesh).audit)
    assert replicator is not None
    with pytest.raises(StorageError, match=f"copy of version '{corrupt}' does not match its manifest"):
        replicator.replicate("sales.products")
    assert west.versions("sales.products") == [first]  # in order: nothing after the corrupt one either
    assert west.current_version("sales.products") is None
    staging = Path(west.root.root, "sales", "products", ".staging")
    assert not staging.exists() or list(staging.iterdir()) == []
    copied = [r.details["version"] for r in governed(example_mesh).audit.query(action="replicate")
              if r.target == "sales.products"]
    assert copied == [first]
    assert last not in west.versions("sales.products")


def test_older_sha256_versions_replicate_verified_with_sha256(example_mesh: Mesh) -> None:
    good, bad = _publish_without_replication(example_mesh, "sales.products", 2)
    east, west = example_mesh.store("us-east"), example_mesh.store("us-west")
    old = {}
    for version in (good, bad):  # as an older mesh published them
        data = Path(east.data_path("sales.products", version))
        old[version] = dataclasses.replace(east.manifest("sales.products", version),
                                           checksum="sha256:" + hashlib.sha256(data.read_bytes()).hexdigest())
        data.with_name("manifest.json").write_bytes(old[version].to_json())
    data = Path(east.data_path("sales.products", bad))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    replicator = Replicator.for_mesh(example_mesh, governed(example_mesh).audit)
    assert replicator is not None
    with pytest.raises(StorageError, match=f"copy of version '{bad}' does not match its manifest.*sha256:"):
        replicator.replicate("sales.products")
    assert west.versions("sales.products") == [good]
    assert west.manifest("sales.products", good) == old[good] and west.verify(old[good])


def test_the_versions_of_one_asset_are_copied_at_once_and_published_in_order(example_mesh: Mesh,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    versions = _publish_without_replication(example_mesh, "sales.products", 3)
    together, active, lock = threading.Event(), [0], threading.Lock()
    real = StorageRoot.copy_from

    def copy_from(self: StorageRoot, *args: object, **kwargs: object) -> tuple[str, int]:
        with lock:
            active[0] += 1
            if active[0] >= 2:
                together.set()
        together.wait(timeout=20)  # a second copy starts while this one runs, or never
        try:
            return real(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(StorageRoot, "copy_from", copy_from)
    replicator = Replicator.for_mesh(example_mesh, governed(example_mesh).audit)
    assert replicator is not None
    result = replicator.replicate("sales.products")
    assert together.is_set()
    assert [c.version for c in result.copies] == versions
    audited = [r.details["version"] for r in governed(example_mesh).audit.query(action="replicate")
               if r.target == "sales.products"]
    assert audited == versions and example_mesh.store("us-west").versions("sales.products") == versions


def test_replicating_to_a_full_disk_says_the_disk_is_full_and_to_free_space(example_root: Path) -> None:
    """`mesh dr replicate` with the standby on a real full disk (a small tmpfs): each failed copy
    says the disk is full (ENOSPC), names the version's folder and says to free space on the
    standby's disk, not "check that the storage root is reachable"; nothing partial is left, and
    once there is room the same command catches up."""
    mesh = load_mesh(example_root)
    published = materialize("+sales.daily_sales", mesh=mesh, params=SMALL, handlers=_no_replication(mesh))
    assert published.ok
    west = Path(mesh.store("us-west").root.root)
    command = [*MESH, "dr", "replicate", "--root", str(example_root)]
    done = run_on_a_full_disk(west, command, free_pages=0)
    assert done.returncode == 1 and "Traceback" not in done.output, done.output
    assert "FAILED" in done.output and "reachable" not in done.output, done.output
    assert "the disk is full (ENOSPC: No space left on device)" in done.output, done.output
    assert f"Fix: free space on the disk that holds {west} (df)" in done.output, done.output
    assert f"{west}/sales/" in done.output
    assert dr_status(load_mesh(example_root)).rpo_versions == len(published.results)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert dr_status(load_mesh(example_root)).ready
