"""Disaster recovery: failover verified and audited, refusals that list what would be lost,
failback after catching up, signed backups that verify on restore, and the recovery drill."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import Mesh, materialize
from assets.errors import AssetNotMaterializedError
from governance.dr import (
    BackupError,
    FailoverRefusedError,
    backup,
    dr_status,
    drill,
    failback,
    failover,
    restore,
    verify_backup,
)
from governance.handlers import HistoryHandler, PolicyCheckHandler
from governance.identity.authorization import PermissionDeniedError
from governance.rollback import rollback
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.conftest import person
from tests.full_disk import MESH, run_on_a_full_disk

SMALL = {"scale": 300, "seed": 5}
OPERATOR = "platform@acme.example"
PLATFORM = person(OPERATOR)


def _no_replication(mesh: Mesh) -> list[object]:
    audit = governed(mesh).audit
    return [PolicyCheckHandler(mesh, audit), HistoryHandler(governed(mesh).history)]


def test_the_recovery_drill_loses_nothing_beyond_the_reported_rpo(example_mesh: Mesh) -> None:
    # 1. materialize; then a few versions the standby has not got yet (the lag the RPO reports)
    assert materialize("*", mesh=example_mesh, params=SMALL).ok
    lagging = materialize("sales.products", mesh=example_mesh, handlers=_no_replication(example_mesh))
    unreplicated = lagging["sales.products"].manifest.version  # type: ignore[union-attr]
    reported = dr_status(example_mesh)
    assert reported.rpo_versions == 1 and not reported.ready
    # 2. destroy the primary region's folder
    shutil.rmtree(example_mesh.store("us-east").root.root)
    with pytest.raises(AssetNotMaterializedError):
        example_mesh.store().require_current("sales.orders")
    # 3. fail over: refused while the unreplicated version would be lost, then forced
    audit = governed(example_mesh).audit
    with pytest.raises(FailoverRefusedError, match=r"sales.products: 1 version\(s\) not replicated to us-west"):
        failover(example_mesh, "us-west", audit, actor=PLATFORM)
    assert example_mesh.active_region == "us-east"
    clock = time.perf_counter()
    report = failover(example_mesh, "us-west", audit, force=True, actor=PLATFORM)
    took = time.perf_counter() - clock
    # the RTO is measured, inside the call: no bound on how long a busy machine takes
    assert example_mesh.active_region == "us-west" and 0 < report.rto_seconds <= took
    assert [(x.key, x.versions) for x in report.lost] == [("sales.products", (unreplicated,))]
    # 4. every version that passed its gate is readable and verified, or was in the reported RPO
    store, missing = example_mesh.store(), {(a.key, v) for a in reported.assets for v in a.missing}
    for key, versions in governed(example_mesh).history.published().items():
        for version in versions:
            if (key, version) in missing:
                continue
            manifest = store.manifest(key, version, store.partition_of(key, version))
            assert store.verify(manifest) and store.scan_manifest(manifest).collect().height == manifest.rows
    # 5. keep materializing on the new primary
    again = materialize("+sales.daily_sales", mesh=example_mesh, params=SMALL)
    assert again.ok and all(Path(store.data_path(k, r.manifest.version)).exists()  # type: ignore[union-attr]
                            for k, r in again.results.items())
    switches = audit.query(action="failover")
    assert [(s.outcome, s.actor) for s in switches] == [("refused", OPERATOR), ("switched", OPERATOR)]
    assert switches[-1].details["lost"][0]["versions"] == [unreplicated]


def test_a_rolled_back_asset_stays_rolled_back_through_a_failover_and_a_failback(example_mesh: Mesh) -> None:
    """A failover pointed every asset at its newest verified replica, so the version a rollback
    had taken out of service was served again."""
    first = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    second = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert first is not None and second is not None
    audit = governed(example_mesh).audit
    rollback(example_mesh, "sales.products", first.version, audit, actor=PLATFORM)
    assert example_mesh.store("us-west").current_version("sales.products") == first.version
    failover(example_mesh, "us-west", audit, actor=PLATFORM)
    assert example_mesh.store("us-west").current_version("sales.products") == first.version
    assert example_mesh.store().require_current("sales.products").version == first.version
    failback(example_mesh, audit, actor=PLATFORM)
    assert example_mesh.store("us-east").current_version("sales.products") == first.version


def test_failover_refuses_corrupt_replicas_and_failback_catches_the_primary_up(example_mesh: Mesh) -> None:
    manifest = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert manifest is not None
    west = example_mesh.store("us-west")
    Path(west.data_path("sales.products", manifest.version)).write_bytes(b"not parquet")
    audit = governed(example_mesh).audit
    with pytest.raises(FailoverRefusedError, match="sales.products: 1 version.s. corrupt or missing in us-west"):
        failover(example_mesh, "us-west", audit, actor=PLATFORM)
    materialize("sales.products", mesh=example_mesh)  # the next update repairs nothing old, copies the new
    Path(west.data_path("sales.products", manifest.version)).unlink()
    shutil.rmtree(Path(west.data_path("sales.products", manifest.version)).parent)
    failover(example_mesh, "us-west", audit, actor=PLATFORM)
    newer = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest  # on us-west now
    assert newer is not None and example_mesh.store("us-west").current_version("sales.products") == newer.version
    east = example_mesh.store("us-east")
    assert east.verify(newer)  # after a failover, replication runs the other way: to the old primary
    shutil.rmtree(Path(east.data_path("sales.products", newer.version)).parent)  # the primary missed it
    report = failback(example_mesh, audit, actor=PLATFORM)
    assert example_mesh.active_region == "us-east" and report.to_region == "us-east"
    assert report.caught_up == 1
    assert east.current_version("sales.products") == newer.version and east.verify(newer)
    assert [r.details.get("reason") or r.action for r in audit.query(action="failback")] == ["failback"]


def test_a_backup_restores_what_was_lost_and_refuses_tampering(example_mesh: Mesh) -> None:
    result = materialize("+finance.revenue", mesh=example_mesh, params=SMALL)
    assert result.ok
    written = backup(example_mesh, actor=PLATFORM)
    assert written.manifests == 2 * len(result.results) and written.audit_records > 0
    key = "finance.revenue"
    manifest = result[key].manifest
    assert manifest is not None
    east = example_mesh.store("us-east")
    version_dir = Path(east.data_path(key, manifest.version)).parent
    (version_dir / "manifest.json").unlink()
    (version_dir.parent / "CURRENT").unlink()
    audit_file = example_mesh.state_dir / "audit" / "audit.jsonl"
    audit_file.write_bytes(audit_file.read_bytes().replace(b'"materialized"', b'"gate_failed"', 1))
    assert not governed(example_mesh).audit.verify().ok
    report = restore(example_mesh, written.path, actor=PLATFORM)
    assert f"us-east:finance/revenue/{manifest.version}/manifest.json" in report.restored
    assert "us-east:finance/revenue/CURRENT" in report.restored
    assert any(line.startswith("audit log") for line in report.restored) and not report.problems
    assert east.current_version(key) == manifest.version
    assert governed(example_mesh).audit.verify().ok
    assert list(example_mesh.state_dir.glob("audit.before-restore-*"))  # the tampered log is kept as evidence
    # a backup altered after it was written is refused before anything is touched
    index = json.loads((written.path / "index.json").read_text())
    (written.path / "mesh.toml").write_text((written.path / "mesh.toml").read_text() + "\n# edited\n")
    with pytest.raises(BackupError, match="missing or altered: mesh.toml"):
        restore(example_mesh, written.path, actor=PLATFORM)
    index["files"]["mesh.toml"] = "0" * 64
    (written.path / "index.json").write_text(json.dumps(index))
    with pytest.raises(BackupError, match="not signed by this mesh's audit key"):
        restore(example_mesh, written.path, actor=PLATFORM)


def test_a_backup_restores_a_manifest_checksummed_with_sha256(example_mesh: Mesh) -> None:
    manifest = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert manifest is not None
    east = example_mesh.store("us-east")
    data = Path(east.data_path("sales.products", manifest.version))
    old = dataclasses.replace(manifest, checksum="sha256:" + hashlib.sha256(data.read_bytes()).hexdigest())
    data.with_name("manifest.json").write_bytes(old.to_json())  # as an older mesh published it
    written = backup(example_mesh, actor=PLATFORM)
    data.with_name("manifest.json").unlink()
    report = restore(example_mesh, written.path, actor=PLATFORM)
    assert f"us-east:sales/products/{manifest.version}/manifest.json" in report.restored, report.problems
    assert east.manifest("sales.products", manifest.version) == old and east.verify(old)


def test_a_backup_holds_no_key_material(example_mesh: Mesh) -> None:
    materialize("+customers.customers", mesh=example_mesh, params=SMALL)
    written = backup(example_mesh, actor=PLATFORM)
    secrets = [p for p in (example_mesh.state_dir / "keys").iterdir() if p.suffix in (".key", ".pem")]
    assert {p.suffix for p in secrets} == {".key", ".pem"}  # the KEK and the audit signing key
    kek_bytes = [p.read_bytes() for p in secrets]
    for file in written.path.rglob("*"):
        if file.is_file():
            content = file.read_bytes()
            assert not any(k in content for k in kek_bytes), file


def test_dr_commands_through_the_cli(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    assert runner.invoke(app, ["materialize", "+sales.daily_sales", *root, "--scale", "300"]).exit_code == 0
    status = runner.invoke(app, ["dr", "status", *root, "--json"])
    assert status.exit_code == 0 and json.loads(status.stdout)["ready"] is True
    denied = runner.invoke(app, ["dr", "failover", "--to", "us-west", *root, "--as", "analyst@acme.example"])
    assert denied.exit_code == 1 and "operate_dr" in denied.stderr
    switched = runner.invoke(app, ["dr", "failover", "--to", "us-west", *root, "--as", OPERATOR, "--json"])
    assert switched.exit_code == 0, switched.stderr
    assert json.loads(switched.stdout)["to"] == "us-west" and json.loads(switched.stdout)["rto_seconds"] > 0
    unknown = runner.invoke(app, ["dr", "failover", "--to", "eu-central", *root, "--as", OPERATOR])
    assert unknown.exit_code == 1 and "'eu-central' is not a region" in unknown.stderr
    back = runner.invoke(app, ["dr", "failback", *root, "--as", OPERATOR])
    assert back.exit_code == 0 and "active region is now us-east" in back.stdout
    made = runner.invoke(app, ["dr", "backup", *root, "--as", OPERATOR])
    assert made.exit_code == 0 and "backup written" in made.stdout
    restored = runner.invoke(app, ["dr", "restore", *root, "--as", OPERATOR])
    assert restored.exit_code == 0, restored.stderr
    assert "verified" in restored.stdout
    policy = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").unlink()  # the council's file is lost: it comes back from the backup
    again = runner.invoke(app, ["dr", "restore", *root, "--as", OPERATOR])
    assert again.exit_code == 0, again.stderr
    assert "restored" in again.stdout and (example_root / "mesh.toml").read_text() == policy


def test_the_drill_command_reports_rto_and_rpo(example_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        report = drill(load_mesh(example_root), params=SMALL)
    took = time.perf_counter() - clock
    assert report.ok, report.to_dict()
    # the copy signs its own audit log (the original's pin is not its key), and a deprecated asset
    # run twice (before the loss and after) is warned of once
    assert "not signed" not in caplog.text and caplog.text.count("is deprecated") == 1
    assert 0 < report.rto_seconds < took and report.rpo_versions == 0 and report.verified_versions == report.published_versions
    assert not report.workdir.exists()  # the throwaway copy is gone
    assert not (example_root / ".mesh" / "regions").exists()  # the real mesh was never touched
    lagging = CliRunner().invoke(app, ["dr", "drill", "--root", str(example_root), "--scale", "300", "--lag", "2",
                                       "--json"])
    assert lagging.exit_code == 0, lagging.stdout + lagging.stderr
    measured = json.loads(lagging.stdout)
    assert measured["rpo_versions"] == 2 and measured["rpo_seconds"] > 0 and measured["lost_beyond_rpo"] == []
    assert measured["verified_versions"] == measured["published_versions"] - 2 and measured["rematerialized"]
    drills = governed(load_mesh(example_root)).audit.query(action="dr_drill")  # evidence: compliance report, dashboard
    assert [(r.outcome, r.details["rpo_versions"]) for r in drills] == [("ok", 0), ("ok", 2)]
    assert drills[0].details["rto_seconds"] == round(report.rto_seconds, 3)


def test_a_backup_needs_operate_dr_and_a_refusal_writes_nothing(example_mesh: Mesh, tmp_path: Path) -> None:
    """A backup carries the wrapped keys and the audit log: it was written for anyone, audited
    under the made-up name "operator"."""
    with pytest.raises(PermissionDeniedError, match="operate_dr"):
        backup(example_mesh, tmp_path / "out" / "taken", actor=person("analyst@acme.example"))
    assert not (tmp_path / "out").exists()
    made = backup(example_mesh, tmp_path / "out" / "kept", actor=PLATFORM)
    denied, written = governed(example_mesh).audit.query(action="dr_backup")
    assert denied.actor == "analyst@acme.example" and denied.outcome == "denied"
    assert written.actor == OPERATOR and written.outcome == "written" and written.target == str(made.path)
    assert written.details["identity"] == PLATFORM.method


def test_restore_brings_back_a_tokenization_key_that_differs_from_the_backup(example_mesh: Mesh) -> None:
    assert materialize("+customers.customers", mesh=example_mesh, params=SMALL).ok
    keyring = governed(example_mesh).keyring
    original = keyring.tokenization_key("pii")
    written = backup(example_mesh, actor=PLATFORM)
    key_file = keyring.folder / "tokenize-pii.json"
    key_file.write_text(json.dumps(keyring.provider.wrap(bytes(64), b"tokenize:pii").to_dict()))  # a stranger key
    report = restore(example_mesh, written.path, actor=PLATFORM)
    assert any(line.startswith("keys/data/tokenize-pii.json") for line in report.restored), report
    assert keyring.tokenization_key("pii") == original
    evidence = list(keyring.folder.glob("tokenize-pii.json.before-restore-*"))
    assert len(evidence) == 1 and json.loads(evidence[0].read_text())["ciphertext"] != json.loads(
        key_file.read_text())["ciphertext"]
    again = restore(example_mesh, written.path, actor=PLATFORM)  # the same key: nothing to bring back
    assert not any(line.startswith("keys/") for line in again.restored)


def test_a_lost_tokenization_key_comes_back_from_the_backup_and_tokens_join_again(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    assert runner.invoke(app, ["materialize", "customers.customers", *root, "--scale", "300"]).exit_code == 0
    assert runner.invoke(app, ["dr", "backup", *root, "--as", OPERATOR]).exit_code == 0
    key_file = example_root / ".mesh" / "keys" / "data" / "tokenize-pii.json"
    key_file.unlink()
    lost = runner.invoke(app, ["materialize", "customers.customers", *root, "--scale", "300"])
    assert lost.exit_code != 0 and "mesh dr restore" in " ".join(lost.output.split())
    assert not key_file.exists(), "no new key: the next restore must see the file is missing"
    restored = runner.invoke(app, ["dr", "restore", *root, "--as", OPERATOR])
    assert restored.exit_code == 0 and "keys/data/tokenize-pii.json" in restored.stdout, restored.output
    assert runner.invoke(app, ["materialize", "customers.customers", *root, "--scale", "300"]).exit_code == 0
    store = load_mesh(example_root, domains=()).store()
    first, last = (store.scan("customers.customers", v).select("customer_id", "email").collect()
                   for v in (store.versions("customers.customers")[0], store.versions("customers.customers")[-1]))
    assert first.equals(last), "the same customers get the same tokens as before the key was lost"


_BACKUP_ON_A_FULL_DISK = """
import resource, sys
from pathlib import Path
from governance.dr import BackupError, backup
from governance.identity import Actor
from governance.services import governed
from governance.wiring import load_mesh
mesh = load_mesh(Path(sys.argv[1]))
governed(mesh).keyring  # opened before the disk fills
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))  # mesh.toml no longer fits: EFBIG
try:
    backup(mesh, actor=Actor(id="platform@acme.example", method="ed25519", evidence="test key"))
