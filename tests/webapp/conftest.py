"""A copy of the example mesh run twice (the second time with a bad feed that a gate stops),
served by the web app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assets import Mesh, RunResult, materialize
from assets.results import Status
from governance.wiring import load_mesh
from tests.conftest import copy_example_mesh
from webapp import create_app

FIRST_SCALE, SECOND_SCALE = 2_000, 3_000
#: The address a TestClient sends to: a signed request names it (its Host).
SERVER = "http://testserver"


@dataclass(frozen=True)
class ServedMesh:
    mesh: Mesh
    first: RunResult
    second: RunResult

    @property
    def root(self) -> Path:
        return self.mesh.root


@pytest.fixture(scope="session")
def served_mesh(tmp_path_factory: pytest.TempPathFactory) -> ServedMesh:
    root = copy_example_mesh(tmp_path_factory.mktemp("webapp") / "mesh")
    mesh = load_mesh(root)
    first = materialize("*", mesh=mesh, params={"scale": FIRST_SCALE, "seed": 5})
    second = materialize("*", mesh=mesh, params={"scale": SECOND_SCALE, "seed": 6, "inject_bad_rows": True})
    assert first.ok and second.by_status(Status.GATE_FAILED)
    return ServedMesh(mesh, first, second)


@pytest.fixture
def client(served_mesh: ServedMesh) -> Iterator[TestClient]:
    with TestClient(create_app(served_mesh.root)) as http:
        yield http
