"""Parsing JSON read from disk, a store or a user's file: bytes nobody vouches for.

``json.loads`` raises :class:`RecursionError` (not a ``ValueError``) on text nested deeper than
Python's stack allows, such as ``"[" * 200000``; every reader of stored JSON already handles
``ValueError`` for malformed text, so :func:`load_json` turns the one into the other.
"""

from __future__ import annotations

import json
from typing import Any


def load_json(raw: bytes | bytearray | str) -> Any:
    """``raw`` parsed as JSON; raises ValueError (JSONDecodeError, UnicodeDecodeError, or "nested
    too deeply") for anything that is not JSON a reader can hold."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read (it is not a file the mesh wrote)") from None
