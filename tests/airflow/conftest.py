"""A real Airflow 3 (scheduler, dag-processor, triggerer, api-server) on a copy of the example mesh."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assets import Mesh
from governance.wiring import load_mesh
from meshctl.airflow_cascade import (
    CascadeState,
    run_cascade,
    unpause_mesh,
    wait_for_dags,
)
from meshctl.local_airflow import LocalAirflow, free_port
from tests.conftest import REPO, copy_example_mesh

#: Rows of sales.orders in the end-to-end runs: small, so task start-up dominates.
E2E_SCALE = 5_000


@dataclass(frozen=True)
class RunningMesh:
    mesh: Mesh
    airflow: LocalAirflow
    first_wave: CascadeState


def copy_with_dags(target: Path) -> Path:
    root = copy_example_mesh(target)
    shutil.copytree(REPO / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def running_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    """Airflow started on a fresh copy of the example mesh, after one full cascade from the roots."""
    root = copy_with_dags(tmp_path_factory.mktemp("e2e") / "mesh")
    mesh = load_mesh(root)
    airflow = LocalAirflow(root, port=free_port())
    try:
        airflow.start()
        with airflow.client() as client:
            wait_for_dags(client, mesh)
            unpause_mesh(client, mesh)
            roots = {k: {"scale": E2E_SCALE, "seed": 3} for k in mesh.graph if mesh.graph[k].spec.is_root}
            state = run_cascade(client, mesh, roots, timeout=420)
        yield RunningMesh(mesh, airflow, state)
    finally:
        stopped = airflow.stop()
        assert not airflow.running(), f"processes left running after stopping {stopped}"
