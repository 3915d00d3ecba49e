"""Reasons and errors cut to fit never end in half a word."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from governance.ops.clip import clip


def test_a_short_line_is_kept_whole_and_only_the_first_line_is_shown() -> None:
    assert clip("gate failed: 3 rows\nsecond line", 40) == "gate failed: 3 rows"


def test_a_leading_blank_line_is_passed_over_and_no_width_shows_nothing() -> None:
    assert clip("\n  real error\nmore", 20) == "real error"
    assert clip("abc def ghi", 0) == "" and clip("abc def ghi", 1) == "a"


def test_a_long_line_is_cut_after_a_whole_word() -> None:
    assert clip("the column amount failed greater_than_or_equal_to(0) in 12 rows", 40) == \
        "the column amount failed…"


def test_a_long_word_is_cut_inside_rather_than_losing_the_line() -> None:
    assert clip("at /srv/mesh/.mesh/regions/us-east/sales/orders/manifest.json", 30) == "at /srv/mesh/.mesh/regions/us…"


@given(st.text(), st.integers(min_value=0, max_value=300))
def test_a_clipped_line_fits_and_is_a_prefix_of_the_first_line_that_is_not_blank(text: str, width: int) -> None:
    shown = clip(text, width)
    first = next((part.strip() for part in text.splitlines() if part.strip()), "")
    assert len(shown) <= width and "\n" not in shown
    assert first.startswith(shown.removesuffix("…"))