except BackupError as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_backup_on_a_full_disk_is_one_error_and_leaves_nothing_half_written(example_mesh: Mesh) -> None:
    """A write that fails (a full disk, here a file-size limit: Python ignores SIGXFSZ, so the
    write fails with EFBIG) is a BackupError naming the folder and the fix; no partial folder
    is left and the earlier backup still verifies."""
    assert materialize("customers.customers", mesh=example_mesh, params=SMALL).ok
    earlier = backup(example_mesh, actor=PLATFORM)
    done = subprocess.run([sys.executable, "-c", _BACKUP_ON_A_FULL_DISK, str(example_mesh.root)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stderr
    assert "the backup could not be written: the file is past the process's size limit (EFBIG: File too large)" \
        in done.stdout and "Fix: free space" in done.stdout, done.stdout
    assert str(example_mesh.state_dir / "backups") in done.stdout and "Traceback" not in done.stderr
    assert [p.name for p in (example_mesh.state_dir / "backups").iterdir()] == [earlier.path.name]
    verify_backup(example_mesh.state_dir, earlier.path)
    assert governed(example_mesh).audit.verify().ok


_RESTORE_ON_A_FULL_DISK = """
import resource, sys
from pathlib import Path
from governance.dr import BackupError, restore
from governance.services import governed
from governance.wiring import load_mesh
from tests.conftest import person
mesh = load_mesh(Path(sys.argv[1]))
governed(mesh).keyring  # opened before the disk fills
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))  # the audit log's copy no longer fits
try:
    restore(mesh, Path(sys.argv[2]), actor=person("platform@acme.example"))
except BackupError as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_restore_on_a_full_disk_leaves_the_audit_folder_as_it_was_and_runs_again(example_mesh: Mesh) -> None:
    """The audit log is copied beside the current one before they are swapped, so a copy cut
    short by a full disk (here a file-size limit) leaves the log as it was, not half a log with
    an empty public key; the error names the backup and the fix, and the next restore completes."""
    assert materialize("customers.customers", mesh=example_mesh, params=SMALL).ok
    written = backup(example_mesh, actor=PLATFORM)
    folder = example_mesh.state_dir / "audit"
    log_file = folder / "audit.jsonl"
    log_file.write_bytes(log_file.read_bytes().replace(b'"materialized"', b'"gate_failed"', 1))
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    done = subprocess.run([sys.executable, "-c", _RESTORE_ON_A_FULL_DISK, str(example_mesh.root), str(written.path)],
                          capture_output=True, text=True, timeout=120, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 3, done.stderr
    assert f"{written.path}: the restore stopped" in done.stdout and "run `mesh dr restore` again" in done.stdout
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before, "the log as it was"
    assert sorted(p.name for p in example_mesh.state_dir.iterdir() if "audit" in p.name) == ["audit"]
    report = restore(example_mesh, written.path, actor=PLATFORM)
    assert any(line.startswith("audit log") for line in report.restored) and not report.problems
    assert governed(load_mesh(example_mesh.root)).audit.verify().ok


def test_a_backup_that_fills_the_disk_while_copying_manifests_says_so_and_publishes_nothing(example_root: Path) -> None:
    """On a real full disk (a small tmpfs over .mesh/backups) that fills while the regions'
    manifests are copied: the error says the disk is full (ENOSPC), names the file and says to
    free space, exit 1 without a traceback; no region is reported unreachable, nothing of the
    backup is left and the earlier backup still verifies."""
    mesh = load_mesh(example_root)
    assert materialize("+finance.revenue", mesh=mesh, params=SMALL).ok
    earlier = backup(mesh, actor=PLATFORM)
    folder = mesh.state_dir / "backups"
    # a page a file: everything but the manifests fits (the audit log's copy, the index), they do not
    room = written_files(earlier.path, ".") - written_files(earlier.path, "manifests") + 4
    assert written_files(earlier.path, "manifests") > 2 * 4
    done = run_on_a_full_disk(folder, [*MESH, "dr", "backup", "--root", str(example_root), "--as", OPERATOR],
                              free_pages=room)
    assert done.returncode == 1 and "Traceback" not in done.output, done.output
    assert "the disk is full (ENOSPC: No space left on device) writing " + str(folder) in done.output, done.output
    assert "/manifests/" in done.output and "nothing of it was kept" in done.output
    assert f"Fix: free space on the disk that holds {folder}" in done.output and "unreachable" not in done.output
    assert sorted(p.name for p in folder.iterdir()) == [earlier.path.name]
    verify_backup(mesh.state_dir, earlier.path)


def written_files(folder: Path, under: str) -> int:
    return sum(1 for p in (folder / under).rglob("*") if p.is_file())


def test_status_reports_a_standby_whose_current_differs_from_the_active_regions_as_diverged(example_root: Path) -> None:
    """A standby that holds every version but whose CURRENT was moved by hand was reported in
    sync: it is diverged, with both versions and the fix, until `mesh dr replicate` mirrors it."""
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    second = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None and second is not None
    mesh.store("us-west").set_current("sales.products", first.version, allow_backward=True)  # a manual change
    [lag] = [a for a in dr_status(mesh).assets if a.key == "sales.products"]
    assert (lag.state, lag.current, lag.standby_current) == ("diverged", second.version, first.version)
    assert "`mesh dr replicate` points the standby back at " + second.version in lag.detail
    assert f"mesh rollback sales.products --to {first.version}" in lag.detail
    assert not dr_status(mesh).ready
    shown = CliRunner().invoke(app, ["dr", "status", "--root", str(example_root)], terminal_width=400)
    assert f"diverged sales.products: the standby 'us-west' serves {first.version}, the active region 'us-east' " \
           f"serves {second.version}" in " ".join(shown.stdout.split()), shown.stdout
    assert CliRunner().invoke(app, ["dr", "replicate", "--root", str(example_root)]).exit_code == 0
    [lag] = [a for a in dr_status(load_mesh(example_root)).assets if a.key == "sales.products"]
    assert (lag.state, lag.standby_current) == ("in sync", second.version)


def test_failover_and_failback_count_every_asset_checked_partitioned_ones_too(
        materialized_example: tuple[Mesh, object], tmp_path: Path) -> None:
    """"16 assets verified" on the 18-asset example: the 2 partitioned assets were checked for
    losses, partition by partition, but not counted. Every asset is counted now, and the
    partitions, so the numbers add up to the mesh's assets."""
    root = tmp_path / "mesh"
    shutil.copytree(materialized_example[0].root, root, symlinks=True)
    mesh = load_mesh(root)
    partitioned = [k for k in mesh.graph if mesh.graph[k].spec.partitions is not None]
    partitions = sum(len(mesh.store().partitions(k)) for k in partitioned)
    assert len(mesh.graph) == 18 and len(partitioned) == 2 and partitions > 0
    expected = f"18 assets checked: 18 verified (2 partitioned, {partitions} partitions verified one by one)"
    for command in (["failover", "--to", "us-west"], ["failback"]):
        done = CliRunner().invoke(app, ["dr", *command, "--root", str(root), "--as", OPERATOR], terminal_width=400)
        assert done.exit_code == 0, done.stdout + done.stderr
        assert expected in " ".join(done.stdout.split()), done.stdout
    switched = governed(load_mesh(root)).audit.query(action="failover")[-1]
    assert switched.details["checked"] == {"assets": 18, "verified": 18, "partitioned": 2, "partitions": partitions,
                                           "excluded": 0, "empty": 0}


def test_a_failover_stopped_by_a_full_disk_moves_no_pointer_and_runs_again(example_root: Path) -> None:
    """On a real full disk (the standby's folder on a small tmpfs) with room for one new CURRENT
    of the several the failover must write (the standby holds the versions, its pointers were
    never mirrored): some pointers moved and the active region stayed. Now every new pointer is
    written aside first, so none moves; the error says the disk is full, names the file and the
    fix, and the same command completes once there is room."""
    mesh = load_mesh(example_root)
    result = materialize("+finance.revenue", mesh=mesh, params=SMALL)
    assert result.ok and len(result.results) >= 3
    west = Path(mesh.store("us-west").root.root)
    pointers = sorted(west.rglob("CURRENT"))
    assert len(pointers) == len(result.results)
    for pointer in pointers:  # a replication cut before it mirrored CURRENT
        pointer.unlink()
    command = [*MESH, "dr", "failover", "--to", "us-west", "--root", str(example_root), "--as", OPERATOR]
    done = run_on_a_full_disk(west, command, free_pages=1)
    assert done.returncode == 1 and "Traceback" not in done.output, done.output
    assert "the switch to 'us-west' stopped: the disk is full (ENOSPC: No space left on device)" in done.output
    assert f"{west}/" in done.output and "/CURRENT" in done.output, done.output
    assert "the active region is still 'us-east'" in done.output, done.output
    assert f"Fix: free space on the disk that holds {west}/" in done.output, done.output
    assert "(df), then run `mesh dr failover --to us-west` again" in done.output, done.output
    assert sorted(west.rglob("CURRENT")) == [] and not list(west.rglob(".CURRENT.*.tmp")), "no pointer moved"
    after = load_mesh(example_root)
    assert after.active_region == "us-east"
    assert [r.outcome for r in governed(after).audit.query(action="failover")] == ["failed"]
    report = failover(after, "us-west", governed(after).audit, actor=PLATFORM)
    assert after.active_region == "us-west" and sorted(west.rglob("CURRENT")) == pointers
    assert report.checked.verified == report.checked.assets - report.checked.empty


def test_a_failover_whose_region_switch_finds_the_disk_full_puts_the_moved_pointers_back(example_root: Path) -> None:
    """Every pointer moved, then the switch itself (.mesh/state/active_region.json, on a real
    full disk) cannot be written: the moved pointers are put back, the active region stays."""
    mesh = load_mesh(example_root)
    assert materialize("+finance.revenue", mesh=mesh, params=SMALL).ok
    west = Path(mesh.store("us-west").root.root)
    for pointer in west.rglob("CURRENT"):
        pointer.unlink()
    state = mesh.state_dir / "state"
    done = run_on_a_full_disk(state, [*MESH, "dr", "failover", "--to", "us-west", "--root", str(example_root),
                                      "--as", OPERATOR], free_pages=0)
    assert done.returncode == 1 and "Traceback" not in done.output, done.output
    assert f"{state / 'active_region.json'}: the switch to 'us-west' stopped: the disk is full" in done.output
    assert f"Fix: free space on the disk that holds {state} (df)" in done.output, done.output
    assert sorted(west.rglob("CURRENT")) == [] and load_mesh(example_root).active_region == "us-east"


def test_a_backup_holds_the_councils_approvals_and_restore_brings_them_back(example_root: Path) -> None:
    """Without mesh.approvals.jsonl a mesh the council approved does not load; a backup holds it."""
    from governance.council import APPROVALS_FILE

    runner = CliRunner()
    root = ["--root", str(example_root)]
    approvals = (example_root / APPROVALS_FILE).read_bytes()
    made = runner.invoke(app, ["dr", "backup", *root, "--as", OPERATOR, "--json"])
    assert made.exit_code == 0, made.stderr
    backup_dir = Path(json.loads(made.stdout)["path"])
    assert (backup_dir / APPROVALS_FILE).read_bytes() == approvals
    assert APPROVALS_FILE in json.loads((backup_dir / "index.json").read_text())["files"]  # signed with the rest
    (example_root / APPROVALS_FILE).unlink()  # lost: the mesh no longer loads ...
    assert runner.invoke(app, ["check", *root]).exit_code == 1
    back = runner.invoke(app, ["dr", "restore", *root, "--as", OPERATOR])
    assert back.exit_code == 0, back.stderr
    assert f"restored {example_root / APPROVALS_FILE}" in back.stdout.replace("\n", "")
    assert (example_root / APPROVALS_FILE).read_bytes() == approvals
    (example_root / "mesh.toml").unlink()  # both lost: both come back before the mesh loads
    (example_root / APPROVALS_FILE).unlink()
    again = runner.invoke(app, ["dr", "restore", *root, "--as", OPERATOR])
    assert again.exit_code == 0, again.stderr
    assert (example_root / APPROVALS_FILE).read_bytes() == approvals


def test_a_restore_does_not_read_a_data_file_that_is_a_fifo(example_mesh: Mesh) -> None:
    """A manifest is restored only over data that matches it; a FIFO in the data's place is
    reported, never waited on (it would block its reader for ever)."""
    manifest = materialize("sales.products", mesh=example_mesh)["sales.products"].manifest
    assert manifest is not None
    east = example_mesh.store("us-east")
    data = Path(east.data_path("sales.products", manifest.version))
    written = backup(example_mesh, actor=PLATFORM)
    data.with_name("manifest.json").unlink()
    data.unlink()
    os.mkfifo(data)
    done = subprocess.run([sys.executable, "-c", _RESTORE, str(example_mesh.root), str(written.path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"us-east:sales/products/{manifest.version}/manifest.json: data is a FIFO, not a regular file; " \
           "not restored" in done.stdout


_RESTORE = """
import sys
from pathlib import Path
from governance.dr import restore
from governance.wiring import load_mesh
from tests.conftest import person
report = restore(load_mesh(Path(sys.argv[1])), Path(sys.argv[2]), actor=person("platform@acme.example"))
print("\\n".join(report.problems))
"""
