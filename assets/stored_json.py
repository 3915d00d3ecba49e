"""Parsing JSON read from disk, a store or a user's file: bytes nobody vouches for.

``json.loads`` raises :class:`RecursionError` (not a ``ValueError``) on text nested deeper than
Python's stack allows, such as ``"[" * 200000``; every reader of stored JSON already handles
``ValueError`` for malformed text, so :func:`load_json` turns the one into the other.
"""

from __future__ import annotations

import json
from typing import Any


def load_json(raw: bytes | bytearray | str) -> Any:
    """``raw`` parsed as JSON; raises ValueError for anything that is not JSON a reader can hold:
    JSONDecodeError (malformed, or nested too deeply), UnicodeDecodeError, or the ValueError of an
    integer of thousands of digits."""
    try:
        return json.loads(raw)
    except RecursionError:  # a JSONDecodeError: to its readers it is as much "not JSON" as a torn line
        raise json.JSONDecodeError("the JSON is nested too deeply to read (it is not a file the mesh wrote)",
                                   "", 0) from None
