"""A contract's rules as one polars query: the gate's fast path.

Pandera's polars backend collects once per rule (each check, each nullability and uniqueness
test, twice for some), which costs about 0.3 ms a collect even on ten rows: most of the engine's
fixed cost per asset. :func:`every_rule_holds` builds the same rules from the same pandera
objects (each check through pandera's own check backend, nullability and uniqueness as pandera
defines them) and evaluates them all in one ``collect``. Pandera's built-in checks (``ge``,
``isin``, ``str_length``, ...) are pure functions of the column's name and their arguments, so
their expressions are taken from pandera once per contract (:func:`_builtin_verdicts`) rather
than built again for every frame; a custom check may depend on when it runs, and is applied to
each frame.

It only ever answers "every rule holds" (``True``). When a rule fails, or the contract uses
something this does not build (coercion, regex columns, ordered or filtered columns, grouped
checks, a non-default validation depth), it answers ``False`` or
``None`` and the gate runs pandera itself, which stays the judge and names every failure.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any, Literal

import pandera.backends.polars.builtin_checks  # noqa: F401 - registers the built-in checks for PolarsData
import pandera.polars as pa
import polars as pl
from pandera.api.function_dispatch import Dispatcher
from pandera.api.polars.types import PolarsData
from pandera.backends.polars.checks import PolarsCheckBackend
from pandera.config import ValidationDepth, get_config_context
from pandera.constants import CHECK_OUTPUT_KEY


@cache
def _supported(contract: type[pa.DataFrameModel]) -> bool:
    """Whether every feature ``contract`` uses is one this module builds exactly as pandera does."""
    schema = contract.to_schema()
    if schema.coerce or schema.ordered or schema.strict not in (True, False):
        return False
    if getattr(schema, "add_missing_columns", False) or getattr(schema, "drop_invalid_rows", False):
        return False
    if getattr(schema, "parsers", None):
        return False
    for column in schema.columns.values():
        if column.regex or column.coerce or column.default is not None or getattr(column, "parsers", None):
            return False
        if getattr(column, "drop_invalid_rows", False):
            return False
    checks = [*schema.checks, *(c for column in schema.columns.values() for c in column.checks)]
    return not any(check.groupby is not None for check in checks)


def _default_config() -> bool:
    config = get_config_context()
    return bool(config.validation_enabled) and config.validation_depth in (None, ValidationDepth.SCHEMA_AND_DATA)


def _check_passed(check: Any, frame: pl.LazyFrame, key: str, alias: str) -> pl.LazyFrame | bool:
    """One check's verdict as a one-row frame of one column named ``alias`` (or a bool), as
    pandera's backend decides it."""
    out = PolarsCheckBackend(check).apply(PolarsData(frame, key))
    if isinstance(out, bool):
        return out
    verdict = pl.col(CHECK_OUTPUT_KEY) | pl.col(CHECK_OUTPUT_KEY).is_null() if check.ignore_na \
        else pl.col(CHECK_OUTPUT_KEY).fill_null(False)
    return out.select(verdict.all().alias(alias))


class _SelectRecorder:
    """Stands in for a frame while a built-in check builds its expression: it records the one
    expression selected and hands back itself; any other use fails, and the check is then
    applied to each frame instead."""

    __slots__ = ("selected",)

    def __init__(self) -> None:
        self.selected: pl.Expr | None = None

    def select(self, *exprs: object, **named: object) -> _SelectRecorder:
        if named or len(exprs) != 1 or not isinstance(exprs[0], pl.Expr) or self.selected is not None:
            raise TypeError("not a single-expression selection")
        self.selected = exprs[0]
        return self


_BUILTIN_CHECKS = "pandera.backends.polars.builtin_checks"


def _builtin_verdict(check: Any, key: str) -> pl.Expr | None:
    """``check``'s verdict over column ``key`` as one aggregate expression, if it is one of
    pandera's built-in polars checks that selects a single expression; ``None`` otherwise."""
    dispatcher = check._check_fn
    if check.element_wise or not isinstance(dispatcher, Dispatcher):
        return None
    function = dispatcher._function_registry.get(PolarsData)
    if function is None or getattr(function, "__module__", None) != _BUILTIN_CHECKS:
        return None
    recorder = _SelectRecorder()
    try:
        out = partial(dispatcher, **check._check_kwargs)(PolarsData(recorder, key))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - it builds something else: applied to each frame instead
        return None
    if out is not recorder or recorder.selected is None:
        return None
    passed = recorder.selected
    verdict = passed | passed.is_null() if check.ignore_na else passed.fill_null(False)
    return verdict.all()


