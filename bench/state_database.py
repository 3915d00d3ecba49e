"""The state stores on each database: one audit append (locked, durable), one run-history record
and one lineage event through the outbox (noop transport), each alone, on the default SQLite
file and on PostgreSQL (``MESH_PG_URL``, as ``scripts/services.sh env`` prints it; skipped when
unset), against the folder audit log in the same run. Medians of single operations."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from assets.events import AssetUpdate
from governance.audit import AuditEvent, AuditLog
from governance.audit.database import DatabaseLogStorage
from governance.history import RunHistory
from governance.keys import LocalKeyStore
from governance.lineage.delivery import LineageOutbox
from governance.state import StateDatabase
from governance.state.settings import database_at

SAMPLES = 300


def _median_ms(step: Callable[[int], object]) -> float:
    step(-1)  # warm up: the engine, the migration, the first connection
    samples = []
    for i in range(SAMPLES):
        start = time.perf_counter()
        step(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _event(i: int) -> AuditEvent:
    return AuditEvent(actor="bench@acme.example", action="read", target="sales.orders", outcome="allowed",
                      source="bench", details={"i": i}, where="bench-host")


def _stores(name: str, database: StateDatabase, root: Path, folder_ms: float) -> None:
    log = AuditLog(DatabaseLogStorage(database), LocalKeyStore(root / "keys").signing_key("audit.pem"))
    audit = _median_ms(lambda i: log.append(_event(i)))
    history = RunHistory(database)
    record = _median_ms(lambda i: history.record(AssetUpdate(key="sales.orders", version=f"v{i + 1:06d}",
                                                             run_id="r", source="engine")))
    outbox = LineageOutbox(database, {"type": "noop"})
    emit = _median_ms(lambda i: outbox.emit(RunEvent(
        eventType=RunState.COMPLETE, eventTime=dt.datetime.now(dt.UTC).isoformat(), run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="bench", name="job"), producer="https://example.test")))
    print(f"{name}: audit append {audit:.2f} ms ({audit / folder_ms:.2f}x the folder log's {folder_ms:.2f} ms), "
          f"history record {record:.2f} ms, outbox emit+send {emit:.2f} ms", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = AuditLog(root / "audit", LocalKeyStore(root / "keys").signing_key("audit.pem"))
        folder_ms = _median_ms(lambda i: folder.append(_event(i)))
        _stores("sqlite", database_at("sqlite:///state/mesh.sqlite", root, named_in="bench"), root, folder_ms)
        url = os.environ.get("MESH_PG_URL")
        if not url:
            print("postgresql: skipped (set MESH_PG_URL; `scripts/services.sh start` prints it)")
            return
        import psycopg

        name = f"mesh_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            _stores("postgresql", database_at(f"{url}/{name}", root, named_in="bench"), root, folder_ms)
        finally:
            from governance.state.database import dispose_engines

            dispose_engines()
            with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
