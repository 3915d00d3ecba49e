"""The gate's one-query fast path says "every rule holds" exactly when pandera does, and steps
aside for what it does not build."""

from __future__ import annotations

import math

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.gate_plan import every_rule_holds


class Rules(pa.DataFrameModel):
    id: int = pa.Field(ge=1, unique=True)
    qty: int = pa.Field(in_range={"min_value": 1, "max_value": 10})
    price: float = pa.Field(gt=0)
    code: str = pa.Field(str_matches=r"^[A-Z]{3}$")
    channel: str = pa.Field(isin=["web", "store"], nullable=True)
    note: str | None = pa.Field(nullable=True, str_length={"max_value": 5})
    ratio: float | None = pa.Field(nullable=True, le=1.0)
    weight: float = pa.Field()  # no check: NaN fails only as a null

    @pa.check("qty", name="even")
    @classmethod
    def even(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) % 2 == 0)

    @pa.dataframe_check
    @classmethod
    def price_covers_qty(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("price") >= pl.col("qty") * 0.1)

    class Config:
        strict = True


def _pandera_passes(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> bool:
    try:
        model.validate(frame, lazy=True)
        return True
    except (pa_errors.SchemaErrors, pa_errors.SchemaError, pl.exceptions.PolarsError):
        return False  # pandera raising anything is no pass (it fails to gather some mixed failures)


_VALID: dict[str, list[object]] = {
    "qty": [2, 4, 10], "price": [1.0, 5.5, math.inf], "code": ["ABC", "XYZ"], "channel": ["web", "store", None],
    "note": ["hi", "hello", None], "ratio": [0.5, 1.0, None, -2.0], "weight": [1.0, 0.0, -3.5]}
_INVALID: dict[str, list[object]] = {
    "id": [0, -1, None, 1], "qty": [3, 0, 12, None], "price": [0.0, -1.0, math.nan, None, 0.01],
    "code": ["abc", "ABCD", "", None], "channel": ["mail"], "note": ["too long"], "ratio": [1.5, math.nan],
    "weight": [math.nan, None]}
_SCHEMA = {"id": pl.Int64, "qty": pl.Int64, "price": pl.Float64, "code": pl.String, "channel": pl.String,
           "note": pl.String, "ratio": pl.Float64, "weight": pl.Float64}
_ROW = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in _VALID.items()})
_BREAK = st.one_of(st.none(), st.sampled_from(sorted(_INVALID)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(_INVALID[name]), st.integers(0, 3))))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(_ROW, min_size=0, max_size=4), breaking=_BREAK,
       shape=st.sampled_from([None] * 8 + ["extra", "no note", "no id"]))
def test_the_one_query_verdict_is_pandera_s(rows: list[dict[str, object]],
                                            breaking: tuple[str, object, int] | None, shape: str | None) -> None:
    """Valid frames, each changed in at most one way (a value that breaks a rule, a column too
    many or too few): the one query passes exactly the frames pandera passes."""
    rows = [{"id": i + 1, **row} for i, row in enumerate(rows)]
    if breaking is not None and rows:
        name, value, at = breaking
        rows[at % len(rows)][name] = value
    frame = pl.DataFrame(rows, schema=_SCHEMA)
    if shape == "extra":
        frame = frame.with_columns(pl.lit(1).alias("unexpected"))
    elif shape is not None:
        frame = frame.drop(shape.removeprefix("no "))
    assert (every_rule_holds(Rules, frame) is True) == _pandera_passes(Rules, frame)


class Pairs(pa.DataFrameModel):
    a: str | None = pa.Field(nullable=True)
    b: int | None = pa.Field(nullable=True)

    class Config:
        unique = ["a", "b"]


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["x", "y", None]), st.sampled_from([1, 2, None])), max_size=4),
       drop=st.sampled_from([None, None, None, "a", "b"]))
def test_uniqueness_over_several_columns_is_pandera_s(rows: list[tuple[object, object]], drop: str | None) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.Int64}, orient="row")
    if drop:
        frame = frame.drop(drop)
    verdict = every_rule_holds(Pairs, frame)
    assert verdict is None or (verdict is True) == _pandera_passes(Pairs, frame)