@cache
def _builtin_verdicts(contract: type[pa.DataFrameModel]) -> dict[tuple[str, int], pl.Expr]:
    """The verdicts of ``contract``'s built-in column checks, by (column, index of the check)."""
    verdicts: dict[tuple[str, int], pl.Expr] = {}
    for name, column in contract.to_schema().columns.items():
        for index, check in enumerate(column.checks):
            if (verdict := _builtin_verdict(check, name)) is not None:
                verdicts[(name, index)] = verdict
    return verdicts


def every_rule_holds(contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> bool | None:
    """``True`` if ``frame`` satisfies every rule of ``contract``; ``False`` if one fails;
    ``None`` when the contract uses a feature this does not build (run pandera)."""
    if not _supported(contract) or not _default_config():
        return None
    schema = contract.to_schema()
    present = frame.schema
    if schema.strict is True and not set(present).issubset(schema.columns):
        return False
    lazy = frame.lazy()
    built = _builtin_verdicts(contract)
    verdicts: list[pl.LazyFrame] = []
    data_rules: list[pl.Expr] = []
    for name, column in schema.columns.items():
        if name not in present:
            if column.required:
                return False
            continue
        if column.dtype is not None and not column.dtype.check(present[name], PolarsData(lazy.select(name), name)):
            return False
        if not column.nullable:
            valid = pl.col(name).is_not_null()
            data_rules.append((valid & pl.col(name).is_not_nan() if present[name].is_float() else valid).all())
        if column.unique:  # no value twice (pandera: none is_duplicated); counting them is half the work
            data_rules.append(pl.col(name).n_unique() == pl.len())
        for index, check in enumerate(column.checks):
            if check.raise_warning:  # never blocks: the gate reports it (assets.gate_warnings)
                continue
            if (expr := built.get((name, index))) is not None:
                data_rules.append(expr)
                continue
            verdict = _check_passed(check, lazy, name, f"check{len(verdicts)}")
            if verdict is False:
                return False
            if verdict is not True:
                verdicts.append(verdict)
    for check in schema.checks:
        if check.raise_warning:
            continue
        verdict = _check_passed(check, lazy, "*", f"check{len(verdicts)}")
        if verdict is False:
            return False
        if verdict is not True:
            verdicts.append(verdict)
    if schema.unique:
        groups = [schema.unique] if all(isinstance(c, str) for c in schema.unique) else schema.unique
        for group in groups:
            subset = [c for c in group if c in present]
            if not subset:
                return None
            data_rules.append(pl.struct(subset).n_unique() == pl.len())
    if data_rules:
        verdicts.append(lazy.select(rule.alias(f"rule{i}") for i, rule in enumerate(data_rules)))
    if not verdicts:
        return True
    engine = engine_for(frame.height)
    # every column named apart: check<i>, rule<i>
    query = verdicts[0] if len(verdicts) == 1 else pl.concat(verdicts, how="horizontal")
    row = (query.collect(engine=engine, optimizations=_IN_MEMORY_FLAGS) if engine == "in-memory"
           else query.collect(engine=engine)).row(0)
    return all(value is True for value in row)


#: Below this many rows polars' in-memory engine answers the rules' query sooner than its default
#: (streaming) engine, whose set-up dominates a small frame: measured here, 0.17 against 0.67 ms at
#: 100 rows, 0.62 against 1.33 ms at 10,000; at 100,000 they are even, at 1M streaming is 2.7x faster.
IN_MEMORY_BELOW_ROWS = 50_000


#: How a small frame's rules are collected: every rule reads the frame already in memory, so
#: finding the plans' common part (which wraps it in a cache node, then fills and reads that
#: cache) costs more than it saves; measured here, 0.36 against 0.49 ms for the rules of 10 rows.
#: The answer is the same either way: optimizations never change a query's result.
_IN_MEMORY_FLAGS = pl.QueryOptFlags(comm_subplan_elim=False)


def engine_for(rows: int) -> Literal["in-memory", "auto"]:
    """The polars engine that collects a query over ``rows`` rows held in memory."""
    return "in-memory" if rows < IN_MEMORY_BELOW_ROWS else "auto"
