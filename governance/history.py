"""The run history: every asset update, from either runner, in one SQLite file.

Recording is idempotent (one row per asset version), and safe with several writers: each
write is one short transaction, and SQLite's WAL mode lets readers run beside a writer.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets.events import AssetUpdate
from governance.sqlite_migrations import migrate

#: The schema, one step per version (governance.sqlite_migrations): append, never edit.
MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS updates (
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    run_id TEXT NOT NULL,
    source TEXT NOT NULL,
    rows INTEGER,
    summary TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (key, version)
)
""",)


@dataclass(frozen=True, slots=True)
class RunHistory:
    """The run-history store at ``path`` (created on first write)."""

    path: Path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        try:
            migrate(conn, self.path, MIGRATIONS)
        except BaseException:
            conn.close()
            raise
        return conn

    def record(self, update: AssetUpdate) -> bool:
        """Record ``update``; ``False`` if this version was recorded before."""
        with closing(self._connect()) as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO updates VALUES (?, ?, ?, ?, ?, ?, ?)",
                (update.key, update.version, update.run_id, update.source, update.summary.get("rows"),
                 json.dumps(dict(update.summary), sort_keys=True),
                 dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")))
            return cursor.rowcount == 1

    def for_asset(self, key: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest updates of ``key``, newest first."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM updates WHERE key = ? ORDER BY version DESC LIMIT ?",
                                (key, limit)).fetchall()
        return [dict(r) | {"summary": json.loads(r["summary"])} for r in rows]

    def published(self) -> dict[str, list[str]]:
        """Every recorded version of every asset, oldest first: what passed its gate and was
        published, as the handlers saw it (independent of any storage region)."""
        if not self.path.exists():
            return {}
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT key, version FROM updates ORDER BY key, version").fetchall()
        found: dict[str, list[str]] = {}
        for key, version in rows:
            found.setdefault(key, []).append(version)
        return found
