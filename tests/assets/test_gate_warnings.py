"""Warning checks (``raise_warning=True``) never block a publish, and are never lost: the gate
counts them, and the manifest, the audit log, the OpenLineage assertions and the CLI keep them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandera.api.polars.types import PolarsData
from typer.testing import CliRunner

from assets import Mesh, materialize, run_gate
from assets.contract_diff import describe, diff
from assets.storage import Manifest
from governance.services import governed
from meshctl.cli import app
from tests.governance.test_lineage import events_in


class Payments(pa.DataFrameModel):
    amount: float = pa.Field(ge=0)
    email: str = pa.Field(metadata={"classification": "pii"})

    @pa.check("amount", name="below_review_threshold", raise_warning=True)
    def below_review_threshold(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) <= 100)

    @pa.check("email", name="company_address", raise_warning=True)
    def company_address(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).str.ends_with("@acme.example"))

    @pa.dataframe_check(raise_warning=True)
    def not_all_the_same(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("amount") != 42.0)


def frame(amounts: list[float], emails: list[str] | None = None) -> pl.DataFrame:
    return pl.DataFrame({"amount": amounts, "email": emails or ["a@acme.example"] * len(amounts)})


def test_a_failed_warning_check_publishes_and_is_counted_with_examples() -> None:
    report = run_gate(Payments, frame([5.0, 150.0, 250.0, 250.0]))
    assert report.passed and report.frame is not None
    assert [(w.column, w.check, w.rows, w.examples) for w in report.warnings] == [
        ("amount", "below_review_threshold", 3, ("150.0", "250.0"))]


def test_blocking_failures_and_warnings_are_both_reported() -> None:
    report = run_gate(Payments, frame([-1.0, 150.0]))
    assert not report.passed
    assert [(f.column, f.rows) for f in report.failures] == [("amount", 1)]
    assert [(w.column, w.check, w.rows) for w in report.warnings] == [("amount", "below_review_threshold", 1)]
    assert "1 warning(s): amount: below_review_threshold failed on 1 row(s)" in report.describe()


def test_classified_values_never_appear_in_a_warning() -> None:
    report = run_gate(Payments, frame([1.0, 42.0], ["jane@gmail.example", "a@acme.example"]))
    by_check = {w.check: w for w in report.warnings}
    assert by_check["company_address"].examples == ("[classified values hidden]",)
    assert by_check["not_all_the_same"].column == "Payments"
    assert by_check["not_all_the_same"].examples == ("[classified values hidden]",), "rows hold a pii column"
    assert "jane" not in report.describe()


def test_a_warning_check_that_raises_is_reported_and_blocks_nothing() -> None:
    class Odd(pa.DataFrameModel):
        n: int

        @pa.check("n", name="explodes", raise_warning=True)
        def explodes(cls, data: PolarsData) -> pl.LazyFrame:
            raise RuntimeError("bug in the check")

    report = run_gate(Odd, pl.DataFrame({"n": [1, 2]}))
    assert report.passed
    assert [(w.check, w.examples) for w in report.warnings] == [
        ("explodes", ("the check could not be evaluated: RuntimeError",))]


def test_gaining_a_warning_is_compatible_and_making_it_blocking_is_breaking() -> None:
    class Before(pa.DataFrameModel):
        amount: float = pa.Field(ge=0)

    class Warns(pa.DataFrameModel):
        amount: float = pa.Field(ge=0, le=100, raise_warning=True)

    class Blocks(pa.DataFrameModel):
        amount: float = pa.Field(ge=0, le=100)

    gained = diff(describe(Before), describe(Warns))
    assert gained and not any(c.breaking for c in gained), gained
    assert any(c.breaking for c in diff(describe(Warns), describe(Blocks)))


@given(st.one_of(st.text(), st.integers(), st.lists(st.one_of(st.text(), st.integers(), st.none()))))
def test_a_manifest_with_garbage_warnings_is_refused_cleanly(garbage: Any) -> None:
    good = {"key": "a.b", "version": "v", "checksum": "blake3:00", "rows": 1, "bytes": 1, "schema": {},
            "contract_version": "1.0.0", "code_version": "c", "produced_at": "t", "run_id": "r"}
    if isinstance(garbage, list) and not garbage:
        assert Manifest.from_json(json.dumps({**good, "warnings": garbage})).warnings == ()
        return
    with pytest.raises(ValueError, match="'warnings' is not a list of objects"):
        Manifest.from_json(json.dumps({**good, "warnings": garbage}))


@pytest.fixture
def warned(example_mesh: Mesh) -> Mesh:
    result = materialize("sales.orders", mesh=example_mesh, params={"scale": 2_000, "seed": 3})
    assert result.ok
    return example_mesh


def test_the_example_orders_publish_with_their_warning_in_the_manifest_and_the_audit_log(warned: Mesh) -> None:
    manifest = warned.store().require_current("sales.orders")
    [warning] = manifest.warnings
    over = warned.store().scan("sales.orders").filter(pl.col("amount") > 5_000).collect().height
    assert warning == {"column": "amount", "check": "below_review_threshold", "rows": over} and over > 0
    [record] = [r for r in governed(warned).audit.query(action="materialize") if r.target == "sales.orders"]
    assert record.details["warnings"] == [f"amount:below_review_threshold:{over}"]


def test_the_lineage_complete_event_asserts_the_warning_with_severity_warn(
        warned: Mesh, validate_openlineage: Callable[[dict[str, Any]], None]) -> None:
    [complete] = [e for e in events_in(warned.root) if e["eventType"] == "COMPLETE"]
    validate_openlineage(complete)
    assertions = complete["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    warning = [a for a in assertions if a["assertion"] == "below_review_threshold"]
    assert [(a["success"], a["column"], a["severity"]) for a in warning] == [(False, "amount", "warn")]
    assert all(a["severity"] == "error" for a in assertions if a["assertion"] != "below_review_threshold")


def test_the_cli_prints_the_warning_and_its_json_holds_it(example_mesh: Mesh) -> None:
    runner = CliRunner()
    args = ["materialize", "sales.orders", "--scale", "2000", "--root", str(Path(example_mesh.root))]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "sales.orders: warning: amount: below_review_threshold failed on" in " ".join(shown.output.split())
    as_json = runner.invoke(app, [*args, "--json"])
    [orders] = json.loads(as_json.stdout)["assets"]
    assert [w["check"] for w in orders["warnings"]] == ["below_review_threshold"]
