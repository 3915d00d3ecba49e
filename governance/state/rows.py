"""Checking the scalar columns of a state database row: values nobody vouches for once stored.

A row may be edited by hand, restored from elsewhere, or hold what SQLite's loose typing keeps
(a float in an integer column, bytes in a text one). A reader checks the columns it computes with
inside :func:`checked`; each check raises :class:`ValueError` saying what is wrong, which
:func:`checked` turns into one :class:`StateError` naming the row and the fix. JSON columns are
read with :func:`governance.state.stored.column_json`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from governance.state.database import StateError
from governance.state.stored import FIX as STORED_FIX

#: Years a time the mesh stamps may hold: outside these, date arithmetic on it (an age, a window,
#: a back-off) would leave the range of ``datetime``.
YEARS = range(1970, 9000)
#: The largest count (of attempts, of firings) a row may hold: far above what the mesh counts.
MAX_COUNT = 2**31 - 1


@contextmanager
def checked(what: str, where: str) -> Iterator[None]:
    """Turn a :class:`ValueError` of a check of ``what`` (``lineage event 7``) into one
    :class:`StateError` at ``where`` (the table) that names it, with the fix for a row the mesh
    did not write."""
    try:
        yield
    except ValueError as exc:
        raise StateError(f"{what} is not one the mesh wrote ({exc})", where=where, fix=STORED_FIX) from None


def require_texts(row: Mapping[Any, Any], texts: Iterable[str], optional: Iterable[str] = ()) -> None:
    """Raise :class:`ValueError` unless each column of ``texts`` holds text, and each of
    ``optional`` text or nothing (NULL)."""
    for column in texts:
        if not isinstance(row[column], str):
            raise ValueError(f"its {column} is {_kind(row[column])}, not text")
    for column in optional:
        if row[column] is not None and not isinstance(row[column], str):
            raise ValueError(f"its {column} is {_kind(row[column])}, not text")


def stored_time(value: object, column: str) -> dt.datetime:
    """``value`` (the column ``column``) as the UTC time it stamps: ISO 8601 text with a zone, in
    :data:`YEARS`. Raises :class:`ValueError` for anything else."""
    try:
        at = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or at.year not in YEARS:
        raise ValueError(f"its {column} is no UTC time the mesh stamps")
    return at.astimezone(dt.UTC)


def stored_count(value: object, column: str) -> int:
    """``value`` (the column ``column``) as a count: a whole number from 0 to :data:`MAX_COUNT`.
    Raises :class:`ValueError` for anything else (a float, text, a flag, a huge number)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"its {column} is no count the mesh keeps")
    return value


def _kind(value: object) -> str:
    """What ``value`` is, for a message: ``empty (NULL)``, ``a number``, ``bytes``."""
    if value is None:
        return "empty (NULL)"
    return "bytes" if isinstance(value, bytes | bytearray | memoryview) else f"a {type(value).__name__}"
