"""Staleness (code, contract or an input changed since the current version was made) and
skip-unchanged (an identical output publishes nothing, and nothing downstream runs for it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from assets import Status, materialize
from assets.events import AssetUpdate
from assets.staleness import staleness
from assets.storage import Manifest
from governance.runs.records import run_records
from governance.services import governed
from governance.wiring import domain_mesh, load_mesh
from meshctl.cli import app

SMALL = {"scale": 300, "seed": 3}
CHAIN = "+sales.daily_sales"  # sales.orders -> sales.daily_sales, nothing below it


class Recorder:
    """An update handler that remembers which updates reached it."""

    kind: ClassVar[str] = "recorder"

    def __init__(self) -> None:
        self.updates: list[AssetUpdate] = []

    def handle(self, update: AssetUpdate) -> str:
        self.updates.append(update)
        return "recorded"


def edit(root: Path, old: str, new: str) -> None:
    path = root / "domains" / "sales" / "assets.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_never_materialized_then_fresh(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert staleness(mesh, "sales.daily_sales").reasons == ("never materialized",)
    assert materialize(CHAIN, mesh=mesh, params=SMALL).ok
    for key in ("sales.orders", "sales.daily_sales"):
        state = staleness(mesh, key)
        assert not state.stale and state.reasons == (), key


def test_changed_code_makes_the_asset_stale_and_nothing_else(example_root: Path) -> None:
    assert materialize(CHAIN, mesh=load_mesh(example_root), params=SMALL).ok
    edit(example_root, '"""Orders, units and gross amount per day and currency."""',
         '"""Orders, units and gross amount per day and currency (edited)."""')
    mesh = load_mesh(example_root)
    assert staleness(mesh, "sales.daily_sales").reasons == ("code changed",)
    assert not staleness(mesh, "sales.orders").stale


def test_a_contract_version_bump_makes_the_asset_stale(example_root: Path) -> None:
    assert materialize(CHAIN, mesh=load_mesh(example_root), params=SMALL).ok
    edit(example_root, 'contract=DailySales, contract_version="1.0.0"', 'contract=DailySales, contract_version="1.1.0"')
    state = staleness(load_mesh(example_root), "sales.daily_sales")
    assert state.stale and state.reasons == ("contract 1.0.0 -> 1.1.0",)


def test_a_new_version_of_an_input_makes_its_reader_stale_not_the_readers_readers(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("+sales.product_performance +sales.daily_sales", mesh=mesh, params=SMALL).ok
    assert materialize("sales.products", mesh=mesh, params={**SMALL, "seed": 4}).ok
    assert staleness(mesh, "sales.product_performance").reasons == ("input sales.products has a newer version",)
    assert not staleness(mesh, "sales.daily_sales").stale
    assert not staleness(mesh, "sales.products").stale


def test_list_shows_what_is_stale_and_why(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize(CHAIN, mesh=mesh, params=SMALL).ok
    assert materialize("sales.orders", mesh=mesh, params={**SMALL, "seed": 4}).ok
    done = CliRunner().invoke(app, ["list", "sales.*", "--json", "--root", str(example_root)])
    assert done.exit_code == 0, done.stderr
    rows = {r["key"]: r for r in json.loads(done.stdout)}
    assert rows["sales.daily_sales"]["stale"] and rows["sales.daily_sales"]["stale_reasons"] == [
        "input sales.orders has a newer version"]
    assert not rows["sales.orders"]["stale"]
    assert rows["sales.products"]["stale_reasons"] == ["never materialized"]
    table = CliRunner().invoke(app, ["list", "+sales.daily_sales", "--root", str(example_root)])
    assert "stale" in table.stdout and "newer version" in table.stdout


def test_materialize_stale_runs_only_the_stale_assets(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("+sales.product_performance +sales.daily_sales", mesh=mesh, params=SMALL).ok
    assert materialize("sales.products", mesh=mesh, params={**SMALL, "seed": 4}).ok
    before = {k: mesh.store().current_version(k) for k in ("sales.orders", "sales.products", "sales.daily_sales")}
    done = CliRunner().invoke(app, ["materialize", "--stale", "+sales.product_performance +sales.daily_sales", "--json",
                                    "--root", str(example_root), "--scale", "300", "--seed", "3"])
    assert done.exit_code == 0, done.stderr
    ran = {a["key"]: a["status"] for a in json.loads(done.stdout)["assets"]}
    assert ran == {"sales.product_performance": "materialized"}
    assert {k: mesh.store().current_version(k) for k in before} == before
    assert not staleness(mesh, "sales.product_performance").stale
    again = CliRunner().invoke(app, ["materialize", "--stale", "+sales.product_performance",
                                     "--root", str(example_root)])
    assert again.exit_code == 0 and "nothing is stale" in again.stdout


def test_an_unchanged_rerun_publishes_nothing_fires_no_handler_and_runs_nothing_downstream(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize(CHAIN, mesh=mesh, params=SMALL)
    assert first.ok
    versions = {k: mesh.store().versions(k) for k in ("sales.orders", "sales.daily_sales")}
    recorder = Recorder()
    again = materialize(CHAIN, mesh=mesh, params=SMALL, handlers=[recorder], skip_unchanged=True)
    assert again.ok
    assert again["sales.orders"].status is Status.UNCHANGED
    assert again["sales.orders"].manifest == first["sales.orders"].manifest
    assert "nothing published" in (again["sales.orders"].note or "")
    assert again["sales.daily_sales"].status is Status.UNCHANGED
    assert "not run" in (again["sales.daily_sales"].note or "")
    assert {k: mesh.store().versions(k) for k in versions} == versions
    assert recorder.updates == []
    records = [r for r in run_records(mesh).for_asset("sales.orders") if r.run_id == again.run_id]
    assert [r.status for r in records] == ["unchanged"]
    assert not [r for r in run_records(mesh).for_asset("sales.daily_sales") if r.run_id == again.run_id]
    confirmed = run_records(mesh).latest().published["sales.orders"]  # freshness counts from the unchanged run
    assert (confirmed.run_id, confirmed.version) == (again.run_id, first["sales.orders"].manifest.version)  # type: ignore[union-attr]
    [audited] = [e for e in governed(mesh).audit.query(action="materialize")
                 if e.details.get("run_id") == again.run_id]
    assert audited.outcome == "unchanged" and audited.details["unchanged"] is True
    assert audited.details["version"] == first["sales.orders"].manifest.version  # type: ignore[union-attr]


def test_a_changed_rerun_publishes_and_runs_downstream(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize(CHAIN, mesh=mesh, params=SMALL).ok
    recorder = Recorder()
    changed = materialize(CHAIN, mesh=mesh, params={**SMALL, "seed": 4}, handlers=[recorder], skip_unchanged=True)
    assert {k: r.status for k, r in changed.results.items()} == {
        "sales.orders": Status.MATERIALIZED, "sales.daily_sales": Status.MATERIALIZED}
    assert sorted(u.key for u in recorder.updates) == ["sales.daily_sales", "sales.orders"]
    assert all(len(mesh.store().versions(k)) == 2 for k in changed.results)


def test_without_skip_unchanged_every_run_publishes(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("sales.orders", mesh=mesh, params=SMALL).ok
    assert materialize("sales.orders", mesh=mesh, params=SMALL)["sales.orders"].status is Status.MATERIALIZED
    assert len(mesh.store().versions("sales.orders")) == 2


def test_encrypted_output_is_compared_before_protection(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("customers.customers", mesh=mesh, params=SMALL)["customers.customers"].manifest
    assert first is not None and first.protection, "customers has protected columns"
    assert first.content_checksum is not None
    again = materialize("customers.customers", mesh=mesh, params=SMALL, skip_unchanged=True)
    assert again["customers.customers"].status is Status.UNCHANGED
    assert mesh.store().versions("customers.customers") == [first.version]


def test_a_code_change_with_the_same_output_publishes_so_the_asset_is_no_longer_stale(example_root: Path) -> None:
    assert materialize(CHAIN, mesh=load_mesh(example_root), params=SMALL).ok
    edit(example_root, '"""Orders, units and gross amount per day and currency."""', '"""Per day and currency."""')
    mesh = load_mesh(example_root)
    again = materialize(CHAIN, mesh=mesh, params=SMALL, skip_unchanged=True)
    assert again["sales.orders"].status is Status.UNCHANGED
    assert again["sales.daily_sales"].status is Status.MATERIALIZED
    assert not staleness(mesh, "sales.daily_sales").stale


def test_a_manifest_without_content_checksum_still_loads() -> None:
    old: dict[str, Any] = {"key": "sales.orders", "version": "v1", "checksum": "sha256:00", "rows": 1, "bytes": 1,
                           "schema": {}, "contract_version": "1.0.0", "code_version": "c", "produced_at": "t",
                           "run_id": "r"}
    assert Manifest.from_json(json.dumps(old)).content_checksum is None


def test_an_unchanged_airflow_task_ends_skipped_and_emits_no_asset_event(example_root: Path) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.exceptions import AirflowSkipException

    from assets.airflow.operators import MaterializeAssetOperator

    assert materialize("sales.products", mesh=load_mesh(example_root), params=SMALL).ok
    asset = Asset(name="sales.products", uri="mesh://acme/sales/products")

    class Outlet:
        extra: dict[str, Any] | None = None

    outlet = Outlet()
    task = MaterializeAssetOperator(task_id="materialize", mesh_root=str(example_root), key="sales.products",
                                    asset=asset, load=domain_mesh, skip_unchanged=True)
    context = {"run_id": "scheduled__1", "params": SMALL, "outlet_events": {asset: outlet}}
    with pytest.raises(AirflowSkipException, match="nothing published"):
        task.execute(context)
    assert outlet.extra is None
    context["params"] = {**SMALL, "seed": 4}
    assert task.execute(context)["version"] == outlet.extra["version"]  # type: ignore[index]


def test_an_unchanged_run_completes_its_lineage_run_naming_the_current_version(
        example_root: Path, validate_openlineage: Callable[[dict[str, Any]], None]) -> None:
    from governance.lineage import run_uuid

    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh, params=SMALL)["sales.products"].manifest
    again = materialize("sales.products", mesh=mesh, params=SMALL, skip_unchanged=True)
    assert first is not None and again["sales.products"].status is Status.UNCHANGED
    lines = (example_root / ".mesh" / "lineage" / "events.jsonl").read_text().splitlines()
    events = [e for e in map(json.loads, lines) if e["run"]["runId"] == run_uuid(again.run_id, "sales.products")]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        validate_openlineage(event)
    assert events[1]["outputs"][0]["facets"]["version"]["datasetVersion"] == first.version


def test_materialize_stale_also_runs_what_a_stale_asset_feeds(example_root: Path) -> None:
    assert materialize(CHAIN, mesh=load_mesh(example_root), params=SMALL).ok
    edit(example_root, '"""Every order placed on the web shop, in the currency it was paid in."""',
         '"""Every order placed on the web shop."""')
    done = CliRunner().invoke(app, ["materialize", "--stale", CHAIN, "--json", "--root", str(example_root),
                                    "--scale", "300", "--seed", "3"])
    assert done.exit_code == 0, done.stderr
    ran = {a["key"]: a["status"] for a in json.loads(done.stdout)["assets"]}
    assert ran == {"sales.orders": "materialized", "sales.daily_sales": "materialized"}
    mesh = load_mesh(example_root)
    assert not staleness(mesh, "sales.orders").stale and not staleness(mesh, "sales.daily_sales").stale


def test_an_asset_declared_skip_unchanged_skips_on_both_runners_without_being_asked(example_root: Path) -> None:
    from assets.airflow.asset_dags import asset_dag
    from governance.compiled import compile_mesh

    edit(example_root, 'schedule="@hourly", visibility="public",',
         'schedule="@hourly", visibility="public", skip_unchanged=True,')
    mesh = load_mesh(example_root)
    assert mesh.graph["sales.orders"].spec.skip_unchanged and not mesh.graph["sales.daily_sales"].spec.skip_unchanged
    assert materialize(CHAIN, mesh=mesh, params=SMALL).ok
    again = materialize(CHAIN, mesh=mesh, params=SMALL)  # not asked: the asset says so
    assert again["sales.orders"].status is Status.UNCHANGED
    assert materialize(CHAIN, mesh=mesh, params=SMALL, skip_unchanged=False)["sales.orders"].status \
        is Status.MATERIALIZED, "a run may still ask for a new version"
    compiled = compile_mesh(example_root)
    assert compiled.assets["sales.orders"].skip_unchanged and not compiled.assets["sales.daily_sales"].skip_unchanged
    for key, skips in (("sales.orders", True), ("sales.daily_sales", False)):
        task = asset_dag(compiled, key, str(example_root), domain_mesh).get_task("materialize")
        assert task.skip_unchanged is skips, key  # type: ignore[attr-defined]
