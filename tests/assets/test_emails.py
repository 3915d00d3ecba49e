"""One e-mail grammar for owners, people and actors: addresses as people write them, and nothing
that could be read as a path or hide a character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.emails import is_email, normalize_email


@pytest.mark.parametrize("address", [
    "alice@acme.example", "sales-data@acme.example", "first.last+tag@mail.acme.example",
    "o'brien@acme.example", "jürgen@beispiel.example", "x@a-b.example",
])
def test_addresses_people_write_are_addresses(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize("text", [
    pytest.param("../../tmp/x@acme.example", id="a-path"),
    pytest.param("a/b@acme.example", id="a-slash"),
    pytest.param(".alice@acme.example", id="leading-dot"),
    pytest.param("alice.@acme.example", id="trailing-dot"),
    pytest.param("al..ice@acme.example", id="double-dot"),
    pytest.param("alice@acme..example", id="empty-label"),
    pytest.param("alice@-acme.example", id="label-starts-with-a-hyphen"),
    pytest.param("alice@acme", id="no-dot-in-the-host"),
    pytest.param("alice@@acme.example", id="two-ats"),
    pytest.param("al ice@acme.example", id="a-space"),
    pytest.param("alice@acme.example\n", id="a-newline"),
    pytest.param("ali\x1bce@acme.example", id="an-escape"),
    pytest.param("a" * 250 + "@acme.example", id="too-long"),
    pytest.param("sales team", id="no-at"),
])
def test_what_is_not_an_address_is_refused(text: str) -> None:
    assert not is_email(text)


@given(st.one_of(st.text(), st.binary(), st.none(), st.integers()))
def test_any_value_is_answered_without_an_error(value: object) -> None:
    assert is_email(value) in (True, False)


@given(st.text())
def test_an_address_never_holds_a_path_separator_or_a_control_character(text: str) -> None:
    if is_email(text):
        assert "/" not in text and "\\" not in text and ".." not in text and text.isprintable()


def test_normalising_strips_and_case_folds() -> None:
    assert normalize_email("  Alice@ACME.Example ") == "alice@acme.example"
