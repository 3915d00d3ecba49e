"""Contract-test material: for every rule of a contract, a sample broken in exactly that rule."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from assets.gate import run_gate
from assets.testing import violations


class Codes(pa.DataFrameModel):
    exact: str = pa.Field(str_length=3)
    bounded: str = pa.Field(str_length={"min_value": 2, "max_value": 4})
    capped: str = pa.Field(str_length={"max_value": 4})

    class Config:
        strict = True


@pytest.mark.parametrize("rule", ["exact", "bounded", "capped"])
def test_every_kind_of_str_length_gets_a_sample_its_rule_rejects(rule: str) -> None:
    good = pl.DataFrame({"exact": ["abc", "xyz"], "bounded": ["abc", "de"], "capped": ["ab", "abcd"]})
    assert run_gate(Codes, good).passed
    broken = {name: frame for name, frame in violations(Codes, good).items() if name.startswith(rule)}
    assert broken, f"no sample breaks {rule}"
    for name, frame in broken.items():
        report = run_gate(Codes, frame)
        assert not report.passed and {f.column for f in report.failures} == {rule}, name
