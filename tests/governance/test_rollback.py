"""Rollback: the one way CURRENT goes back, explicit, permitted and audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import materialize
from assets.errors import StorageError
from governance.identity.authorization import PermissionDeniedError
from governance.rollback import rollback
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.assets.test_verified_reads import flip_a_byte
from tests.conftest import person

OWNER = "sales-data@acme.example"


def test_an_owner_rolls_back_an_asset_and_it_is_audited(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    second = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None and second is not None
    audit = governed(mesh).audit
    with pytest.raises(PermissionDeniedError):
        rollback(mesh, "sales.products", first.version, audit, actor=person("analyst@acme.example"))
    report = rollback(mesh, "sales.products", first.version, audit, actor=person(OWNER))
    assert report.previous == second.version and report.version == first.version
    assert mesh.store().current_version("sales.products") == first.version
    assert mesh.standby_region is not None and report.mirrored is not None and report.not_mirrored is None
    assert mesh.store(mesh.standby_region).current_version("sales.products") == first.version, \
        "the operation mirrors the standby, whoever calls it (the CLI, the self-healing runbook)"
    [event] = [e for e in audit.query(action="rollback") if e.outcome == "rolled back"]
    assert event.actor == OWNER and event.details["from"] == second.version and event.details["to"] == first.version
    third = materialize("sales.products", mesh=mesh)["sales.products"].manifest  # publishing moves it forward again
    assert third is not None and mesh.store().current_version("sales.products") == third.version


def test_a_rollback_to_a_corrupt_version_is_refused(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None and materialize("sales.products", mesh=mesh).ok
    flip_a_byte(Path(mesh.store().data_path("sales.products", first.version)))
    with pytest.raises(StorageError, match="does not match its manifest"):
        rollback(mesh, "sales.products", first.version, governed(mesh).audit, actor=person(OWNER))
    assert mesh.store().current_version("sales.products") != first.version


def test_mesh_rollback_command(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None and materialize("sales.products", mesh=mesh).ok
    done = CliRunner().invoke(app, ["rollback", "sales.products", "--to", first.version, "--as", OWNER,
                                    "--root", str(example_root)])
    assert done.exit_code == 0, done.stderr
    assert f"sales.products is now at {first.version}" in done.stdout
    mesh = load_mesh(example_root)
    assert mesh.store().current_version("sales.products") == first.version
    assert mesh.standby_region is not None
    assert mesh.store(mesh.standby_region).current_version("sales.products") == first.version, \
        "the standby serves the version rolled back to, so a failover does not undo the rollback"


def test_without_a_version_the_newest_older_version_that_verifies_is_chosen(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first, second, _third = (materialize("sales.products", mesh=mesh)["sales.products"].manifest for _ in range(3))
    assert first is not None and second is not None
    flip_a_byte(Path(mesh.store().data_path("sales.products", second.version)))
    report = rollback(mesh, "sales.products", None, governed(mesh).audit, actor=person(OWNER))
    assert report.version == first.version, "the corrupt second version is passed over"
    assert mesh.store().current_version("sales.products") == first.version


def test_the_refusal_of_a_corrupt_version_names_its_file_and_the_version_to_choose(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first, second, _third = (materialize("sales.products", mesh=mesh)["sales.products"].manifest for _ in range(3))
    assert first is not None and second is not None
    data = Path(mesh.store().data_path("sales.products", second.version))
    flip_a_byte(data)
    done = CliRunner().invoke(app, ["rollback", "sales.products", "--to", second.version, "--as", OWNER,
                                    "--root", str(example_root)])
    assert done.exit_code == 1
    message = " ".join(done.stderr.split())
    assert "does not match its manifest's checksum" in message and str(data) in message
    assert f"--to {first.version}" in message
    assert "Traceback" not in done.output


def test_a_partition_rolls_back_on_its_own_audited_and_refuses_a_corrupt_version(example_root: Path) -> None:
    from assets.backfill import backfill

    mesh = load_mesh(example_root)
    days = ["2026-11-16", "2026-11-17"]
    for seed in (1, 2):
        assert backfill("sales.daily_orders", mesh=mesh, first=days[0], last=days[1], params={"seed": seed},
                        resume=False).ok
    store, audit = mesh.store(), governed(mesh).audit
    older, newer = store.versions("sales.daily_orders", days[0])
    other = store.current_version("sales.daily_orders", days[1])
    with pytest.raises(StorageError, match="is partitioned"):
        rollback(mesh, "sales.daily_orders", None, audit, actor=person(OWNER))
    with pytest.raises(StorageError, match="no published partition '2030-01-01'"):
        rollback(mesh, "sales.daily_orders", None, audit, actor=person(OWNER), partition="2030-01-01")

    report = rollback(mesh, "sales.daily_orders", None, audit, actor=person(OWNER), partition=days[0])
    assert (report.previous, report.version, report.partition) == (newer, older, days[0])
    assert store.current_version("sales.daily_orders", days[0]) == older
    assert store.current_version("sales.daily_orders", days[1]) == other  # the other day did not move
    [event] = [e for e in audit.query(action="rollback") if e.outcome == "rolled back"]
    assert event.details["partition"] == days[0] and event.details["to"] == older

    flip_a_byte(Path(store.data_path("sales.daily_orders", store.versions("sales.daily_orders", days[1])[0], days[1])))
    done = CliRunner().invoke(app, ["rollback", "sales.daily_orders", "--partition", days[1], "--as", OWNER,
                                    "--root", str(example_root)])
    assert done.exit_code != 0 and "no version older" in done.stdout + done.stderr
    assert store.current_version("sales.daily_orders", days[1]) == other


def test_ops_status_of_partitions_shows_a_rolled_back_partition_s_current_version(example_root: Path) -> None:
    from assets.backfill import backfill
    from governance.ops.monitor import mesh_view
    from governance.ops.partitions import partition_statuses

    mesh = load_mesh(example_root)
    day = "2026-11-16"
    for seed in (1, 2):
        assert backfill("sales.daily_orders", mesh=mesh, first=day, last=day, params={"seed": seed}, resume=False).ok
    store = mesh.store()
    older, newer = store.versions("sales.daily_orders", day)
    rollback(mesh, "sales.daily_orders", older, governed(mesh).audit, actor=person(OWNER), partition=day)
    records = mesh_view(mesh).records
    [from_runs] = partition_statuses(records, ["sales.daily_orders"])
    [stored] = partition_statuses(records, ["sales.daily_orders"], store)
    assert (from_runs.version, stored.version) == (newer, older), "the runs' last publish, then what is current"
    made = store.manifest("sales.daily_orders", older, day).produced_at
    assert stored.published_at == dt.datetime.fromisoformat(made) and stored.status == "materialized"
