"""An error nobody foresaw (a bug, a store that raises something no handler knows) is a 500
that carries the security headers like every other answer, and says in JSON what failed and
what to do, with no traceback and no server path. Starlette's outermost middleware answered it
outside the security headers, in plain text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from governance.ops import OperationsView
from tests.webapp.conftest import ServedMesh
from webapp import create_app

SECRET = "/srv/mesh-secret/state/ops.db"


def _broken(*_: object) -> OperationsView:
    raise RuntimeError(f"cannot read {SECRET}")


def _raises() -> None:
    _broken()


@pytest.fixture
def failing(served_mesh: ServedMesh) -> Iterator[TestClient]:
    """The app with a broken operations store (the dashboard and /api/overview raise), and a
    page and an API route that raise."""
    app: FastAPI = create_app(served_mesh.root, operations=_broken)
    app.add_api_route("/boom", _raises)
    app.add_api_route("/api/boom", _raises)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


@pytest.mark.parametrize("path", ["/", "/api/overview", "/boom", "/api/boom"])
def test_an_unforeseen_error_is_a_500_with_the_headers_and_the_fix(failing: TestClient, path: str) -> None:
    answer = failing.get(path)
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers.get("cache-control") == ("no-store" if path.startswith("/api/") else None)
    detail = answer.json()["detail"]
    assert f"GET {path}" in detail["error"] and detail["where"] == f"GET {path}" and "reference" in detail["fix"]
    assert "Traceback" not in answer.text and "mesh-secret" not in answer.text and "RuntimeError" not in answer.text


def test_inside_airflow_the_500_allows_its_own_origin_to_frame_it(served_mesh: ServedMesh) -> None:
    app = create_app(served_mesh.root, framing="self")
    app.add_api_route("/api/boom", _raises)
    with TestClient(app, raise_server_exceptions=False, root_path="/mesh") as http:
        answer = http.get("/api/boom")
    assert answer.status_code == 500
    assert answer.headers["x-frame-options"] == "SAMEORIGIN" and answer.headers["cache-control"] == "no-store"
