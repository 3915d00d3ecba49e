"""``@source_asset``: data that arrives from outside the mesh, observed, gated and published.

An observed source is an asset whose rows are not computed from other assets but arrive as
files in a drop (a folder, or an object-store prefix; see :mod:`assets.drops` for the location
syntax, when a file counts as arrived and how each file is known). Observing it runs the same
step as any asset (:func:`assets.step.run_asset`): the newest arrived file not yet published is
read, passed to the function, gated with the contract (a failure quarantines the rows and
publishes nothing) and published as a version whose manifest records the file (``observed``).
With nothing new, it publishes nothing (:attr:`~assets.results.Status.UNCHANGED`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandera.polars as pa

from assets.definition import AssetDefinition, AssetFn, _define
from assets.drops import DEFAULT_SETTLE, Drop
from assets.errors import DefinitionError
from assets.schedule import parse_duration


def source_asset(
    *,
    drop: str,
    contract: type[pa.DataFrameModel] | None = None,
    contract_version: str = "",
    settle: str | None = None,
    visibility: str = "private",
    owners: list[str] | tuple[str, ...] = (),
    freshness: str | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    retries: int = 2,
    name: str | None = None,
    deprecated: str | None = None,
    replaced_by: str | None = None,
) -> Callable[[AssetFn], AssetDefinition]:
    """Declare an observed source: files dropped at ``drop`` become its versions.

    ``drop`` is ``"<folder>/<glob>"`` (relative to the mesh root, or absolute) or
    ``"s3://<bucket>/<prefix>/<glob>"``, the glob ending in ``.csv`` or ``.parquet``.
    ``settle`` (``"2s"`` by default, ``"0s"`` to rely on renames alone) is how long a file must
    stay unmodified before it is read. The function receives the arrived rows as a
    ``pl.LazyFrame`` (CSV columns named by the contract are read as its types) and returns the
    asset's frame; it may also take ``context``. The other options are ``@asset``'s::

        @source_asset(drop="drops/marketing/web_leads/*.csv", contract=WebLeads, contract_version="1.0.0")
        def web_leads(arrived: pl.LazyFrame) -> pl.LazyFrame:
            return arrived
    """

    def decorate(func: AssetFn) -> AssetDefinition:
        where = f"{func.__code__.co_filename}:{func.__code__.co_firstlineno}"
        label = f"source asset '{name or func.__name__}'"
        try:
            seconds = parse_duration(settle).total_seconds() if settle is not None else DEFAULT_SETTLE
            parsed = Drop(drop, settle=seconds)
        except ValueError as exc:
            raise DefinitionError(f"{label}: bad drop or settle: {exc}", where=where,
                                  fix="write drop='drops/<domain>/<name>/*.csv' (or s3://bucket/prefix/*.parquet) "
                                      "and settle like '2s'") from None
        return _define(func, contract=contract, contract_version=contract_version, ins={}, schedule=None,
                       trigger="all", visibility=visibility, owners=tuple(owners), freshness=freshness,
                       tags=dict(tags or {}), description=description, retries=retries, name=name,
                       column_lineage={}, deprecated=deprecated, replaced_by=replaced_by, drop=parsed)

    return decorate
