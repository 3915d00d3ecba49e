"""The in-process engine: topological order, concurrency, gate, skips, and per-asset results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from assets import Mesh, RunResult, Status, materialize
from governance.wiring import load_mesh
from tests.conftest import TEST_SCALE


def test_the_example_mesh_materializes_with_provenance(materialized_example: tuple[Mesh, RunResult]) -> None:
    mesh, result = materialized_example
    assert result.by_status(Status.MATERIALIZED) == [k for k in result.results]
    assert len(result.results) == 18
    store = mesh.store()
    orders = result["sales.orders"].manifest
    assert orders is not None and orders.rows == TEST_SCALE
    revenue = result["finance.revenue"].manifest
    assert revenue is not None
    assert revenue.input_versions == {"sales.orders": orders.version,
                                      "finance.fx_rates": result["finance.fx_rates"].manifest.version}  # type: ignore[union-attr]
    assert len(revenue.code_version) == 16 and revenue.contract_version == "1.0.0"
    for key, r in result.results.items():
        assert r.manifest is not None and store.verify(r.manifest), key
        assert store.current_version(r.key, r.partition) == r.manifest.version


def test_inputs_arrive_as_lazy_frames_of_the_current_versions(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("sales.orders", mesh=mesh, params={"scale": 500})
    derived = materialize("sales.daily_sales", mesh=mesh)
    assert derived.ok
    manifest = derived["sales.daily_sales"].manifest
    assert manifest is not None
    assert manifest.input_versions == {"sales.orders": first["sales.orders"].manifest.version}  # type: ignore[union-attr]
    total = mesh.store().scan("sales.daily_sales").select(pl.col("orders").sum()).collect().item()
    assert total == 500


def test_a_gate_failure_publishes_nothing_and_skips_only_downstream(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    good = materialize("*", mesh=mesh, params={"scale": 1_000})
    assert good.ok
    bad = materialize("*", mesh=mesh, params={"scale": 1_000, "inject_bad_rows": True})
    assert not bad.ok
    assert bad.by_status(Status.GATE_FAILED) == ["finance.fx_rates"]
    assert set(bad.by_status(Status.SKIPPED)) == {"finance.revenue", "finance.monthly_revenue",
                                                  "marketing.campaign_performance"}
    assert len(bad.by_status(Status.MATERIALIZED)) == 9 + 2 + 2  # and today's day and week, and what the source feeds on its unchanged drop
    assert bad.by_status(Status.UNCHANGED) == ["marketing.web_leads"]  # nothing new arrived in its drop
    for key in ("finance.fx_rates", "finance.revenue", "finance.monthly_revenue"):
        assert mesh.store().current_version(key) == good[key].manifest.version  # type: ignore[union-attr]
    failed = bad["finance.fx_rates"]
    assert failed.gate is not None
    checks = {(f.column, f.check): f.rows for f in failed.gate.failures}
    assert checks[("rate_to_usd", "in_range(0.001, 10.0)")] == 3
    assert checks[("FxRates", "multiple_fields_uniqueness")] == 6
    assert "skipped: upstream finance.fx_rates" in (bad["finance.revenue"].error or "")


def test_an_asset_skipped_after_a_failed_gate_is_in_the_run_history_and_audited(example_root: Path) -> None:
    from governance.runs.records import run_records
    from governance.services import governed

    mesh = load_mesh(example_root)
    bad = materialize("finance.fx_rates+", mesh=mesh, params={"inject_bad_rows": True})
    skipped = sorted(bad.by_status(Status.SKIPPED))
    assert skipped == ["finance.monthly_revenue", "finance.revenue", "marketing.campaign_performance"]
    records = {r.key: r for r in run_records(mesh).between(keys=skipped)}
    assert {k: (r.status, r.run_id) for k, r in records.items()} == {k: ("skipped", bad.run_id) for k in skipped}
    assert "finance.fx_rates" in (records["finance.revenue"].error or "")
    assert "finance.revenue" in (records["finance.monthly_revenue"].error or "")
    assert records["finance.revenue"].ended_at == records["finance.revenue"].started_at  # it never ran
    skips = {r.body()["target"]: r.body() for r in governed(mesh).audit.records() if r.action == "skip"}
    assert sorted(skips) == skipped
    assert all((s["outcome"], s["details"]["run_id"]) == ("skipped", bad.run_id) for s in skips.values())
    assert "finance.fx_rates" in skips["finance.revenue"]["details"]["why"]
    from governance.ops.monitor import mesh_view

    reason = mesh_view(mesh).statuses(mesh.services.clock())["finance.revenue"].reason
    assert f"run {bad.run_id} skipped at " in reason and "upstream finance.fx_rates did not materialize" in reason, reason


def test_rejected_rows_go_to_quarantine_with_a_readable_report(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    result = materialize("finance.fx_rates", mesh=mesh, params={"inject_bad_rows": True})
    folder = Path(result["finance.fx_rates"].quarantine or "")
    report = json.loads((folder / "report.json").read_text())
    assert report["asset"] == "finance.fx_rates" and report["failed_rows"] == 6
    assert {f["check"] for f in report["failures"]} == {"in_range(0.001, 10.0)", "multiple_fields_uniqueness"}
    assert "Nothing was published" in (folder / "report.md").read_text()
    rows = pl.read_parquet(folder / "rows.parquet")
    assert rows.height == 6 and (rows["rate_to_usd"] == 0.0).sum() == 3
    assert mesh.store().current("finance.fx_rates") is None


def test_bad_outputs_are_reported_per_asset(fixture_mesh: Callable[[str], Path]) -> None:
    mesh = load_mesh(fixture_mesh("bad_outputs"))
    result = materialize("domain:alpha", mesh=mesh)
    assert result["alpha.numbers"].status is Status.MATERIALIZED
    not_a_frame = result["alpha.not_a_frame"]
    assert not_a_frame.status is Status.ERROR
    assert "returned list, not a polars DataFrame or LazyFrame" in (not_a_frame.error or "")
    missing = result["alpha.missing_column"]
    assert missing.status is Status.GATE_FAILED and missing.gate is not None
    assert {f.check for f in missing.gate.failures} == {"column_in_dataframe", "column_in_schema"}
    negative = result["alpha.negative"]
    assert negative.status is Status.GATE_FAILED and negative.gate is not None
    assert [(f.column, f.check, f.rows) for f in negative.gate.failures] == [("n", "greater_than_or_equal_to(0)", 2)]
    raises = result["alpha.raises"]
    assert raises.status is Status.ERROR
    assert "raised ValueError: upstream API returned 503 at" in (raises.error or "")
    assert "domains/alpha/assets.py:" in (raises.error or "")
    assert result["alpha.after_negative"].status is Status.SKIPPED
    for key in ("alpha.not_a_frame", "alpha.missing_column", "alpha.negative", "alpha.raises"):
        assert mesh.store().current(key) is None


def test_independent_assets_run_concurrently(fixture_mesh: Callable[[str], Path]) -> None:
    result = materialize("*", mesh=load_mesh(fixture_mesh("concurrent")), max_workers=2)
    assert result.ok, result.to_dict()
    assert result["alpha.both"].manifest.rows == 2  # type: ignore[union-attr]


def test_an_input_outside_the_selection_must_have_been_published(example_root: Path) -> None:
    result = materialize("finance.revenue", mesh=load_mesh(example_root))
    assert result["finance.revenue"].status is Status.ERROR
    assert "mesh materialize sales.orders" in (result["finance.revenue"].error or "")


def test_root_data_is_deterministic_per_seed(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    store = mesh.store()

    def orders(seed: int) -> pl.DataFrame:
        materialize("sales.orders", mesh=mesh, params={"scale": 200, "seed": seed})
        return store.scan("sales.orders").collect()

    assert orders(1).equals(orders(1))
    assert not orders(1).equals(orders(2))


def test_a_polars_error_names_the_users_line_or_the_returned_query_not_polars_internals(
        fixture_mesh: Callable[[str], Path]) -> None:
    """A query the function returns fails when the engine collects it: the error named a line
    inside polars and carried polars' whole query plan. It names the asset's function now, and an
    error raised inside the function names the function's own line."""
    root = fixture_mesh("bad_outputs")
    code = root / "domains/alpha/assets.py"
    code.write_text(code.read_text() + '''

@asset(contract=Numbers, contract_version="1.0.0")
def lazy_typo() -> pl.LazyFrame:
    return pl.LazyFrame({"n": [1, 2]}).select(pl.col("nope"))


@asset(contract=Numbers, contract_version="1.0.0")
def eager_typo() -> pl.DataFrame:
    frame = pl.DataFrame({"n": [1, 2]})
    return frame.select(pl.col("nope"))
''')
    result = materialize("alpha.lazy_typo alpha.eager_typo", mesh=load_mesh(root))
    lazy, eager = result["alpha.lazy_typo"].error or "", result["alpha.eager_typo"].error or ""
    assert "raised ColumnNotFoundError" in lazy and "in the query the function returned (" in lazy, lazy
    assert "domains/alpha/assets.py:" in lazy and "site-packages" not in lazy and "Resolved plan" not in lazy, lazy
    line = code.read_text().splitlines().index('    return frame.select(pl.col("nope"))') + 1
    assert f"domains/alpha/assets.py:{line}" in eager and "site-packages" not in eager, eager
