"""A mesh the web app cannot load (a damaged mesh.toml) or whose records it cannot read (a damaged
audit log): every page and API call answers 503 with what is wrong, where and the fix, without the
server's paths, and the server still starts; never a traceback."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from governance.audit.lines import encode_line
from governance.identity import sign_request
from tests.webapp.conftest import SERVER, ServedMesh
from webapp import create_app

PAGES = ("/", "/assets/sales.orders", "/api/overview", "/api/products/sales.orders")


def _broken_toml(root: Path) -> None:
    with open(root / "mesh.toml", "a") as fh:
        fh.write("\n[[[broken\n")


def _bad_run_record(root: Path) -> None:
    with open(root / ".mesh/audit/audit.jsonl", "ab") as fh:
        fh.write(b'{"action":"materialize","x":1}\n')


def _rehashed_run_record(root: Path) -> None:
    """A run record of sales.orders added by hand, hash and chain computed again, whose details are
    not a mapping: only the reader's check of each field's type finds it."""
    path = root / ".mesh/audit/audit.jsonl"
    last = json.loads(path.read_bytes().splitlines()[-1])
    body = {**last, "seq": last["seq"] + 1, "prev": last.pop("hash"), "action": "materialize",
            "target": "sales.orders", "outcome": "materialized", "details": 5}
    with open(path, "ab") as fh:
        fh.write(encode_line(body)[0])


def _log_is_a_folder(root: Path) -> None:
    log = root / ".mesh/audit/audit.jsonl"
    log.unlink()
    log.mkdir()


@pytest.mark.parametrize(("damage", "what", "where"), [
    pytest.param(_broken_toml, "invalid TOML", "mesh.toml", id="mesh.toml"),
    pytest.param(_bad_run_record, "of the audit log is not a valid audit record", ".mesh/audit/audit.jsonl",
                 id="audit record"),
    pytest.param(_log_is_a_folder, "it is a folder", ".mesh/audit/audit.jsonl", id="audit log a folder"),
])
def test_a_mesh_that_cannot_be_read_gets_503_naming_the_problem(served_mesh: ServedMesh, tmp_path: Path,
                                                                damage: Callable[[Path], None], what: str,
                                                                where: str) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    damage(root)
    with TestClient(create_app(root)) as http:  # starts anyway
        for path in PAGES:
            answer = http.get(path)
            assert answer.status_code == 503, path
            assert what in answer.text and str(tmp_path) not in answer.text, path
            if path.startswith("/api/"):
                assert answer.json()["detail"]["where"].startswith(where) and answer.json()["detail"]["fix"]
            else:
                assert answer.headers["content-type"].startswith("text/html") and "Fix:" in answer.text
        health = http.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert what in health.json()["error"] and health.json()["where"].startswith(where) and health.json()["fix"]


def test_a_run_record_of_the_wrong_types_is_503_on_its_assets_page_never_a_500(served_mesh: ServedMesh,
                                                                               tmp_path: Path) -> None:
    """The dashboard counts runs without parsing each record (its costs, which read every record, say
    they could not be measured); the asset's page, which reads the record, answers 503 naming its line."""
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    _rehashed_run_record(root)
    line = len((root / ".mesh/audit/audit.jsonl").read_bytes().splitlines())
    with TestClient(create_app(root)) as http:
        answer = http.get("/assets/sales.orders")
        assert answer.status_code == 503 and "Fix:" in answer.text
        assert f"line {line} of the audit log is not a valid audit record" in answer.text
        assert str(tmp_path) not in answer.text
        for path in ("/", "/api/overview"):
            answer = http.get(path)
            assert answer.status_code == 200 and "Traceback" not in answer.text, path


def test_a_read_the_damaged_audit_log_cannot_record_is_503_not_404(served_mesh: ServedMesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    with TestClient(create_app(root)) as http:
        with open(root / ".mesh/audit/audit.jsonl", "ab") as fh:
            fh.write(b"not a record\n")  # after the server indexed the log: pages still show
        path = "/api/products/sales.orders"
        answer = http.get(path, headers=sign_request(served_mesh.mesh.policy, "analyst@acme.example", "GET", SERVER + path))
        assert answer.status_code == 503 and not answer.content.startswith(b"PAR1")
        assert "not a valid audit record" in answer.json()["detail"]["error"]


def test_a_read_whose_key_is_damaged_is_503_naming_the_key_file_never_its_bytes(served_mesh: ServedMesh,
                                                                               tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    kek = next((root / ".mesh/keys").glob("kek-*.key"))
    secret = kek.read_bytes()
    kek.write_bytes(secret[:10])  # truncated: the restricted columns cannot be decrypted
    path = "/api/products/customers.customers"
    with TestClient(create_app(root)) as http:
        answer = http.get(path, headers=sign_request(served_mesh.mesh.policy, "privacy@acme.example", "GET", SERVER + path))
    assert answer.status_code == 503 and answer.json()["detail"]["where"] == f".mesh/keys/{kek.name}"
    assert secret[:10].hex() not in answer.text and str(tmp_path) not in answer.text


def test_an_incident_row_edited_by_hand_is_503_naming_it_never_a_500(served_mesh: ServedMesh, tmp_path: Path) -> None:
    """The dashboard counts incidents by the day they opened: an opening time without a zone (or
    no time at all), written into the state database by hand, answers 503 naming the incident
    and the fix; it used to be a 500 (an aware time compared with a naive one)."""
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    with sqlite3.connect(root / ".mesh/state/mesh.sqlite") as db:
        assert db.execute("SELECT count(*) FROM incidents").fetchone()[0] > 0  # the second run's gate failures
        db.execute("UPDATE incidents SET opened_at = '2026-11-29T20:08:37'")
    with TestClient(create_app(root)) as http:
        for path in ("/", "/api/overview"):
            answer = http.get(path)
            assert answer.status_code == 503, (path, answer.text[:300])
            assert "is not one the mesh wrote (its opened_at is no UTC time" in answer.text
            assert "restore the state database from a backup" in answer.text
            assert "Traceback" not in answer.text and str(tmp_path) not in answer.text


def test_a_revocation_row_edited_by_hand_is_503_naming_it_never_a_500(served_mesh: ServedMesh,
                                                                      tmp_path: Path) -> None:
    """Every access decision reads the revoked grants: a revocation whose time was replaced by bytes
    answers 503 on the asset's page and on a read through the API, naming the revocation and the fix."""
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    with sqlite3.connect(root / ".mesh/state/mesh.sqlite") as db:
        db.execute("INSERT INTO revoked_grants (id, nonce, product, consumer, revoked_at, revoked_by) "
                   "VALUES ('g-12345678', ?, 'sales.orders', 'finance', X'fffe', 'council@acme.example')", ("n" * 32,))
    path = "/api/products/sales.orders"
    with TestClient(create_app(root)) as http:
        answers = {"/assets/sales.orders": http.get("/assets/sales.orders"),
                   path: http.get(path, headers=sign_request(served_mesh.mesh.policy, "analyst@acme.example", "GET",
                                                             SERVER + path))}
    for page, answer in answers.items():
        assert answer.status_code == 503, (page, answer.text[:300])
        assert "the revocation of grant g-12345678" in answer.text
        assert "Traceback" not in answer.text and str(tmp_path) not in answer.text
    assert "Fix:" in answers["/assets/sales.orders"].text and answers[path].json()["detail"]["fix"]
