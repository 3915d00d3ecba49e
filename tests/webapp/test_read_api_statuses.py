"""The read API's status codes: 400 for what the caller asked wrongly (a bad query parameter, a
malformed version id, a bad selection), 404 for a product or version that does not exist, 401
for a caller who proves nothing (whether the product exists or not: it is asked who they are
first) and 403 for one who may not read; each with what, where and fix."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from governance.identity import sign_request
from tests.webapp.conftest import SERVER, ServedMesh
from webapp import create_app

ANALYST = "analyst@acme.example"
API = "/api/products/"


def _get(client: TestClient, served: ServedMesh, path: str, who: str | None = ANALYST) -> object:
    return client.get(path, headers=sign_request(served.mesh.policy, who, "GET", SERVER + path) if who else {})


@pytest.mark.parametrize(("query", "what"), [
    pytest.param("sales.orders?format=xml", "format", id="format not one"),
    pytest.param("sales.orders?version=latest", "'latest' is not a version id", id="version malformed"),
    pytest.param("sales.orders?version=20000101T000000Z-nope", "is not a version id", id="version too short"),
    pytest.param("sales.orders?partition=2026-11-20", "is not partitioned", id="partition of an unpartitioned"),
    pytest.param("sales.daily_orders?partition=garbage", "is not a daily partition key", id="partition malformed"),
    pytest.param("sales.daily_orders?partition=1999-01-01", "is outside", id="partition outside"),
    pytest.param("sales.daily_orders?from=x", "is not a date", id="range bound malformed"),
    pytest.param("sales.daily_orders?partition=2026-11-20&from=2026-11-20", "together", id="partition and range"),
    pytest.param("sales.daily_orders?version=20261120T000000000000Z-abcdef", "a version of one partition",
                 id="version without partition"),
])
def test_what_the_caller_asked_wrongly_is_400(client: TestClient, served_mesh: ServedMesh, query: str,
                                              what: str) -> None:
    answer = _get(client, served_mesh, API + query)
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert what in detail["error"] and detail["where"] and detail["fix"], detail
    assert not answer.content.startswith(b"PAR1")


@pytest.mark.parametrize(("query", "what"), [
    pytest.param("sales.nope", "no data product 'sales.nope'", id="no such product"),
    pytest.param("sales.orders?version=20000101T000000000000Z-abcdef", "does not exist", id="no such version"),
    pytest.param("sales.daily_orders?from=2099-01-01&to=2099-01-02", "no published version", id="nothing published"),
])
def test_what_does_not_exist_is_404(client: TestClient, served_mesh: ServedMesh, query: str, what: str) -> None:
    answer = _get(client, served_mesh, API + query)
    assert answer.status_code == 404, answer.text
    assert what in answer.json()["detail"]["error"]


def test_who_is_unproven_is_401_and_who_may_not_read_is_403(client: TestClient, served_mesh: ServedMesh) -> None:
    assert _get(client, served_mesh, API + "sales.orders", who=None).status_code == 401
    assert _get(client, served_mesh, API + "customers.customers").status_code == 403
    assert _get(client, served_mesh, API + "sales.orders").status_code == 200


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no proof"),
    pytest.param({"X-Mesh-User": ANALYST, "X-Mesh-Timestamp": "0", "X-Mesh-Signature": "AAAA"}, id="bad signature"),
    pytest.param({"Authorization": "Bearer not-a-token"}, id="bad bearer"),
])
def test_an_unproven_caller_learns_nothing_of_which_products_exist(client: TestClient, headers: dict[str, str]) -> None:
    """Authentication comes first: a product that exists and one that does not get the same 401."""
    known, unknown = (client.get(API + key, headers=headers) for key in ("sales.orders", "sales.nope"))
    assert known.status_code == unknown.status_code == 401, (known.text, unknown.text)
    assert known.json() == unknown.json()
    assert set(unknown.json()["detail"]) == {"error", "where", "fix"}


def test_a_proven_caller_is_told_which_product_it_meant(client: TestClient, served_mesh: ServedMesh) -> None:
    detail = _get(client, served_mesh, API + "sales.order").json()["detail"]
    assert "no data product 'sales.order'" in detail["error"] and "'sales.orders'" in detail["fix"], detail
    assert "…" not in detail["where"], detail  # says where, not a path cut as if it were the server's


def test_a_damaged_version_is_the_servers_503_not_the_callers_404(served_mesh: ServedMesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    current = served_mesh.mesh.store().current_version("sales.orders")
    (root / ".mesh/regions/us-east/sales/orders" / str(current) / "manifest.json").write_text("{damaged")
    path = API + "sales.orders"
    with TestClient(create_app(root)) as http:
        answer = http.get(path, headers=sign_request(served_mesh.mesh.policy, ANALYST, "GET", SERVER + path))
    assert answer.status_code == 503 and "damaged" in answer.json()["detail"]["error"]


def test_a_full_replay_memory_is_503_audited_once(served_mesh: ServedMesh) -> None:
    audit = served_mesh.root / ".mesh/audit/audit.jsonl"
    with TestClient(create_app(served_mesh.root, replay_limit=2)) as http:
        before = audit.read_bytes().count(b"\n")
        answers = [_get(http, served_mesh, f"{API}sales.orders?format=arrow&n={n}") for n in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 503, 503, 503]
        assert "takes no new one" in answers[2].json()["detail"]["error"] and answers[2].json()["detail"]["fix"]
        assert not answers[2].content.startswith(b"PAR1")
    added = [json.loads(line) for line in audit.read_bytes().splitlines()[before:]]
    refused = [r for r in added if r["outcome"] == "refused" and r["action"] == "read"]
    assert len(refused) == 1 and refused[0]["details"]["identity"] == "replay memory full"


def test_reloading_mesh_toml_forgets_no_accepted_signature(served_mesh: ServedMesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    path = API + "sales.orders"
    headers = sign_request(served_mesh.mesh.policy, ANALYST, "GET", SERVER + path)
    with TestClient(create_app(root)) as http:
        assert http.get(path, headers=headers).status_code == 200
        stamp = (root / "mesh.toml").stat()
        os.utime(root / "mesh.toml", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))  # the council edits it
        replayed = http.get(path, headers=headers)
    assert replayed.status_code == 401 and "replay" in replayed.json()["detail"]["error"]
