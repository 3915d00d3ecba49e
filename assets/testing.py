"""Contract-test material derived from a pandera contract, so a new asset gets tests for free.

:func:`rules` lists every rule of a contract (each column's dtype, nullability, uniqueness and
checks; the model's ``unique`` and ``strict`` settings) with a way to break exactly that rule:
given a sample that passes, change one cell (or one column). The tests under ``tests/contracts`` run every asset's contract against
each of them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandera.polars as pa
import polars as pl

from assets.errors import MeshError


class UnsupportedCheckError(MeshError):
    """A check has no automatic counter-example; the contract's owner must add one."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a contract, as pandera names it in failure cases, and how to break it.
    ``blocking`` is False for a warning check (``raise_warning=True``): breaking it publishes,
    with a warning."""

    column: str
    check: str
    breaks: Callable[[pl.DataFrame], pl.DataFrame]
    blocking: bool = True

    @property
    def id(self) -> str:
        return f"{self.column}:{self.check}"


def rules(contract: type[pa.DataFrameModel]) -> list[Rule]:
    """Every rule of ``contract``: each column's dtype, nullability, uniqueness and checks, and
    the model's ``unique`` and ``strict`` settings."""
    schema = contract.to_schema()
    found = [r for name, column in schema.columns.items() for r in _column_rules(name, column)]
    if schema.unique:
        keys = [schema.unique] if isinstance(schema.unique, str) else list(schema.unique)
        found.append(Rule(contract.__name__, "multiple_fields_uniqueness", lambda s: _copy_row(s, keys)))
    if schema.strict:
        found.append(Rule(contract.__name__, "column_in_schema",
                          lambda s: s.with_columns(pl.lit(1).alias("undeclared_column"))))
    return found


def violations(contract: type[pa.DataFrameModel], sample: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """For each rule id, ``sample`` (a valid frame of 2+ rows) changed to break that rule."""
    if sample.height < 2:
        raise ValueError(f"a sample of {contract.__name__} needs at least 2 rows to break uniqueness")
    return {r.id: r.breaks(sample) for r in rules(contract)}


def _column_rules(name: str, column: Any) -> Iterator[Rule]:
    def wrong_type(s: pl.DataFrame) -> pl.DataFrame:
        return s.with_columns(pl.col(name).cast(_NEIGHBOUR_TYPES.get(s.schema[name], pl.String)))

    yield Rule(name, f"dtype('{column.dtype}')", wrong_type)
    if not column.nullable:
        yield Rule(name, "not_nullable", lambda s: _set(s, name, lambda _series: None))
    if column.unique:
        yield Rule(name, "field_uniqueness", lambda s: _copy_row(s, [name]))
    for check in column.checks:
        make = _BREAKERS.get(check.name)
        label = str(check.error or check.name)
        if make is None:  # a custom check: the first of a few extreme values that it rejects
            yield Rule(name, label, partial(_set_first_rejected, column=name, check=check),
                       blocking=not check.raise_warning)
            continue
        stats = dict(check.statistics)
        yield Rule(name, label, partial(_set, column=name, value=partial(make, stats)), blocking=not check.raise_warning)


def _set_first_rejected(sample: pl.DataFrame, column: str, check: Any) -> pl.DataFrame:
    """``sample`` with row 0 of ``column`` set to the first candidate value ``check`` rejects."""
    from pandera.api.polars.types import PolarsData
    from pandera.backends.polars.checks import PolarsCheckBackend
    from pandera.constants import CHECK_OUTPUT_KEY

    for candidate in _candidates(sample.schema[column]):
        changed = _set(sample, column, partial(_constant, candidate))
        out = PolarsCheckBackend(check).apply(PolarsData(changed.lazy(), column))
        verdict = out if isinstance(out, bool) else out.collect()[CHECK_OUTPUT_KEY][0]
        if verdict is False:
            return changed
    raise UnsupportedCheckError(
        f"no automatic counter-example for check '{check.name}' on column '{column}': it accepts every candidate",
        where="assets.testing", fix="test this rule by hand")


def _constant(value: Any, _series: pl.Series) -> Any:
    return value


def _candidates(dtype: pl.DataType) -> list[Any]:
    if dtype.is_float():
        return [1e12, -1e12, 0.0, float("nan")]
    if dtype.is_integer():
        return [2**31 - 1, -(2**31), 0] if dtype.is_signed_integer() else [2**31 - 1, 0]
    if dtype == pl.Date:
        return [dt.date(9999, 12, 31), dt.date(1, 1, 1)]
    if dtype == pl.Datetime:
        return [dt.datetime(9999, 12, 31), dt.datetime(1, 1, 1)]
    if dtype == pl.Boolean:
        return [True, False]
    return ["", "\u2603" * 3, "x" * 10_000]


def _set(sample: pl.DataFrame, column: str, value: Callable[[pl.Series], Any]) -> pl.DataFrame:
    """``sample`` with row 0 of ``column`` set to ``value(column's series)``."""
    dtype = sample.schema[column]
    bad = pl.lit(value(sample[column]), dtype=dtype)
    return sample.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(bad).otherwise(pl.col(column)).alias(column))


