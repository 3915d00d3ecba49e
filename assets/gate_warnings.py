"""Warning checks: a contract's checks declared with ``raise_warning=True``.

They never block a publish. Pandera only reports them as Python warnings (a sentence each),
so the gate evaluates them itself, through pandera's own check backend, and reports each
one that fails as a :class:`~assets.check_failure.CheckFailure`: the column, the check, how many rows
failed and a few examples (hidden for classified columns). The report is kept in the
version's manifest, the audit record, the OpenLineage assertions (severity ``warn``) and the
CLI's output.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandera.backends.polars.builtin_checks  # noqa: F401 - registers the built-in checks for PolarsData
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.backends.polars.checks import PolarsCheckBackend
from pandera.constants import CHECK_OUTPUT_KEY

from assets.check_failure import CheckFailure

#: The key pandera gives a dataframe-wide check.
WHOLE_FRAME = "*"
_EXAMPLES = 3


def check_label(check: Any) -> str:
    """A check's name as pandera's failure reports print it: ``in_range(0, 10)``, or the name of
    a custom check."""
    return str(check.error or check.name)


@cache
def warning_checks(contract: type[pa.DataFrameModel]) -> tuple[tuple[str, Any], ...]:
    """``(column, check)`` for each check of ``contract`` that only warns; the column is
    ``*`` for a dataframe-wide check."""
    schema = contract.to_schema()
    found = [(name, c) for name, column in schema.columns.items() for c in column.checks if c.raise_warning]
    return (*found, *((WHOLE_FRAME, c) for c in schema.checks if c.raise_warning))


def evaluate_warnings(contract: type[pa.DataFrameModel], frame: pl.DataFrame,
                      hidden: set[str]) -> tuple[CheckFailure, ...]:
    """Each warning check of ``contract`` that ``frame`` does not satisfy, with its failing
    rows counted. A column missing from ``frame`` is the blocking checks' business: skipped."""
    failures: list[CheckFailure] = []
    for column, check in warning_checks(contract):
        if column != WHOLE_FRAME and column not in frame.schema:
            continue
        name = contract.__name__ if column == WHOLE_FRAME else column
        try:
            rows, examples = _failing(check, frame, column)
        except Exception as exc:  # noqa: BLE001 - a user's check may raise anything; it still never blocks
            failures.append(CheckFailure(column=name, check=check_label(check), rows=0,
                                         examples=(f"the check could not be evaluated: {type(exc).__name__}",)))
            continue
        if rows is None:
            continue
        shown = ("[classified values hidden]",) if (name in hidden or (column == WHOLE_FRAME and hidden)) else examples
        failures.append(CheckFailure(column=name, check=check_label(check), rows=rows, examples=shown))
    return tuple(failures)


def _failing(check: Any, frame: pl.DataFrame, column: str) -> tuple[int | None, tuple[str, ...]]:
    """``(rows that fail, examples)``, or ``(None, ())`` when the check holds. A check whose
    verdict is one value for the whole frame fails on every row, without examples."""
    out = PolarsCheckBackend(check).apply(PolarsData(frame.lazy(), column))
    if isinstance(out, bool):
        return (None, ()) if out else (frame.height, ())
    passed = pl.col(CHECK_OUTPUT_KEY)
    verdicts = out.select((passed | passed.is_null()) if check.ignore_na else passed.fill_null(False)).collect()
    verdict = verdicts.to_series()
    if verdict.len() != frame.height:
        return (None, ()) if verdict.all() else (frame.height, ())
    failing = frame.filter(~verdict)
    if failing.height == 0:
        return None, ()
    if column != WHOLE_FRAME:
        values = failing[column].cast(pl.String).drop_nulls().unique(maintain_order=True).head(_EXAMPLES).to_list()
    else:
        values = [str(row) for row in failing.head(_EXAMPLES).iter_rows(named=True)]
    return failing.height, tuple(values)
