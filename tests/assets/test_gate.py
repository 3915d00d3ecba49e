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
