"""The ops DAG heals with the runbook the command runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from assets import materialize
from governance.airflow.heal_task import heal_now
from governance.airflow.ops_dag import ops_dag
from governance.compiled import current_compiled_mesh, write_compiled_mesh
from governance.services import governed
from governance.wiring import load_mesh
from tests.assets.test_verified_reads import flip_a_byte


def test_the_ops_dag_heals_after_it_evaluates(example_root: Path) -> None:
    write_compiled_mesh(example_root)
    dag = ops_dag(current_compiled_mesh(example_root), str(example_root))
    assert dag.task_dict["heal"].upstream_task_ids == {"evaluate"}
    assert dag.task_dict["heal"].retries == 0, "the runbook bounds itself"


def test_the_heal_task_rolls_back_a_corrupt_version_as_the_runbook(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first, second = (materialize("sales.products", mesh=mesh, params={"scale": 300})["sales.products"].manifest
                     for _ in range(2))
    assert first is not None and second is not None
    flip_a_byte(Path(mesh.store().data_path("sales.products", second.version)))
    [line] = heal_now(example_root, clock=lambda: dt.datetime.now(dt.UTC))
    assert line.startswith("healed: corrupt current version on sales.products")
    assert f"rolled back sales.products from {second.version} to {first.version}" in line
    [record] = governed(load_mesh(example_root)).audit.query(action="heal")
    assert record.actor == "service:healing" and record.details["identity"] == "service"
