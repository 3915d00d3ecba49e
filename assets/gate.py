"""The contract gate: every output is validated by its pandera contract before it may publish.

The gate validates an eager ``pl.DataFrame`` with ``lazy=True``: pandera then runs every
schema *and* data check and collects all failures (a ``LazyFrame`` alone would only get the
schema checks). The result says which checks failed, on which column, and on how many rows.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl

from assets.check_failure import CheckFailure
from assets.gate_plan import every_rule_holds
from assets.gate_warnings import evaluate_warnings, warning_checks


@dataclass(frozen=True, slots=True)
class GateReport:
    """The outcome of one gate run. ``frame`` is the validated data when it passed;
    ``warnings`` are the checks declared ``raise_warning=True`` that failed (they never block)."""

    contract: str
    passed: bool
    rows: int
    failures: tuple[CheckFailure, ...] = ()
    warnings: tuple[CheckFailure, ...] = ()
    failure_cases: pl.DataFrame | None = field(default=None, repr=False)
    frame: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def failed_rows(self) -> int:
        """Distinct rows that failed at least one check."""
        if self.failure_cases is None:
            return 0
        return self.failure_cases.filter(pl.col("index").is_not_null())["index"].n_unique()

    def describe(self) -> str:
        warned = f"; {len(self.warnings)} warning(s): " + "; ".join(map(str, self.warnings)) if self.warnings else ""
        if self.passed:
            return f"{self.contract}: passed on {self.rows} rows{warned}"
        return f"{self.contract}: {len(self.failures)} check(s) failed: " + "; ".join(map(str, self.failures)) + warned


def run_gate(contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> GateReport:
    """Validate ``frame`` against ``contract``, collecting every failure. Every rule is first
    evaluated in one query (:mod:`assets.gate_plan`); pandera runs when one fails, and names them.
    Checks declared ``raise_warning=True`` never block: each that fails is in ``warnings``."""
    report = _blocking(contract, frame)
    if not warning_checks(contract):
        return report
    found = evaluate_warnings(contract, frame, _hidden_columns(contract))
    return dataclasses.replace(report, warnings=found) if found else report


def _blocking(contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> GateReport:
    name = contract.__name__
    try:
        fast = every_rule_holds(contract, frame)
    except Exception:  # noqa: BLE001 - anything the one query cannot evaluate, pandera judges
        fast = None
    if fast:
        return GateReport(contract=name, passed=True, rows=frame.height, frame=frame)
    try:
        validated = _validate(contract, frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        cases: pl.DataFrame = exc.failure_cases
        return GateReport(contract=name, passed=False, rows=frame.height,
                          failures=_summarise(cases, _hidden_columns(contract)), failure_cases=cases)
    except pa_errors.SchemaError as exc:  # raised for schema-level problems even when lazy
        return _one_failure(contract, frame, exc)
    except pl.exceptions.PolarsError:
        # pandera cannot gather failures of different types into one table (a check answering
        # yes/no for the whole column, such as unique_values_eq, failing beside a row-level one):
        # validated again, it stops at the first failure, which is reported
        return _first_failure(contract, frame)
    assert isinstance(validated, pl.DataFrame)
    return GateReport(contract=name, passed=True, rows=frame.height, frame=validated)


def _validate(contract: type[pa.DataFrameModel], frame: pl.DataFrame, *, lazy: bool) -> object:
    with warnings.catch_warnings():  # warning checks are evaluated and reported by the gate itself
        warnings.simplefilter("ignore", pa_errors.SchemaWarning)
        return contract.validate(frame, lazy=lazy)


def _first_failure(contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> GateReport:
    """The first rule ``frame`` breaks, from pandera validating it rule by rule; a frame that
    pandera can judge neither way is refused too (the gate publishes only what passed)."""
    try:
        _validate(contract, frame, lazy=False)
        why = "pandera could not gather this frame's failures, and found none rule by rule"
    except pa_errors.SchemaError as exc:
        return _one_failure(contract, frame, exc)
    except pl.exceptions.PolarsError as exc:
        why = f"pandera could not validate the frame: {str(exc).splitlines()[0][:200]}"
    failure = CheckFailure(column=contract.__name__, check="validation", rows=0, examples=(why,))
    return GateReport(contract=contract.__name__, passed=False, rows=frame.height, failures=(failure,))


def _one_failure(contract: type[pa.DataFrameModel], frame: pl.DataFrame, exc: pa_errors.SchemaError) -> GateReport:
    """A report of the one failure pandera raised (its message names values: hidden for a
    classified column)."""
    name = contract.__name__
    column = str(getattr(exc, "column_name", None) or name)
    check = exc.check
    cases = exc.failure_cases if isinstance(exc.failure_cases, pl.DataFrame) else None
    failure = CheckFailure(column=column,
                           check=str(getattr(check, "error", None) or getattr(check, "name", None) or check
                                     or exc.reason_code),
                           rows=cases.height if cases is not None and check is not None else 0,
                           examples=("[classified values hidden]",) if column in _hidden_columns(contract)
                           else (str(exc),))
    return GateReport(contract=name, passed=False, rows=frame.height, failures=(failure,))


def _hidden_columns(contract: type[pa.DataFrameModel]) -> set[str]:
    """Columns whose values must not appear in messages: classified ones, and whole-row
    examples of schema-wide checks when any column is classified."""
    classified = {n for n, c in contract.to_schema().columns.items() if c.metadata and c.metadata.get("classification")}
    return classified | {contract.__name__} if classified else set()


def _summarise(cases: pl.DataFrame, hidden: set[str]) -> tuple[CheckFailure, ...]:
    grouped = (
        cases.with_columns(pl.col("column").fill_null(""), pl.col("check").fill_null(""))
        .group_by("column", "check", maintain_order=True)
        .agg(rows=pl.col("index").drop_nulls().n_unique(),
             examples=pl.col("failure_case").cast(pl.String).drop_nulls().unique(maintain_order=True).head(3))
    )
    return tuple(CheckFailure(column=r["column"], check=r["check"], rows=r["rows"],
                              examples=("[classified values hidden]",) if r["column"] in hidden else tuple(r["examples"]))
                 for r in grouped.iter_rows(named=True))