def test_a_wrong_dtype_is_not_passed() -> None:
    frame = pl.DataFrame({"id": [1], "qty": [2], "price": [1], "code": ["ABC"], "channel": ["web"], "note": ["a"],
                          "ratio": [0.5], "weight": [1.0]})  # price is an integer column
    assert every_rule_holds(Rules, frame) is False and not _pandera_passes(Rules, frame)


class Coerced(pa.DataFrameModel):
    x: int = pa.Field(ge=0)

    class Config:
        coerce = True


class Warned(pa.DataFrameModel):
    x: int = pa.Field(ge=0)

    @pa.check("x", raise_warning=True)
    @classmethod
    def small(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) < 10)


@pytest.mark.parametrize("model", [Coerced])
def test_what_it_does_not_build_is_left_to_pandera(model: type[pa.DataFrameModel]) -> None:
    assert every_rule_holds(model, pl.DataFrame({"x": [1]})) is None


def test_a_warning_check_is_no_rule_of_the_one_query_verdict() -> None:
    assert every_rule_holds(Warned, pl.DataFrame({"x": [50]})) is True, "a warning never blocks"
    assert every_rule_holds(Warned, pl.DataFrame({"x": [-1]})) is False


class Measures(pa.DataFrameModel):
    m: float | None = pa.Field(nullable=True, unique=True)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.sampled_from([1.0, 2.0, -0.0, 0.0, math.nan, math.inf, None]), max_size=5))
def test_uniqueness_of_floats_with_nan_and_nulls_is_pandera_s(values: list[float | None]) -> None:
    frame = pl.DataFrame({"m": values}, schema={"m": pl.Float64})
    assert (every_rule_holds(Measures, frame) is True) == _pandera_passes(Measures, frame)


_LIMIT = [10]


class Moving(pa.DataFrameModel):
    x: int = pa.Field(ge=0)
    tag: str = pa.Field(unique_values_eq=["a", "b"], str_length={"exact_value": 1})

    @pa.check("x")
    @classmethod
    def below_the_limit(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) < _LIMIT[0])  # read when it runs, as a date "today" would be


def test_a_custom_check_is_built_for_each_frame_and_a_built_in_one_once() -> None:
    frame = pl.DataFrame({"x": [5, 7], "tag": ["a", "b"]})
    assert every_rule_holds(Moving, frame) is True and _pandera_passes(Moving, frame)
    _LIMIT[0] = 6
    try:
        assert every_rule_holds(Moving, frame) is False and not _pandera_passes(Moving, frame), \
            "a custom check must see the state it reads when the frame is gated"
    finally:
        _LIMIT[0] = 10
    for broken in ({"x": [-1, 7], "tag": ["a", "b"]}, {"x": [5, 7], "tag": ["a", "a"]}, {"x": [5, 7], "tag": ["a", "bb"]}):
        assert every_rule_holds(Moving, pl.DataFrame(broken)) is False and not _pandera_passes(Moving, pl.DataFrame(broken))


class Builtins(pa.DataFrameModel):
    """Every other built-in polars check, each built once per contract into the one query."""

    a: int | None = pa.Field(nullable=True, lt=10, ne=5, notin=[7])
    b: int = pa.Field(eq=1)
    c: float = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0, "include_min": False, "include_max": False})
    s: str | None = pa.Field(nullable=True, str_contains="x", str_startswith="a", str_endswith="z",
                             str_length={"min_value": 3})
    t: str = pa.Field(str_length={"exact_value": 2}, ignore_na=False)


_BUILTIN_VALUES: dict[str, list[object]] = {
    "a": [1, 5, 7, 9, 10, 11, None], "b": [1, 0, 2], "c": [0.0, 0.5, 1.0, math.nan, 0.99],
    "s": ["axz", "ayz", "xaz", "axy", "az", "abxz", None], "t": ["ab", "a", "abc", "xy"]}


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _BUILTIN_VALUES.items()}),
                     min_size=0, max_size=4))
def test_the_built_in_checks_built_once_judge_as_pandera_does(rows: list[dict[str, object]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int64, "c": pl.Float64, "s": pl.String,
                                       "t": pl.String})
    for _ in range(2):  # the first call builds the expressions, the second reuses them
        assert (every_rule_holds(Builtins, frame) is True) == _pandera_passes(Builtins, frame)
