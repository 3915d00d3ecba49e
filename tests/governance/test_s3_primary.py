"""An object store as the PRIMARY region: the example mesh with us-east at ``s3://<bucket>/us-east``
(a real moto server, reached through s3fs as production is) and its standby us-west a local
folder. Publishing, reads and time travel, verified reads, replication back to the local
standby, failover and failback, ``mesh dr status --verify``, gate quarantine, retention, gc,
rollback, backup and restore, key rotation, retiring a domain, the audit log's witness and the
CLI all run against the bucket; so do the bucket becoming unreachable and an object replaced
while it is read.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from assets import Mesh, StorageError, materialize
from assets.storage import StorageRoot
from assets.storage.layout import STAGING, new_version
from assets.storage.staging import staging_name
from governance.access import read_asset
from governance.audit.witness import RegionWitness
from governance.dr import (
    FailoverRefusedError,
    backup,
    dr_status,
    failback,
    failover,
    restore,
)
from governance.gc import collect_garbage
from governance.handlers import HistoryHandler, PolicyCheckHandler
from governance.protection.rotation import rotate_keys
from governance.replication import Replicator
from governance.retention import apply_retention
from governance.rollback import rollback
from governance.services import governed
from governance.tenancy import retire_domain
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.conftest import person
from tests.s3 import Relay, point_s3_at, primary_on_s3

PLATFORM = person("platform@acme.example")
ANALYST = person("analyst@acme.example")
SCALE = {"scale": 300}


@pytest.fixture
def s3_primary(example_root: Path, s3_bucket: str) -> Mesh:
    primary_on_s3(example_root, s3_bucket)
    return load_mesh(example_root)


def _unreplicated(mesh: Mesh) -> list[object]:
    audit = governed(mesh).audit
    return [PolicyCheckHandler(mesh, audit), HistoryHandler(governed(mesh).history)]


def test_versions_are_published_to_the_bucket_and_read_back_current_and_older(s3_primary: Mesh,
                                                                               example_root: Path) -> None:
    mesh = s3_primary
    east = mesh.store("us-east")
    assert mesh.active_region == "us-east" and not east.root.is_local
    first = materialize("+sales.daily_sales", mesh=mesh, params=SCALE)
    assert first.ok, first.to_dict()
    second = materialize("sales.orders", mesh=mesh, params={"scale": 500, "seed": 3})
    assert second.ok, second.to_dict()
    old, new = first["sales.orders"].manifest, second["sales.orders"].manifest
    assert old is not None and new is not None and old.version < new.version
    assert east.versions("sales.orders") == [old.version, new.version]
    assert east.current_version("sales.orders") == new.version
    # the data lives in the bucket, nothing in a local folder named after the region
    assert east.root.uri_of(east.data_path("sales.orders", new.version)).startswith("s3://")
    assert not (example_root / ".mesh" / "regions" / "us-east").exists()
    assert not east.root.listdir(east.root.path("sales", "orders", STAGING))  # no marks left behind

    # the publish remembered its data as verified under the stamp a read's own GET sees: read unhashed
    data = east.data_path("sales.orders", new.version)
    assert (east.root.uri_of(data), new.checksum, east.root.read_stamped(data)[1]) in east.verified
    current = read_asset(mesh, "sales.orders", actor=ANALYST).collect()
    older = read_asset(mesh, "sales.orders", actor=ANALYST, version=old.version).collect()
    assert (current.height, older.height) == (new.rows, old.rows) and new.rows != old.rows
    reads = [r for r in governed(mesh).audit.query(action="read", target="sales.orders")]
    assert [(r.actor, r.outcome, r.where, r.details["version"]) for r in reads] == [
        (ANALYST.id, "allowed", "region:us-east", None), (ANALYST.id, "allowed", "region:us-east", old.version)]
    assert governed(mesh).audit.verify().ok
    lineage = [json.loads(line) for line in (example_root / ".mesh" / "lineage" / "events.jsonl").read_text().splitlines()]
    [orders] = [e["outputs"][0] for e in lineage if e["eventType"] == "COMPLETE" and e["job"]["name"] == "sales.orders"
                and e["outputs"][0]["facets"]["version"]["datasetVersion"] == new.version]
    assert orders["facets"]["dataSource"] == {**orders["facets"]["dataSource"], "name": "us-east",
                                              "uri": east.root.uri_of(east.root.root)}
    assert orders["facets"]["dataSource"]["uri"].startswith("s3://")

    # every version reached the local standby, verified, and dr status re-hashes both sides
    west = mesh.store("us-west")
    assert west.root.is_local
    for key, r in first.results.items():
        assert r.manifest is not None and west.verify(west.manifest(key, r.manifest.version))
    assert west.versions("sales.orders") == [old.version, new.version]
    assert west.current_version("sales.orders") == new.version
    status = dr_status(mesh, verify=True)
    assert status.ready and status.active == "us-east" and status.standby == "us-west"


def test_a_corrupt_object_in_the_bucket_is_refused_then_repaired_by_failover_and_failback(s3_primary: Mesh) -> None:
    mesh = s3_primary
    manifest = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert manifest is not None
    east = mesh.store("us-east")
    for _ in range(2):  # verified on the first read, remembered by (size, ETag) for the second
        assert read_asset(mesh, "sales.products", actor=ANALYST).collect().height == manifest.rows
    path = east.data_path("sales.products", manifest.version)
    raw = bytearray(east.root.read_bytes(path))
    raw[len(raw) // 2] ^= 0xFF
    east.root.fs.pipe_file(path, bytes(raw))  # same size, new ETag: the remembered match no longer applies
    with pytest.raises(StorageError, match="does not match its manifest") as refused:
        read_asset(mesh, "sales.products", actor=ANALYST)
    assert "mesh dr failover" in refused.value.fix and "mesh dr failback" in refused.value.fix
    assert refused.value.where.startswith("s3://")

    lag = next(a for a in dr_status(mesh, verify=True).assets if a.key == "sales.products")
    assert lag.state == "corrupt" and lag.corrupt_active == (manifest.version,) and "failback" in lag.detail

    failover(mesh, "us-west", governed(mesh).audit, actor=PLATFORM)
    assert mesh.active_region == "us-west"
    assert read_asset(mesh, "sales.products", actor=ANALYST).collect().height == manifest.rows
    back = failback(mesh, governed(mesh).audit, actor=PLATFORM)
    assert (back.from_region, back.to_region, back.caught_up) == ("us-west", "us-east", 1)
    assert mesh.active_region == "us-east"
    assert east.verify(manifest)  # the bucket's copy was replaced by the verified one
    assert read_asset(mesh, "sales.products", actor=ANALYST).collect().height == manifest.rows
    repaired = [r for r in governed(mesh).audit.query(action="replicate", target="sales.products")
                if r.outcome == "repaired"]
    assert [r.details["to"] for r in repaired] == ["us-east"]
    assert dr_status(mesh, verify=True).ready


def test_versions_published_while_failed_over_reach_the_bucket_on_failback(s3_primary: Mesh) -> None:
    mesh = s3_primary
    assert materialize("+sales.daily_sales", mesh=mesh, params=SCALE).ok
    failover(mesh, "us-west", governed(mesh).audit, actor=PLATFORM)
    during = materialize("sales.orders", mesh=mesh, params={"scale": 400, "seed": 5})
    assert during.ok, during.to_dict()
    manifest = during["sales.orders"].manifest
    assert manifest is not None
    east, west = mesh.store("us-east"), mesh.store("us-west")
    assert west.current_version("sales.orders") == manifest.version
    # the S3 primary is now the standby: replication copied the new version into the bucket
    assert east.has_version("sales.orders", manifest.version)
    assert dr_status(mesh, verify=True).ready
    back = failback(mesh, governed(mesh).audit, actor=PLATFORM)
    assert back.to_region == "us-east" and mesh.active_region == "us-east"
    assert east.current_version("sales.orders") == manifest.version
    assert read_asset(mesh, "sales.orders", actor=ANALYST).collect().height == manifest.rows


def test_a_failback_catches_the_bucket_up_with_versions_it_never_received(s3_primary: Mesh) -> None:
    mesh = s3_primary
    assert materialize("sales.orders", mesh=mesh, params=SCALE).ok
    failover(mesh, "us-west", governed(mesh).audit, actor=PLATFORM)
    unreplicated = materialize("sales.orders", mesh=mesh, params={"scale": 400}, handlers=_unreplicated(mesh))
    manifest = unreplicated["sales.orders"].manifest
    assert manifest is not None
    east = mesh.store("us-east")
    assert not east.has_version("sales.orders", manifest.version)
    back = failback(mesh, governed(mesh).audit, actor=PLATFORM)
    assert back.caught_up == 1 and east.current_version("sales.orders") == manifest.version
    assert east.verify(manifest)


def test_a_gate_failure_on_an_s3_primary_is_quarantined_in_the_bucket(s3_primary: Mesh) -> None:
    mesh = s3_primary
    result = materialize("finance.fx_rates", mesh=mesh, params={"inject_bad_rows": True})
    assert not result.ok
    failed = result["finance.fx_rates"]
    assert failed.quarantine is not None and failed.quarantine.startswith("s3://"), failed.to_dict()
    east = mesh.store("us-east")
    folder = failed.quarantine.removeprefix("s3://")
    assert {"report.md", "report.json"} <= set(east.root.listdir(folder))
    assert b"Gate failure: finance.fx_rates" in east.root.read_bytes(f"{folder}/report.md")
    assert east.current_version("finance.fx_rates") is None


def test_rollback_on_an_s3_primary_moves_current_back_and_replicates(s3_primary: Mesh) -> None:
    mesh = s3_primary
    old = materialize("sales.orders", mesh=mesh, params=SCALE)["sales.orders"].manifest
    new = materialize("sales.orders", mesh=mesh, params={"scale": 400})["sales.orders"].manifest
    assert old is not None and new is not None
    report = rollback(mesh, "sales.orders", old.version, governed(mesh).audit, actor=PLATFORM)
    assert (report.region, report.previous, report.version) == ("us-east", new.version, old.version)
    east = mesh.store("us-east")
    assert east.current_version("sales.orders") == old.version
    assert read_asset(mesh, "sales.orders", actor=ANALYST).collect().height == old.rows
    replicator = Replicator.for_mesh(mesh, governed(mesh).audit)
    assert replicator is not None
    replicator.replicate("sales.orders")
    assert mesh.store("us-west").current_version("sales.orders") == old.version  # the standby mirrors it
    # a corrupt older version is never rolled back to
    path = east.data_path("sales.orders", new.version)
    east.root.fs.pipe_file(path, east.root.read_bytes(path)[:-10] + b"0123456789")
    with pytest.raises(StorageError, match="does not match its manifest"):
        rollback(mesh, "sales.orders", new.version, governed(mesh).audit, actor=PLATFORM)
    assert east.current_version("sales.orders") == old.version


def test_retention_and_gc_clean_the_bucket(s3_primary: Mesh) -> None:
    mesh = s3_primary
    no_replication = _unreplicated(mesh)
    versions = [materialize("sales.orders", mesh=mesh, params=SCALE, handlers=no_replication)["sales.orders"]
                .manifest for _ in range(3)]
    assert all(versions)
    east = mesh.store("us-east")
    # a writer killed mid-publish: a version folder without a manifest, and its mark
    asset = east.root.path("sales", "orders")
    dead = new_version(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    east.root.write_atomic(f"{asset}/{dead}/data.parquet", b"x" * 1000)
    east.root.write_atomic(f"{asset}/{STAGING}/{staging_name(dead)}", b"")
    assert dead not in east.versions("sales.orders")
    report = collect_garbage(mesh, governed(mesh).audit, grace_seconds=0)
    assert [x.path for x in report.leftovers if x.region == "us-east"] == [east.root.uri_of(f"{asset}/{dead}")]
    assert not east.root.exists(f"{asset}/{dead}") and not east.root.listdir(f"{asset}/{STAGING}")

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=mesh.policy.retention.days_for("sales") + 1)
    removed = apply_retention(mesh, governed(mesh).audit, now=later)
    assert sorted((r.region, r.version) for r in removed if r.key == "sales.orders") == \
        [("us-east", v.version) for v in versions[:2]]  # type: ignore[union-attr]
    assert east.versions("sales.orders") == [versions[-1].version]  # type: ignore[union-attr]
    assert read_asset(mesh, "sales.orders", actor=ANALYST).collect().height == versions[-1].rows  # type: ignore[union-attr]
    assert {r.target for r in governed(mesh).audit.query(action="retention_remove")} == {"sales.orders"}


def test_the_cli_runs_the_mesh_on_an_s3_primary(s3_primary: Mesh, example_root: Path, tmp_path: Path) -> None:
    def mesh_cli(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, "--root", str(example_root)])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def materialize_cli(*args: str) -> dict[str, dict[str, object]]:
        run = json.loads(mesh_cli("materialize", *args, "--json"))
        assert run["ok"] and all(a["status"] == "materialized" and all(h["ok"] for h in a["handlers"])
                                 for a in run["assets"]), run
        return {a["key"]: a for a in run["assets"]}

    run = materialize_cli("+finance.monthly_revenue", "--scale", "300")
    again = materialize_cli("sales.orders", "--scale", "400")
    old, new = run["sales.orders"]["version"], again["sales.orders"]["version"]
    assert isinstance(old, str) and isinstance(new, str) and new > old
    rows = json.loads(mesh_cli("read", "sales.orders", "--json", "--limit", "1000", "--as", "sales-data@acme.example"))
    older = json.loads(mesh_cli("read", "sales.orders", "--version", old, "--json", "--limit", "1000",
                                "--as", "sales-data@acme.example"))
    assert (len(rows), len(older)) == (again["sales.orders"]["rows"], run["sales.orders"]["rows"])
    out = tmp_path / "revenue.parquet"
    mesh_cli("read", "finance.monthly_revenue", "--out", str(out), "--as", "analyst@acme.example")
    assert pl.read_parquet(out).height == run["finance.monthly_revenue"]["rows"]
    status = json.loads(mesh_cli("dr", "status", "--verify", "--json"))
    assert status["ready"] and (status["active"], status["standby"]) == ("us-east", "us-west")
    mesh_cli("history", "sales.orders")
    mesh_cli("rollback", "sales.orders", "--to", old, "--as", "platform@acme.example")
    assert s3_primary.store().current_version("sales.orders") == old
    mesh_cli("dr", "failover", "--to", "us-west", "--as", "platform@acme.example")
    mesh_cli("dr", "failback", "--as", "platform@acme.example")
    mesh_cli("gc", "--json")
    mesh_cli("retention", "apply", "--dry-run", "--json")
    mesh_cli("lineage", "sales.orders", "--impact")
    mesh_cli("domains")
    assert json.loads(mesh_cli("dr", "status", "--verify", "--json"))["ready"]


def test_a_backup_restores_the_manifest_and_current_pointer_lost_from_the_bucket(s3_primary: Mesh) -> None:
    mesh = s3_primary
    result = materialize("+finance.revenue", mesh=mesh, params=SCALE)
    assert result.ok
    written = backup(mesh, actor=PLATFORM)
    assert written.manifests == 2 * len(result.results) and not written.skipped_regions
    manifest = result["finance.revenue"].manifest
    assert manifest is not None
    east = mesh.store("us-east")
    asset = east.root.path("finance", "revenue")
    east.root.fs.rm_file(f"{asset}/{manifest.version}/manifest.json")
    east.root.fs.rm_file(f"{asset}/CURRENT")
    assert east.current_version("finance.revenue") is None
    report = restore(mesh, written.path, actor=PLATFORM)
    assert {f"us-east:finance/revenue/{manifest.version}/manifest.json", "us-east:finance/revenue/CURRENT"} \
        <= set(report.restored) and not report.problems
    assert east.current_version("finance.revenue") == manifest.version
    assert read_asset(mesh, "finance.revenue", actor=ANALYST).collect().height == manifest.rows


def test_a_retired_domain_is_archived_in_the_bucket_and_expires_there(s3_primary: Mesh, example_root: Path) -> None:
    mesh = s3_primary
    result = materialize("+marketing.campaign_performance +marketing.audience", mesh=mesh, params=SCALE)
    assert result.ok, {k: r.error for k, r in result.results.items() if not r.ok}
    east = mesh.store("us-east")
    before = {key: versions for key in mesh.graph if key.startswith("marketing.") and (versions := east.versions(key))}
    assert len(before) == 3, "what the selection materialized"
    done = retire_domain(mesh, "marketing", person("council@acme.example"), governed(mesh).audit)
    archived = next(a for a in done["archived"] if a.startswith("s3://"))
    folder = archived.removeprefix("s3://")
    assert not east.root.exists(east.root.path("marketing"))
    for key, versions in before.items():
        name = key.split(".", 1)[1]
        assert east.root.listdir(f"{folder}/{name}") == sorted([*versions, "CURRENT"])
        for version in versions:
            assert east.root.exists(f"{folder}/{name}/{version}/manifest.json")
    after = load_mesh(example_root)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=3000)
    removed = apply_retention(after, governed(after).audit, now=future)
    assert {(r.region, r.key) for r in removed if r.key.startswith("marketing.")} == \
        {(region, key) for region in ("us-east", "us-west") for key in before}
    assert not [f for f in east.root.walk_files(folder) if f.endswith("/data.parquet")]


def test_a_key_rotation_rewraps_the_data_keys_of_versions_in_the_bucket(s3_primary: Mesh) -> None:
    mesh = s3_primary
    result = materialize("customers.customers", mesh=mesh, params=SCALE)
    manifest = result["customers.customers"].manifest
    assert manifest is not None and manifest.data_key, "the customers carry protected columns"
    keyring = governed(mesh).keyring
    before = manifest.data_key["kek_id"]
    report = rotate_keys(mesh, keyring, governed(mesh).audit, actor=PLATFORM)
    assert report.rewrapped >= 2  # the version in the bucket and its local replica
    east = mesh.store("us-east")
    rewrapped = east.manifest("customers.customers", manifest.version)
    assert rewrapped.data_key and rewrapped.data_key["kek_id"] != before
    privacy = person("privacy@acme.example")
    plain = read_asset(mesh, "customers.customers", actor=privacy).collect()
    assert plain.height == manifest.rows


def test_concurrent_witnesses_of_the_audit_log_in_the_bucket_keep_every_head(s3_primary: Mesh) -> None:
    """After a failover the bucket is the standby: workers sealing the audit log at once each
    append a signed head to its witness file there, and none may overwrite another's."""
    witness = RegionWitness("us-east", s3_primary.store("us-east").root)
    start = threading.Barrier(4)

    def seal(worker: int) -> None:
        start.wait()
        for n in range(3):
            witness.record({"size": worker * 10 + n, "worker": worker})

    threads = [threading.Thread(target=seal, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(h["size"] for h in witness.heads()) == [w * 10 + n for w in range(4) for n in range(3)]


def test_losing_the_s3_primary_fails_over_to_the_local_standby_and_back(example_root: Path, s3_bucket: str,
                                                                         s3_server: int,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    relay = Relay(s3_server)
    relay.up()
    point_s3_at(monkeypatch, relay.port)
    primary_on_s3(example_root, s3_bucket)
    mesh = load_mesh(example_root)
    first = materialize("+sales.daily_sales", mesh=mesh, params=SCALE)
    assert first.ok
    relay.down()  # the bucket is unreachable: connections are refused
    try:
        with pytest.raises(StorageError) as unreachable:
            read_asset(mesh, "sales.orders", actor=ANALYST)
        assert unreachable.value.where.startswith("s3://") and "EndpointConnectionError" in str(unreachable.value)
        assert "AWS_ENDPOINT_URL" in unreachable.value.fix and "mesh dr failover" in unreachable.value.fix
        cli = CliRunner().invoke(app, ["read", "sales.orders", "--as", ANALYST.id, "--root", str(example_root)])
        assert cli.exit_code == 1 and "mesh dr failover" in cli.stderr and "Traceback" not in cli.output, cli.output
        refused = materialize("sales.products", mesh=mesh)["sales.products"]
        assert not refused.ok and "s3://" in (refused.error or "") and "mesh dr failover" in (refused.error or ""), \
            refused.error
        status = dr_status(mesh)
        assert not status.ready and {a.state for a in status.assets if a.key in first.results} == {"unreachable"}
        report = failover(mesh, "us-west", governed(mesh).audit, actor=PLATFORM)
        assert not report.lost and report.verified >= len(first.results)
        assert read_asset(mesh, "sales.orders", actor=ANALYST).collect().height == first["sales.orders"].manifest.rows  # type: ignore[union-attr]
        during = materialize("sales.orders", mesh=mesh, params={"scale": 400})
        assert during.ok  # published locally; replication to the bucket fails and is reported
        assert [h.ok for h in during["sales.orders"].handlers if h.kind == "replication"] == [False]
        with pytest.raises(FailoverRefusedError, match="could not catch the primary 'us-east' up"):
            failback(mesh, governed(mesh).audit, actor=PLATFORM)
        assert mesh.active_region == "us-west"
    finally:
        relay.up()
    back = failback(mesh, governed(mesh).audit, actor=PLATFORM)
    assert back.caught_up == 1 and mesh.active_region == "us-east"
    assert mesh.store().current_version("sales.orders") == during["sales.orders"].manifest.version  # type: ignore[union-attr]
    assert dr_status(mesh, verify=True).ready
    relay.down()


def test_a_read_never_serves_an_object_replaced_after_it_was_verified(s3_primary: Mesh) -> None:
    """The bucket's object is replaced by other (valid Parquet) bytes over and over while it is
    read: a read serves the verified bytes or refuses, never the others. (A check of the ETag
    followed by a separate GET would serve whatever the GET found.)"""
    mesh = s3_primary
    no_replication = _unreplicated(mesh)
    good = materialize("sales.orders", mesh=mesh, params=SCALE, handlers=no_replication)["sales.orders"].manifest
    other = materialize("sales.orders", mesh=mesh, params={"scale": 200}, handlers=no_replication)["sales.orders"].manifest
    assert good is not None and other is not None
    east = mesh.store("us-east")
    path = east.data_path("sales.orders", good.version)
    good_bytes, other_bytes = east.root.read_bytes(path), east.root.read_bytes(east.data_path("sales.orders", other.version))
    assert east.scan("sales.orders", good.version).collect().height == good.rows  # verified and remembered
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            for data in (other_bytes, good_bytes):
                east.root.fs.pipe_file(path, data)

    swapper = threading.Thread(target=swap)
    swapper.start()
    served, refused = [], 0
    try:
        while len(served) + refused < 150:
            try:
                served.append(east.scan("sales.orders", good.version).collect().height)
            except StorageError:
                refused += 1
    finally:
        stop.set()
        swapper.join()
    assert set(served) <= {good.rows}, f"served other data {len(served) - served.count(good.rows)} time(s)"
    assert served and refused, "both the verified bytes and the others were read"


def test_the_in_process_demo_runs_on_an_s3_primary(s3_primary: Mesh, example_root: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--in-process", "--scale", "300", "--root", str(example_root)])
    assert result.exit_code == 0, result.output
    east = s3_primary.store("us-east")
    assert f"data and manifests: {east.root.url}/" in result.stdout
    assert "quarantined rows and report of finance.fx_rates: s3://" in result.stdout
    assert "ready to fail over" in result.stdout and "not ready" not in result.stdout


def test_every_operation_on_an_unreachable_bucket_raises_an_os_error(example_root: Path, s3_bucket: str,
                                                                     s3_server: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers catch ``OSError`` and report it with the asset, the URI and a fix; botocore's own
    failures (here: no connection) must arrive as one too, from every kind of request."""
    relay = Relay(s3_server)
    relay.up()
    point_s3_at(monkeypatch, relay.port)
    root = StorageRoot(f"s3://{s3_bucket}/us-east")
    root.write_atomic(root.path("a"), b"a")
    relay.down()

    def write_through_a_file() -> None:
        with root.open(root.path("b"), "wb") as fh:
            fh.write(b"b")

    def hold_a_lock() -> None:
        with root.lock(root.path(".lock")):
            pass

    operations = {
        "read": lambda: root.read_bytes(root.path("a")), "read stamped": lambda: root.read_stamped(root.path("a")),
        "stamp": lambda: root.stamp(root.path("a")), "write": lambda: root.write_atomic(root.path("b"), b"b"),
        "write through a file": write_through_a_file, "lock": hold_a_lock,
        "update": lambda: root.update(root.path("CURRENT"), lambda old: b"new"),
        "copy": lambda: root.copy_from(root, root.path("a"), root.path("c")),
    }
    for name, operation in operations.items():
        with pytest.raises(OSError):
            operation()
            pytest.fail(f"{name}: no error")
