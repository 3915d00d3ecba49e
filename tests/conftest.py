"""Shared fixtures: throwaway copies of the example mesh and of tiny fixture meshes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assets import Mesh, RunResult, materialize

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: Orders in test runs of the example mesh: small, but every asset gets several rows.
TEST_SCALE = 3_000


def copy_example_mesh(target: Path) -> Path:
    """Copy mesh.toml and domains/ of the repo to ``target``; storage then lives there too."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mesh.toml", target / "mesh.toml")
    shutil.copytree(REPO / "domains", target / "domains", ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def example_root(tmp_path: Path) -> Path:
    return copy_example_mesh(tmp_path / "mesh")


@pytest.fixture
def example_mesh(example_root: Path) -> Mesh:
    return Mesh.load(example_root)


@pytest.fixture(scope="session")
def materialized_example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, RunResult]:
    """The example mesh materialized once per session, at test scale."""
    root = copy_example_mesh(tmp_path_factory.mktemp("materialized"))
    mesh = Mesh.load(root)
    result = materialize("*", mesh=mesh, params={"scale": TEST_SCALE, "seed": 11})
    assert result.ok, result.to_dict()
    return mesh, result


@pytest.fixture
def fixture_mesh(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture mesh from tests/fixtures/<name> to a temporary folder."""

    def make(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        return target

    return make
