"""The gate's messages and quarantine reports cut long values: a 10 MB value in a failing
column is named by its start and its length, never copied whole."""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets import run_gate
from assets.quarantine import Quarantine
from assets.storage import StorageRoot

HUGE = "x" * 10_000_000


class Codes(pa.DataFrameModel):
    code: str = pa.Field(str_length={"max_value": 8})


def test_a_huge_failing_value_is_cut_in_the_message_and_both_reports(tmp_path: Path) -> None:
    frame = pl.DataFrame({"code": ["ok", HUGE]})
    report = run_gate(Codes, frame)
    assert not report.passed
    assert len(report.describe()) < 1_000 and "(10,000,000 characters)" in report.describe()
    folder = Path(Quarantine(StorageRoot(str(tmp_path))).store("alpha.codes", "run-1", report, frame))
    for name in ("report.json", "report.md"):
        text = (folder / name).read_text()
        assert len(text) < 5_000 and "(10,000,000 characters)" in text, name


class Tags(pa.DataFrameModel):
    tag: str = pa.Field(unique_values_eq=["a", "b"], str_length={"exact_value": 1})
    secret: str = pa.Field(str_length={"exact_value": 1}, unique_values_eq=["x", "y"],
                           metadata={"classification": "restricted"})


def test_a_whole_column_failure_beside_a_row_failure_is_reported_not_raised() -> None:
    """pandera cannot put a yes/no failure (unique_values_eq) and failing values in one table; the
    gate then reports the first failure rather than letting polars' error escape."""
    report = run_gate(Tags, pl.DataFrame({"tag": ["a", "bb"], "secret": ["x", "y"]}))
    assert not report.passed and report.failures[0].column == "tag"
    assert "str_length" in report.describe() or "unique_values_eq" in report.describe()
    hidden = run_gate(Tags, pl.DataFrame({"tag": ["a", "b"], "secret": ["x", "TOPSECRET"]}))
    assert not hidden.passed and hidden.failures[0].column == "secret"
    assert "TOPSECRET" not in hidden.describe(), "a classified column's values stay out of the report"
