"""``/health`` says ok only while the mesh can be served: a mesh.toml that does not load, a state
database that cannot be opened or a storage root that cannot be read make it 503 with a short
reason naming what is wrong, where and the fix; never a traceback or the server's paths."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.webapp.conftest import ServedMesh
from webapp import create_app


def _syntax_error(root: Path) -> None:
    (root / "mesh.toml").write_text((root / "mesh.toml").read_text() + "\n[mesh\nname = 'x'\n")


def _storage_is_a_file(root: Path) -> None:
    storage = root / ".mesh/regions/us-east"
    shutil.rmtree(storage)
    storage.write_text("not a folder")  # unreadable as a folder, whoever the server runs as


def _storage_is_a_link_loop(root: Path) -> None:
    storage = root / ".mesh/regions/us-east"
    shutil.rmtree(storage)
    storage.symlink_to(storage)  # a mount that went away the hard way: ELOOP on every read


def _state_database_damaged(root: Path) -> None:
    database = root / ".mesh/state/mesh.sqlite"
    database.unlink()
    database.mkdir()  # a restore gone wrong: SQLite cannot open it, whoever the server runs as


@pytest.mark.parametrize(("damage", "what", "where"), [
    pytest.param(_syntax_error, "invalid TOML", "mesh.toml", id="mesh.toml syntax error"),
    pytest.param(_storage_is_a_file, "storage root of region 'us-east' cannot be read", ".mesh/regions/us-east",
                 id="storage root a file"),
    pytest.param(_storage_is_a_link_loop, "storage root of region 'us-east' cannot be read", ".mesh/regions/us-east",
                 id="storage root a link loop"),
    pytest.param(_state_database_damaged, "it is a folder, not a regular file, so the state database",
                 ".mesh/state/mesh.sqlite",
                 id="state database a folder"),
])
def test_health_is_503_naming_what_is_wrong_and_the_fix(served_mesh: ServedMesh, tmp_path: Path,
                                                       damage: Callable[[Path], None], what: str, where: str) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    with TestClient(create_app(root)) as http:
        assert http.get("/health").json() == {"status": "ok"}
        damage(root)
        answer = http.get("/health")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["status"] == "unavailable" and what in body["error"], body
    assert body["where"].startswith(where) and body["fix"], body
    assert str(tmp_path) not in answer.text and "Traceback" not in answer.text


def test_a_mesh_with_nothing_published_yet_is_healthy(served_mesh: ServedMesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    shutil.rmtree(root / ".mesh/regions/us-east")
    with TestClient(create_app(root)) as http:
        answer = http.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
