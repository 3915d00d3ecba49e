"""What one asset's run costs the state database, counted: a change that adds a transaction
to every asset's run shows here (it is the engine's fixed cost per asset that
``python -m bench engine`` measures)."""

from __future__ import annotations

import json
from pathlib import Path

from assets import materialize
from governance.lineage.events import run_uuid
from governance.state import StateDatabase, state_database
from governance.state.database import transactions
from governance.wiring import load_mesh

#: Run record (start), its START lineage event recorded with the pending ones read, the events
#: marked sent, the subscribers at the start and at the end, the run's end, the open incidents
#: it recovers: 7 (it was 9: the START event's record and read were two transactions, and each
#: incident kind a good run recovers was read on its own).
PER_ASSET = 7


def test_one_asset_run_takes_seven_state_transactions_and_still_sends_its_start(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert materialize("sales.orders", mesh=mesh, params={"scale": 50}, handlers=[]).ok  # first use: migrations
    database = state_database(mesh.policy)
    before = transactions(database)
    run = materialize("sales.orders", mesh=mesh, params={"scale": 50}, handlers=[])
    assert run.ok
    assert transactions(database) - before == PER_ASSET
    events = [json.loads(line) for line in (example_root / ".mesh" / "lineage" / "events.jsonl").read_text().splitlines()]
    ours = run_uuid(run.run_id, "sales.orders")
    assert [e["eventType"] for e in events if e["run"]["runId"] == ours] == ["START"]  # sent at once, as before


def test_each_write_runs_with_the_sync_it_asks_for_on_a_reused_connection(tmp_path: Path) -> None:
    database = StateDatabase(f"sqlite:///{tmp_path / 'state.db'}", where="state.db")
    for durable in (False, True, True, False, False, True):  # the pool hands back the same connection
        with database.write(durable=durable) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == (2 if durable else 1)  # FULL, NORMAL
        with database.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == (2 if durable else 1)  # left as it was
