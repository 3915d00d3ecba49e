"""The run history: every asset update, from either runner, in the state database.

Recording is idempotent (one row per asset version), and safe with several writers on several
hosts: each write is one short transaction. The history an earlier mesh kept in
``.mesh/state/history.sqlite`` is imported on first use (:mod:`governance.state.legacy`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from assets.events import AssetUpdate
from assets.names import is_asset_key
from governance.state import StateDatabase, StateError
from governance.state.legacy import import_once, insert_new, sqlite_rows
from governance.state.schema import updates
from governance.state.stored import FIX as STORED_FIX
from governance.state.stored import column_json

#: The file an earlier mesh kept the run history in, under ``.mesh``.
LEGACY_FILE = Path("state") / "history.sqlite"


@dataclass(frozen=True, slots=True)
class RunHistory:
    """The run history in ``database``; ``legacy`` is an earlier mesh's file to import first."""

    database: StateDatabase
    legacy: Path | None = None

    def record(self, update: AssetUpdate) -> bool:
        """Record ``update``; ``False`` if this version was recorded before."""
        self._import()
        with self.database.write() as conn:
            result = conn.execute(insert_new(conn, updates).values(
                key=update.key, version=update.version, run_id=update.run_id, source=update.source,
                rows=update.summary.get("rows"), summary=json.dumps(dict(update.summary), sort_keys=True),
                recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")).returning(updates.c.key))
            return result.first() is not None

    def for_asset(self, key: str, limit: int = 20, *, partition: str | None = None) -> list[dict[str, Any]]:
        """The latest updates of ``key`` (of its ``partition`` only, if given), newest first; each
        with its ``partition`` (``None`` for an unpartitioned asset)."""
        self._import()
        query = select(updates).where(updates.c.key == key)
        if partition is not None:  # the summary is JSON with sorted keys: match its exact member
            member = json.dumps({"partition": partition})[1:-1]
            escaped = member.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(updates.c.summary.like(f"%{escaped}%", escape="\\"))
        with self.database.read() as conn:
            rows = conn.execute(query.order_by(updates.c.version.desc()).limit(limit)).mappings().all()
        found = [dict(self._checked(r)) | {"summary": self._summary(r)} for r in rows]
        return [r | {"partition": r["summary"].get("partition")} for r in found]

    def _summary(self, row: Any) -> dict[str, Any]:
        """The recorded summary of an update row, refused with :class:`StateError` unless it is
        the JSON object the mesh wrote."""
        what = f"the summary of {str(row['key'])[:200]} version {str(row['version'])[:80]}"
        summary = column_json(row["summary"], what=what, where=self.database.where)
        if not isinstance(summary, dict):
            raise StateError(f"{what} is not a JSON object", where=self.database.where, fix=STORED_FIX)
        return summary

    def published(self) -> dict[str, list[str]]:
        """Every recorded version of every asset, oldest first: what passed its gate and was
        published, as the handlers saw it (independent of any storage region)."""
        self._import()
        with self.database.read() as conn:
            rows = conn.execute(select(updates.c.key, updates.c.version)
                                .order_by(updates.c.key, updates.c.version)).all()
        found: dict[str, list[str]] = {}
        for row in rows:
            key, version = self._checked(row._mapping)["key"], row._mapping["version"]
            found.setdefault(key, []).append(version)
        return found

    def _checked(self, row: Any) -> Any:
        """``row`` of the updates table, refused with :class:`StateError` unless its key is an asset
        key, its version text and its row count a number (what storage and `mesh history` use)."""
        rows = row.get("rows")
        if (is_asset_key(row["key"]) and isinstance(row["version"], str) and row["version"]
                and (rows is None or isinstance(rows, int) and not isinstance(rows, bool))):
            return row
        raise StateError(f"the update of {str(row['key'])[:200]!r} version {str(row['version'])[:80]!r} is not one the "
                         "mesh recorded (its key, version or row count)", where=self.database.where, fix=STORED_FIX)

    def version_counts(self) -> dict[str, int]:
        """How many versions of each asset were recorded (one query, however long the history)."""
        self._import()
        with self.database.read() as conn:
            rows = conn.execute(select(updates.c.key, func.count()).group_by(updates.c.key)).all()
        return {key: int(count) for key, count in rows}

    def _import(self) -> None:
        if self.legacy is not None:
            import_once(self.database, "history", self.legacy, self._copy_legacy)

    def _copy_legacy(self, conn: Connection) -> int:
        assert self.legacy is not None
        rows = sqlite_rows(self.legacy, "SELECT * FROM updates")
        if rows:
            conn.execute(insert_new(conn, updates), rows)
        return len(rows)
