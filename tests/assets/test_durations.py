"""Durations as mesh.toml, ``@asset(freshness=...)`` and ``--since`` write them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.schedule import parse_duration


@pytest.mark.parametrize(("text", "expected"), [("30m", dt.timedelta(minutes=30)), ("2h", dt.timedelta(hours=2)),
                                                ("1d", dt.timedelta(days=1)), ("1w", dt.timedelta(weeks=1))])
def test_a_duration_is_a_number_and_a_unit(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@given(st.one_of(st.text(max_size=16), st.integers(min_value=0, max_value=10**30).map(lambda n: f"{n}d")))
def test_any_text_is_a_duration_or_a_value_error(text: str) -> None:
    try:
        parse_duration(text)
    except ValueError as exc:
        assert str(exc)
