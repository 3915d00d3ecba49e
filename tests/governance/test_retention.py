"""Retention removes old versions (never a current one), audited; residency is enforced where
data is written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import Mesh, Status, materialize
from governance.retention import ResidencyError, apply_retention
from governance.services import governed
from meshctl.cli import app


def age(mesh: Mesh, key: str, version: str, days: int) -> None:
    domain, name = key.split(".")
    path = Path(mesh.store().root.path(domain, name, version, "manifest.json"))
    data = json.loads(path.read_text())
    data["produced_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    path.write_text(json.dumps(data))


def test_retention_removes_only_expired_non_current_versions(example_mesh: Mesh) -> None:
    for _ in range(3):
        materialize("sales.products", mesh=example_mesh)
    store = example_mesh.store()
    oldest, middle, current = store.versions("sales.products")
    for version in (oldest, current):
        age(example_mesh, "sales.products", version, days=3000)
    audit = governed(example_mesh).audit
    assert [r.version for r in apply_retention(example_mesh, audit, dry_run=True)] == [oldest]
    assert store.versions("sales.products") == [oldest, middle, current]
    removed = apply_retention(example_mesh, audit)
    assert [r.version for r in removed] == [oldest]
    assert store.versions("sales.products") == [middle, current]
    assert store.current_version("sales.products") == current
    [record] = audit.query(action="retention_remove")
    assert record.target == "sales.products" and record.details["version"] == oldest
    with pytest.raises(Exception, match="is current and cannot be removed"):
        store.remove_version("sales.products", current)


def test_retention_cli(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    runner.invoke(app, ["materialize", "sales.products", *root])
    done = runner.invoke(app, ["retention", "apply", "--json", *root])
    assert done.exit_code == 0 and json.loads(done.stdout) == []


def test_residency_is_enforced_where_data_is_written(example_mesh: Mesh) -> None:
    policy = example_mesh.policy
    eu_only = dataclasses.replace(policy.domains["marketing"], residency=("eu",))
    moved = dataclasses.replace(example_mesh, policy=dataclasses.replace(
        policy, domains={**policy.domains, "marketing": eu_only}))
    result = materialize("marketing.campaigns", mesh=moved)["marketing.campaigns"]
    assert result.status is Status.ERROR
    assert "may not be stored in region 'us-east' (us)" in (result.error or "")
    assert moved.store().current("marketing.campaigns") is None
    with pytest.raises(ResidencyError):
        moved.store("us-west").admit("marketing.campaigns", None)  # type: ignore[misc]


def test_retention_removes_each_partitions_expired_versions_never_a_current_one(example_mesh: Mesh) -> None:
    from assets.backfill import backfill

    days = ["2026-11-16", "2026-11-17"]
    for seed in (1, 2, 3):  # three versions of each day
        assert backfill("sales.daily_orders", mesh=example_mesh, first=days[0], last=days[1],
                        params={"seed": seed}, resume=False).ok
    store = example_mesh.store()
    versions = {d: store.versions("sales.daily_orders", d) for d in days}
    assert all(len(v) == 3 for v in versions.values())
    audit = governed(example_mesh).audit
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3000)
    removed = apply_retention(example_mesh, audit, now=later)
    mine = [r for r in removed if r.key == "sales.daily_orders" and r.region == example_mesh.active_region]
    assert sorted((r.partition, r.version) for r in mine) == sorted((d, v) for d in days for v in versions[d][:2])
    for d in days:
        assert store.versions("sales.daily_orders", d) == [versions[d][2]]
        assert store.current_version("sales.daily_orders", d) == versions[d][2]
    records = [r for r in audit.query(action="retention_remove") if r.target == "sales.daily_orders"]
    assert {r.details["partition"] for r in records} == set(days)


def test_retention_expires_an_archived_partitioned_asset(example_mesh: Mesh) -> None:
    from assets.backfill import backfill

    assert backfill("sales.daily_orders", mesh=example_mesh, first="2026-11-16", last="2026-11-16").ok
    root = example_mesh.store().root
    archived = Path(root.path("_archive", "sales-20261127T000000Z"))
    archived.mkdir(parents=True)
    Path(root.path("sales", "daily_orders")).rename(archived / "daily_orders")  # as retiring the domain moves it
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3000)
    audit = governed(example_mesh).audit
    removed = [r for r in apply_retention(example_mesh, audit, now=later) if r.key == "sales.daily_orders"]
    assert [(r.partition, r.region) for r in removed] == [("2026-11-16", example_mesh.active_region)]
    assert not list((archived / "daily_orders" / "2026-11-16").glob("2*"))
