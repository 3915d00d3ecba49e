"""printable: what the CLI shows of a name from a file or a user is one line a terminal only displays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assets.errors import printable


@given(st.text())
def test_any_text_is_shown_as_one_line_of_printable_characters(text: str) -> None:
    shown = printable(text)
    assert shown.isprintable() and "\n" not in shown and "\x1b" not in shown


@given(st.text().filter(str.isprintable))
def test_printable_text_is_shown_unchanged(text: str) -> None:
    assert printable(text) == text


def test_escapes_and_newlines_are_shown_as_their_escapes() -> None:
    assert printable("a\x1b[31m\nb\rc\udcff") == "a\\x1b[31m\\nb\\rc\\udcff"
    assert printable("one\ntwo", keep="\n") == "one\ntwo"
