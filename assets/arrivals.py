"""Reading an observed source's newest arrival into a frame, for the step (:mod:`assets.step`).

Which file is read, and when a file counts as arrived, is :mod:`assets.drops`'s rule. A CSV
file's columns named by the contract are read as the contract's types; a Parquet file is read
as it is. A file that cannot be read (not CSV or Parquet, truncated, a value of the wrong type)
is a :class:`~assets.errors.CorruptDataError` naming the file, never a traceback; it is not
retried, and nothing is published.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from assets.drops import Arrival, ChangedWhileRead, Drop, Fetched, fetch_newest
from assets.errors import CorruptDataError, StorageError
from assets.named_files import TooLarge
from assets.storage import Manifest

#: The most of a reader's error message kept in the error (hostile files make long ones).
_MESSAGE = 300
#: Listings and reads of a drop whose newest file keeps changing before the observation gives up.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ArrivedFrame:
    """The newest arrival of a drop and its rows."""

    arrival: Arrival
    frame: pl.LazyFrame


def read_newest(key: str, drop: Drop, contract: type[pa.DataFrameModel], root: Path,
                current: Manifest | None, *, now: float | None = None) -> ArrivedFrame | None:
    """The newest complete file of ``drop`` that ``current`` was not made from, read; ``None``
    when nothing new arrived. The file is read once: the checksum recorded is of the bytes parsed.
    Raises :class:`StorageError` when the drop cannot be listed or read, or its newest file keeps
    changing while it is read, and :class:`CorruptDataError` when the file cannot be parsed."""
    where = drop.location if drop.on_s3 else str(drop.folder_at(root))
    fetched = _fetch(key, drop, root, current, where, time.time() if now is None else now)
    if fetched is None:
        return None
    arrival = fetched.arrival
    try:
        frame = _parse(drop, fetched.data, contract)
    except (Exception, pl.exceptions.PanicException) as exc:  # whatever a hostile file makes the reader raise
        message = _first_paragraph(exc)
        raise CorruptDataError(
            f"'{key}' cannot read the arrived file {arrival.name} as {drop.format.upper()} "
            f"({type(exc).__name__}: {message})", where=arrival.uri,
            fix=f"replace it with a complete {drop.format.upper()} file whose columns have the contract's types; "
                "write it under a temporary name and rename it into place") from None
    return ArrivedFrame(arrival=arrival, frame=frame)


def _fetch(key: str, drop: Drop, root: Path, current: Manifest | None, where: str, now: float) -> Fetched | None:
    """The newest arrival and its bytes, read once (:func:`assets.drops.fetch_newest`), listed
    again if the file changed between its listing and its read, up to ``_ATTEMPTS`` times."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return fetch_newest(drop, root, observed=current.observed if current else None, now=now)
        except ChangedWhileRead as exc:
            if attempt == _ATTEMPTS:
                raise StorageError(f"the newest file of the drop of '{key}' changed while it was read, "
                                   f"{_ATTEMPTS} times in a row ({exc.strerror})", where=str(exc.filename or where),
                                   fix="write each file under a temporary name (.tmp, .part) and rename it into place "
                                       "when complete; the next observation reads it") from None
        except TooLarge as exc:
            raise StorageError(f"the newest file of the drop of '{key}' cannot be read: {exc.strerror}",
                               where=str(exc.filename or where),
                               fix="split it into smaller files (each is read into memory whole to be parsed), or "
                                   "give the process more memory") from None
        except OSError as exc:
            raise StorageError(f"the drop of '{key}' cannot be read ({type(exc).__name__}: {exc})", where=where,
                               fix="check that the folder or bucket exists and is readable") from None
    return None


def _first_paragraph(exc: BaseException) -> str:
    """What went wrong, without the advice polars appends for its own callers (``infer_schema_length``,
    ``ignore_errors``: settings of a reader the mesh configures, not the person who dropped the file)."""
    return str(exc).split("\n\n", 1)[0].replace("\n", " ")[:_MESSAGE]


def _parse(drop: Drop, raw: bytes, contract: type[pa.DataFrameModel]) -> pl.LazyFrame:
    if drop.format == "parquet":
        return pl.read_parquet(io.BytesIO(raw)).lazy()
    return pl.read_csv(io.BytesIO(raw), schema_overrides=_csv_types(contract)).lazy()


def _csv_types(contract: type[pa.DataFrameModel]) -> dict[str, Any]:
    """The contract's polars type of each of its columns (CSV files carry no types)."""
    types: dict[str, Any] = {}
    for name, column in contract.to_schema().columns.items():
        dtype = getattr(column.dtype, "type", None)
        if isinstance(dtype, pl.DataType) or (isinstance(dtype, type) and issubclass(dtype, pl.DataType)):
            types[name] = dtype
    return types


def unusable_arrival(key: str, observed: Mapping[str, Any], failure: str, exc: BaseException | None = None) -> str:
    """The error of a source whose function failed on the arrived file ``observed`` (not retried);
    a column the function reads that the file lacks (``exc``) is named as the file's fault."""
    if isinstance(exc, pl.exceptions.ColumnNotFoundError):
        failure = f"the file has no column the source reads ({_first_paragraph(exc)})"
    return str(CorruptDataError(
        f"'{key}' failed on the arrived file {observed.get('file')}: {failure[:_MESSAGE]}", where=str(observed.get("uri")),
        fix="check that the file has the columns and types the contract names; replace it with a corrected file"))
