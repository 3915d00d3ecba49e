"""load_json: stored JSON nobody vouches for fails as ValueError, whatever it holds."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.stored_json import load_json


@pytest.mark.parametrize("raw", [b"[" * 200_000, "{\"a\":" * 200_000, b"", b"{"])
def test_json_too_deep_or_malformed_is_a_decode_error(raw: bytes | str) -> None:
    with pytest.raises(json.JSONDecodeError):
        load_json(raw)


def test_bytes_that_are_not_utf8_are_a_value_error() -> None:
    with pytest.raises(ValueError):
        load_json(b"[\"\xff\"]")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_json_the_mesh_writes_reads_back_unchanged(value: object) -> None:
    assert load_json(json.dumps(value).encode()) == value


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_value_error(raw: bytes) -> None:
    try:
        load_json(raw)
    except ValueError:
        pass
