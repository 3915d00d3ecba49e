"""Column types between a pandera polars contract and ODCS: the ``logicalType`` (what the values
are), the ``physicalType`` (how the stored Parquet file holds them, as the SQL type DuckDB and
datacontract-cli read it with) and the annotation a generated contract module writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from assets.errors import MeshError


class OdcsError(MeshError):
    """A contract cannot be written as ODCS, or an ODCS document cannot be read as a contract."""


@dataclass(frozen=True, slots=True)
class ColumnType:
    """One column type in its three spellings."""

    logical: str
    physical: str
    annotation: str
    dtype: pl.DataType


def _types() -> list[ColumnType]:
    def t(logical: str, physical: str, annotation: str, dtype: pl.DataType) -> ColumnType:
        return ColumnType(logical, physical, annotation, dtype)

    return [
        t("integer", "BIGINT", "int", pl.Int64()), t("integer", "INTEGER", "pl.Int32", pl.Int32()),
        t("integer", "SMALLINT", "pl.Int16", pl.Int16()), t("integer", "TINYINT", "pl.Int8", pl.Int8()),
        t("integer", "UBIGINT", "pl.UInt64", pl.UInt64()), t("integer", "UINTEGER", "pl.UInt32", pl.UInt32()),
        t("integer", "USMALLINT", "pl.UInt16", pl.UInt16()), t("integer", "UTINYINT", "pl.UInt8", pl.UInt8()),
        t("number", "DOUBLE", "float", pl.Float64()), t("number", "FLOAT", "pl.Float32", pl.Float32()),
        t("string", "VARCHAR", "str", pl.String()), t("boolean", "BOOLEAN", "bool", pl.Boolean()),
        t("date", "DATE", "dt.date", pl.Date()), t("time", "TIME", "dt.time", pl.Time()),
        t("timestamp", "TIMESTAMP", "dt.datetime", pl.Datetime("us")),
        t("timestamp", "TIMESTAMP_MS", 'pl.Datetime("ms")', pl.Datetime("ms")),
        t("timestamp", "TIMESTAMP_NS", 'pl.Datetime("ns")', pl.Datetime("ns")),
        t("timestamp", "TIMESTAMP WITH TIME ZONE", 'pl.Datetime("us", "UTC")', pl.Datetime("us", "UTC")),
    ]


#: What a physical type other tools write means here (DuckDB's aliases).
_ALIASES = {"INT8": "BIGINT", "LONG": "BIGINT", "INT": "INTEGER", "INT4": "INTEGER", "INT2": "SMALLINT",
            "INT1": "TINYINT", "FLOAT8": "DOUBLE", "REAL": "FLOAT", "FLOAT4": "FLOAT", "STRING": "VARCHAR",
            "TEXT": "VARCHAR", "BOOL": "BOOLEAN", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
            "DATETIME": "TIMESTAMP", "TIMESTAMP_US": "TIMESTAMP"}
#: The type a logical type alone (no physical type this module knows) stands for.
_LOGICAL_DEFAULT = {"integer": "BIGINT", "number": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN",
                    "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP"}
#: The types a generated module can declare, by physical type and as the mesh writes them.
SUPPORTED = ", ".join(t.physical for t in _types())


def column_type(dtype: pl.DataType, *, column: str, where: str) -> ColumnType:
    """The ODCS spelling of a contract column's polars ``dtype``."""
    for known in _types():
        if known.dtype == dtype and str(known.dtype) == str(dtype):
            return known
    if isinstance(dtype, pl.Decimal):
        precision = dtype.precision if dtype.precision is not None else 38
        return ColumnType("number", f"DECIMAL({precision},{dtype.scale})", f"pl.Decimal({precision}, {dtype.scale})",
                          dtype)
    raise OdcsError(f"column '{column}' has type {dtype}, which has no ODCS type here", where=where,
                    fix=f"declare it as one of {SUPPORTED} or DECIMAL(p,s) (or cast it in the asset)")


def parse_type(physical: str | None, logical: str | None, *, column: str, where: str) -> ColumnType:
    """The column type an ODCS property declares: its physical type when this module knows it,
    else the default of its logical type."""
    if physical:
        name = re.sub(r"\s+", " ", physical.strip().upper())
        name = _ALIASES.get(name, name)
        if re.fullmatch(r"(VARCHAR|CHAR)\s*\(\s*\d+\s*\)", name):
            name = "VARCHAR"
        decimal = re.fullmatch(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", name)
        if decimal:
            p, s = int(decimal[1]), int(decimal[2])
            return ColumnType("number", f"DECIMAL({p},{s})", f"pl.Decimal({p}, {s})", pl.Decimal(p, s))
        for known in _types():
            if known.physical == name:
                return known
    if logical in _LOGICAL_DEFAULT:
        return parse_type(_LOGICAL_DEFAULT[logical], None, column=column, where=where)
    raise OdcsError(f"property '{column}' has physicalType {physical!r} and logicalType {logical!r}, which a "
                    "pandera polars contract cannot declare", where=where,
                    fix=f"use a logicalType of {', '.join(sorted(_LOGICAL_DEFAULT))} or a physicalType of "
                        f"{SUPPORTED}")
