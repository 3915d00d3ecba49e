"""Contract evolution: a changed contract needs the right semver bump, or nothing is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import Status, materialize
from assets.contract_diff import PartitionsCompared, bump_problem, compare, needed_version
from assets.storage.manifest import Manifest
from governance.wiring import load_mesh
from meshctl.cli import app

CONTRACTS = "domains/marketing/contracts.py"
ASSETS = "domains/marketing/assets.py"


def change(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def bump(root: Path, version: str) -> None:
    change(root, ASSETS, 'contract=Campaigns, contract_version="1.0.0"', f'contract=Campaigns, contract_version="{version}"')


@pytest.mark.parametrize(("edit", "breaking", "expected"), [
    pytest.param(("budget_usd: float = pa.Field(gt=0, le=1_000_000)", "budget_usd: float = pa.Field(gt=0, le=500_000)"),
                 True, "check less_than_or_equal_to tightened", id="tightened-check"),
    pytest.param(("budget_usd: float = pa.Field(gt=0, le=1_000_000)", "budget_usd: float = pa.Field(gt=0, le=2_000_000)"),
                 False, "check less_than_or_equal_to loosened", id="loosened-check"),
    pytest.param(('"max_value": 60})', '"max_value": 40})'), True, "check str_length tightened", id="shorter-strings"),
    pytest.param(('channel: str = pa.Field(isin=CHANNELS)', 'channel: str = pa.Field(isin=[*CHANNELS, "tv"])'),
                 False, "check isin loosened", id="larger-set"),
    pytest.param(("    budget_usd: float = pa.Field(gt=0, le=1_000_000)\n", ""), True, "column 'budget_usd' removed",
                 id="removed-column"),
    pytest.param(("campaign_id: int = pa.Field(unique=True, ge=1)", "campaign_id: float = pa.Field(unique=True, ge=1)"),
                 True, "type Int64 -> Float64", id="type-change"),
    pytest.param(("name: str = pa.Field(str_length={\"min_value\": 3, \"max_value\": 60})",
                  "name: str = pa.Field(str_length={\"min_value\": 3, \"max_value\": 60}, nullable=True)"),
                 False, "made nullable", id="made-nullable"),
])
def test_a_changed_contract_needs_its_bump(example_root: Path, edit: tuple[str, str], breaking: bool,
                                           expected: str) -> None:
    assert materialize("marketing.campaigns", mesh=load_mesh(example_root)).ok
    change(example_root, CONTRACTS, *edit)
    if "removed" in expected:
        change(example_root, ASSETS, '        budget_usd=pl.col("budget_usd"),\n', "")
    if "Float64" in expected:
        change(example_root, ASSETS, '"campaign_id": np.arange(1, CAMPAIGNS + 1),',
               '"campaign_id": np.arange(1, CAMPAIGNS + 1).astype(float),')
    refused = materialize("marketing.campaigns", mesh=load_mesh(example_root))["marketing.campaigns"]
    assert refused.status is Status.ERROR
    assert expected in (refused.error or "") and ("BREAKING" if breaking else "compatible") in (refused.error or "")
    assert ("2.0.0" if breaking else "1.1.0") in (refused.error or "")
    bump(example_root, "1.1.0")
    minor = materialize("marketing.campaigns", mesh=load_mesh(example_root))["marketing.campaigns"]
    assert minor.ok is (not breaking)
    if breaking:
        change(example_root, ASSETS, 'contract_version="1.1.0"', 'contract_version="2.0.0"')
        assert materialize("marketing.campaigns", mesh=load_mesh(example_root)).ok


def test_mesh_contract_diff_lists_the_changes(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    assert runner.invoke(app, ["materialize", "marketing.campaigns", *root]).exit_code == 0
    change(example_root, CONTRACTS, "budget_usd: float = pa.Field(gt=0, le=1_000_000)",
           "budget_usd: float = pa.Field(gt=10, le=1_000_000)")
    result = runner.invoke(app, ["contract", "diff", "marketing.campaigns", "--json", *root])
    assert result.exit_code == 1, "a major bump is required and missing: CI must see a failure"
    report = json.loads(result.stdout)
    assert report["changes"] == [{"breaking": True, "change": "column 'budget_usd' check greater_than tightened: "
                                                           "{'min_value': 0} -> {'min_value': 10}"}]
    assert "contract_version='2.0.0'" in report["verdict"]
    assert runner.invoke(app, ["contract", "diff", "marketing.campaigns", *root]).exit_code == 1
    bump(example_root, "2.0.0")
    result = runner.invoke(app, ["contract", "diff", "marketing.campaigns", "--json", *root])
    assert result.exit_code == 0 and json.loads(result.stdout)["verdict"] == "ok"


def test_mesh_contract_diff_help_documents_the_exit_code() -> None:
    result = CliRunner().invoke(app, ["contract", "diff", "--help"])
    assert result.exit_code == 0 and "Exits 1 when the changes need a version bump" in " ".join(result.stdout.split())


def test_mesh_contract_diff_compares_a_partitioned_asset_with_every_partition(example_root: Path) -> None:
    from assets.backfill import plan, run_plan

    mesh = load_mesh(example_root)
    assert run_plan(mesh, plan(mesh, "sales.daily_orders", first="2026-11-16", last="2026-11-17")).ok
    change(example_root, "domains/sales/contracts.py", "    customer_id: int = pa.Field(ge=1)\n    amount: float",
           "    customer_id: int = pa.Field(ge=2)\n    amount: float")
    runner, root = CliRunner(), ["--root", str(example_root)]
    result = runner.invoke(app, ["contract", "diff", "sales.daily_orders", "--json", *root])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["partition"] == "2026-11-17" and report["published"] == "1.0.0"
    assert report["changes"][0]["breaking"] and "contract_version='2.0.0'" in report["verdict"]
    assert report["refused_partitions"] == ["2026-11-16", "2026-11-17"]
    assert [g["partitions"] for g in report["partitions"]] == [["2026-11-16", "2026-11-17"]]  # one contract stored
    text = runner.invoke(app, ["contract", "diff", "sales.daily_orders", *root])
    assert text.exit_code == 1
    assert "published 1.0.0 (partitions 2026-11-16, 2026-11-17; newest version" in text.stdout, text.stdout


def _older_partition_left_behind(root: Path) -> None:
    """Partition 2026-11-16 published at 1.0.0; the contract then tightened (a breaking change) but
    bumped to 1.1.0 only, and partition 2026-11-17 published for the first time (nothing to compare
    with, so nothing refused it): the newest partition stores the code's contract, the older one
    would be refused at its next run."""
    from assets.backfill import plan, run_plan

    mesh = load_mesh(root)
    assert run_plan(mesh, plan(mesh, "sales.daily_orders", first="2026-11-16", last="2026-11-16")).ok
    change(root, "domains/sales/contracts.py", "amount: float = pa.Field(ge=0, le=100_000)",
           "amount: float = pa.Field(ge=0, le=99_999.99)")
    change(root, "domains/sales/assets.py", 'contract=DailyOrders, contract_version="1.0.0"',
           'contract=DailyOrders, contract_version="1.1.0"')
    assert materialize("sales.daily_orders", mesh=load_mesh(root), partition="2026-11-17").ok


def test_a_partition_older_than_the_newest_that_its_next_run_would_refuse_is_named(example_root: Path) -> None:
    _older_partition_left_behind(example_root)
    for data in (example_root / ".mesh/regions").glob("*/sales/daily_orders/*/*/data.parquet"):
        data.write_bytes(b"not read")  # only pointers and manifests are read
    runner, root = CliRunner(), ["--root", str(example_root)]
    result = runner.invoke(app, ["contract", "diff", "sales.daily_orders", "--json", *root])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["refused_partitions"] == ["2026-11-16"] and "contract_version='2.0.0'" in report["verdict"]
    older, newest = report["partitions"]
    assert (older["partitions"], older["published"], newest["partitions"], newest["published"]) == \
        (["2026-11-16"], "1.0.0", ["2026-11-17"], "1.1.0")
    assert older["changes"] == [{"breaking": True, "change": "column 'amount' check less_than_or_equal_to "
                                                           "tightened: {'max_value': 100000} -> {'max_value': 99999.99}"}]
    assert newest["changes"] == [] and newest["verdict"] == "ok"
    text = runner.invoke(app, ["contract", "diff", "sales.daily_orders", *root])
    assert text.exit_code == 1 and "refused at their next run: partitions 2026-11-16" in text.stdout, text.stdout
    assert "every partition: set contract_version='2.0.0'" in text.stdout
    checked = runner.invoke(app, ["check", "--json", *root])
    assert checked.exit_code == 1, checked.output
    problems = [p for p in json.loads(checked.stdout)["problems"] if "sales.daily_orders" in p]
    assert len(problems) == 1 and "the next run of partitions 2026-11-16 would be refused: " in problems[0]
    assert "changed since version 1.0.0 but is still 1.1.0" in problems[0] and "2026-11-17" not in problems[0]


def test_the_run_of_the_named_partition_is_refused_as_check_says(example_root: Path) -> None:
    _older_partition_left_behind(example_root)
    checked = CliRunner().invoke(app, ["check", "--json", "--root", str(example_root)])
    problem = next(p for p in json.loads(checked.stdout)["problems"] if "sales.daily_orders" in p)
    run = materialize("sales.daily_orders", mesh=load_mesh(example_root), partition="2026-11-16")
    refused = run["sales.daily_orders/2026-11-16"].error or ""
    assert "changed since version 1.0.0 but is still 1.1.0" in refused and refused in problem, (refused, problem)


def test_mesh_check_reports_a_contract_changed_without_its_bump_as_the_run_would(example_root: Path) -> None:
    """Ahead of the run, from the published manifests' contracts: the run's own refusal, word for
    word (a loosened check, so that the run gets past its gate to the refusal); a tightened
    check of a partitioned asset is compared with each partition."""
    from assets.backfill import plan, run_plan

    mesh = load_mesh(example_root)
    assert materialize("+finance.revenue", mesh=mesh, params={"scale": 200}).ok
    assert run_plan(mesh, plan(mesh, "sales.daily_orders", first="2026-11-16", last="2026-11-16")).ok
    runner, root = CliRunner(), ["--root", str(example_root)]
    assert runner.invoke(app, ["check", *root]).exit_code == 0
    change(example_root, "domains/finance/contracts.py", "orders: int = pa.Field(ge=1)", "orders: int = pa.Field(ge=0)")
    change(example_root, "domains/sales/contracts.py", "    customer_id: int = pa.Field(ge=1)\n    amount: float",
           "    customer_id: int = pa.Field(ge=2)\n    amount: float")
    checked = runner.invoke(app, ["check", "--json", *root])
    assert checked.exit_code == 1, checked.output
    problems = json.loads(checked.stdout)["problems"]
    refused = materialize("finance.revenue", mesh=load_mesh(example_root))["finance.revenue"].error or ""
    assert "changed since version 1.0.0 but is still 1.0.0" in refused
    assert len(problems) == 2 and any(refused in p for p in problems), (refused, problems)
    revenue = next(p for p in problems if "of 'finance.revenue'" in p)
    assert revenue.startswith(str(example_root / "domains" / "finance" / "assets.py"))
    assert "Fix: set contract_version='1.1.0'" in revenue
    daily = next(p for p in problems if "of 'sales.daily_orders'" in p)
    assert "BREAKING" in daily and "Fix: set contract_version='2.0.0'" in daily
    assert "Traceback" not in checked.output
    change(example_root, "domains/finance/assets.py", 'contract=Revenue, contract_version="1.0.0"',
           'contract=Revenue, contract_version="1.1.0"')
    again = json.loads(runner.invoke(app, ["check", "--json", *root]).stdout)["problems"]
    assert len(again) == 1 and "sales.daily_orders" in again[0]



def _group(partition: str, published: str, code: str, *, breaking: bool) -> PartitionsCompared:
    """A partition whose current version stored a contract at ``published``, changed since (a new
    check: breaking; else a new nullable column), against the code's at ``code``."""
    old = {"amount": {"dtype": "Float64", "nullable": False, "unique": False, "checks": {}}}
    new = {"amount": {**old["amount"], "checks": {"greater_than": {"min_value": 0}}}} if breaking else \
        {**old, "note": {"dtype": "String", "nullable": True, "unique": False, "checks": {}}}
    manifest = Manifest(key="sales.daily_orders", version="v", checksum="sha256:0", rows=0, bytes=0, schema={},
                        contract_version=published, code_version="c", produced_at="2026-11-16T00:00:00+00:00",
                        run_id="r", partition=partition, contract=old)
    found = compare("sales.daily_orders", manifest, new, code)
    assert found is not None
    return PartitionsCompared((partition,), found)


def test_the_version_named_is_the_lowest_every_partition_accepts() -> None:
    """One partition published at 1.0.0 (a breaking change since), one at 2.0.0 (a compatible
    change since): 2.0.0 would still refuse the second, so 2.1.0 is named."""
    found = [_group("2026-11-16", "1.0.0", "1.0.0", breaking=True),
             _group("2026-11-17", "2.0.0", "1.0.0", breaking=False)]
    assert needed_version(found) == "2.1.0"
    for group, lower in zip(found, ("1.1.0", "2.0.0"), strict=True):
        changes = list(group.comparison.changes)
        assert bump_problem("sales.daily_orders", group.comparison.published.contract_version, "2.1.0", changes) is None
        assert bump_problem("sales.daily_orders", group.comparison.published.contract_version, lower, changes)
    accepted = [_group("2026-11-16", "1.0.0", "2.1.0", breaking=True),
                _group("2026-11-17", "2.0.0", "2.1.0", breaking=False)]
    assert needed_version(accepted) is None