def _copy_row(sample: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``sample`` with row 1's ``columns`` copied from row 0."""
    return sample.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.col(c).first()).otherwise(pl.col(c)).alias(c) for c in columns)


def _step(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return dt.timedelta(microseconds=1)
    if isinstance(value, dt.date):
        return dt.timedelta(days=1)
    return 1


def _below(value: Any) -> Any:
    return value - _step(value)


def _above(value: Any) -> Any:
    return value + _step(value)


def _not_matching(pattern: str, *_: Any) -> str:
    for candidate in ("", "!", " ", "\u2603" * 3):
        if not re.search(pattern, candidate):
            return candidate
    raise UnsupportedCheckError(f"pattern {pattern!r} matches every candidate", where="assets.testing",
                                fix="test this rule by hand")


def _not_in(allowed: list[Any], series: pl.Series) -> Any:
    if series.dtype == pl.String:
        return "__not_allowed__"
    return max(allowed) + _step(max(allowed))


def _too_long_or_short(stats: dict[str, Any], _series: pl.Series) -> str:
    """A string one character too long for ``str_length`` (exact, or a maximum), else too short."""
    limit = next((stats[k] for k in ("exact_value", "max_value") if stats.get(k) is not None), None)
    if limit is not None:
        return "x" * (int(limit) + 1)
    return "x" * (int(stats["min_value"]) - 1)


#: A type close enough that the column's value checks still pass, so only the dtype rule breaks.
_NEIGHBOUR_TYPES: dict[pl.DataType | type[pl.DataType], pl.DataType | type[pl.DataType]] = {
    pl.Int64: pl.Int32, pl.Int32: pl.Int64, pl.Float64: pl.Float32, pl.Float32: pl.Float64,
    pl.String: pl.Categorical, pl.Date: pl.Datetime("us"), pl.Boolean: pl.Int8,
}

_BREAKERS: dict[str, Callable[[dict[str, Any], pl.Series], Any]] = {
    "greater_than_or_equal_to": lambda s, _: _below(s["min_value"]),
    "greater_than": lambda s, _: s["min_value"],
    "less_than_or_equal_to": lambda s, _: _above(s["max_value"]),
    "less_than": lambda s, _: s["max_value"],
    "in_range": lambda s, _: _below(s["min_value"]) if s.get("include_min", True) else s["min_value"],
    "equal_to": lambda s, _: _above(s["value"]) if not isinstance(s["value"], str) else s["value"] + "x",
    "not_equal_to": lambda s, _: s["value"],
    "isin": lambda s, series: _not_in(list(s["allowed_values"]), series),
    "notin": lambda s, _: next(iter(s["forbidden_values"])),
    "str_matches": lambda s, _: _not_matching(s["pattern"]),
    "str_contains": lambda s, _: _not_matching(s["pattern"]),
    "str_startswith": lambda s, _: "\u2603" + s["string"],
    "str_endswith": lambda s, _: s["string"] + "\u2603",
    "str_length": _too_long_or_short,
}
