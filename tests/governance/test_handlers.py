"""Update handlers: the engine dispatches each publish to them, as the governance DAGs do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from assets import Mesh, Status, materialize
from assets.events import AssetUpdate, dispatch
from governance.handlers import HistoryHandler
from governance.services import governed
from meshctl.cli import app


def test_the_engine_records_every_publish_in_the_run_history(example_mesh: Mesh) -> None:
    result = materialize("+finance.revenue", mesh=example_mesh, params={"scale": 300})
    history = governed(example_mesh).history
    for key, r in result.results.items():
        assert [h.kind for h in r.handlers] == [h.kind for h in list(example_mesh.services.handlers)]
        assert {"policy", "history", "replication"} <= {h.kind for h in r.handlers} and all(h.ok for h in r.handlers)
        rows = history.for_asset(key)
        assert len(rows) == 1 and rows[0]["version"] == r.manifest.version  # type: ignore[union-attr]
        assert rows[0]["source"] == "engine" and rows[0]["summary"]["checksum"] == r.manifest.checksum  # type: ignore[union-attr]


def test_a_replayed_update_changes_nothing(example_mesh: Mesh) -> None:
    result = materialize("sales.orders", mesh=example_mesh, params={"scale": 50})
    update = AssetUpdate.from_manifest(result["sales.orders"].manifest, "airflow")  # type: ignore[arg-type]
    outcomes = {o.kind: o for o in dispatch(list(example_mesh.services.handlers), update)}
    assert all(o.ok for o in outcomes.values()), outcomes
    assert outcomes["history"].message.startswith("already recorded")
    assert "0 copied, 0 repaired, 1 already there" in outcomes["replication"].message
    assert len(governed(example_mesh).history.for_asset("sales.orders")) == 1


class Exploding:
    kind: ClassVar[str] = "exploding"

    def handle(self, update: AssetUpdate) -> str:
        raise ConnectionError(f"lineage backend down for {update.key}")


def test_a_failing_handler_is_reported_and_does_not_unpublish(example_mesh: Mesh) -> None:
    handlers = [Exploding(), HistoryHandler(governed(example_mesh).history)]
    result = materialize("sales.products", mesh=example_mesh, handlers=handlers)
    r = result["sales.products"]
    assert r.status is Status.MATERIALIZED
    assert [(h.kind, h.ok) for h in r.handlers] == [("exploding", False), ("history", True)]
    assert "ConnectionError: lineage backend down for sales.products" in r.handlers[0].message


def test_an_update_survives_the_trip_through_an_airflow_event_extra(example_mesh: Mesh) -> None:
    result = materialize("sales.products", mesh=example_mesh)
    update = AssetUpdate.from_manifest(result["sales.products"].manifest, "engine")  # type: ignore[arg-type]
    back = AssetUpdate.from_extra(json.loads(json.dumps(update.to_extra())))
    assert (back.key, back.version, back.run_id, dict(back.summary)) == (
        update.key, update.version, update.run_id, dict(update.summary))
    with pytest.raises(ValueError, match="not emitted by a mesh task"):
        AssetUpdate.from_extra({"version": "x"})


def test_mesh_history_prints_the_updates(example_root: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["materialize", "sales.products", "--root", str(example_root)])
    runner.invoke(app, ["materialize", "sales.products", "--root", str(example_root)])
    result = runner.invoke(app, ["history", "sales.products", "--json", "--root", str(example_root)])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and rows[0]["version"] > rows[1]["version"] and rows[0]["rows"] == 500
    missing = runner.invoke(app, ["history", "sales.product", "--root", str(example_root)])
    assert missing.exit_code == 1 and "Did you mean 'sales.products'" in missing.stderr


def test_the_policy_handler_catches_tampered_data_and_audits_it(example_mesh: Mesh) -> None:
    result = materialize("customers.customers", mesh=example_mesh, params={"scale": 50})
    manifest = result["customers.customers"].manifest
    assert manifest is not None
    checks = governed(example_mesh).audit.query(action="policy_check")
    assert [(c.target, c.outcome) for c in checks] == [("customers.customers", "passed")]
    data = Path(example_mesh.store().data_path(manifest.key, manifest.version))
    data.write_bytes(data.read_bytes()[:-10] + b"0123456789")
    policy = dispatch(list(example_mesh.services.handlers), AssetUpdate.from_manifest(manifest, "airflow"))[0]
    assert not policy.ok and "does not match the manifest checksum" in policy.message
    assert governed(example_mesh).audit.query(action="policy_check")[-1].outcome == "violated"


def test_mesh_history_of_a_partitioned_asset_names_each_partition_and_filters_one(example_root: Path) -> None:
    from assets.backfill import backfill
    from governance.wiring import load_mesh

    mesh = load_mesh(example_root)
    assert backfill("sales.daily_orders", mesh=mesh, first="2026-11-16", last="2026-11-18").ok
    runner, root = CliRunner(), ["--root", str(example_root)]
    every = json.loads(runner.invoke(app, ["history", "sales.daily_orders", "--json", *root]).stdout)
    assert sorted(r["partition"] for r in every) == ["2026-11-16", "2026-11-17", "2026-11-18"]
    one = runner.invoke(app, ["history", "sales.daily_orders", "--partition", "2026-11-17", "--json", *root])
    assert one.exit_code == 0, one.stderr
    [row] = json.loads(one.stdout)
    assert row["partition"] == "2026-11-17"
    assert row["version"] == mesh.store().current_version("sales.daily_orders", "2026-11-17")
    table = runner.invoke(app, ["history", "sales.daily_orders", *root])
    assert "partition" in table.stdout and "2026-11-16" in table.stdout
    bad = runner.invoke(app, ["history", "sales.daily_orders", "--partition", "16/11/2026", *root])
    assert bad.exit_code != 0 and "Traceback" not in bad.stdout + bad.stderr
    unpartitioned = runner.invoke(app, ["history", "sales.products", "--partition", "2026-11-16", *root])
    assert unpartitioned.exit_code != 0 and "not partitioned" in unpartitioned.stdout + unpartitioned.stderr
