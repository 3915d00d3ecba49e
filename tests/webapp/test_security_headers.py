"""Every answer of the web app, page, script, API data or error, carries the security headers;
the API's answers are never stored; the pages keep working under the policy (the browser test
runs the dashboard under it, with no console error)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from governance.identity import sign_request
from tests.webapp.conftest import SERVER, ServedMesh
from webapp import create_app

ANALYST = "analyst@acme.example"
PAGES = ("/", "/assets/sales.orders", "/assets/sales.nope", "/static/dashboard.js", "/static/plotly.min.js",
         "/health")
API = ("/api/overview", "/api/products/sales.orders", "/api/products/sales.nope")


def _assert_secured(answer: object, path: str, *, framing: str = "none") -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers["x-content-type-options"] == "nosniff", path
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == f"'{framing}'", path
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'", path
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"], path
    assert headers["x-frame-options"] == ("DENY" if framing == "none" else "SAMEORIGIN"), path
    assert headers["referrer-policy"] == "no-referrer", path


def test_every_page_and_script_carries_the_security_headers(client: TestClient) -> None:
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code in (200, 404), path
        _assert_secured(answer, path)


def test_every_api_answer_carries_them_and_is_never_stored(client: TestClient, served_mesh: ServedMesh) -> None:
    statuses = set()
    for path in API:
        for headers in ({}, sign_request(served_mesh.mesh.policy, ANALYST, "GET", SERVER + path)):
            answer = client.get(path, headers=headers)
            _assert_secured(answer, path)
            assert answer.headers["cache-control"] == "no-store", (path, answer.status_code)
            statuses.add((path, answer.status_code))
    assert {(API[1], 200), (API[1], 401), (API[2], 404)} <= statuses  # the rows, a refusal, an error


def test_pages_carry_no_inline_script_the_policy_would_block(client: TestClient) -> None:
    page = client.get("/").text
    scripts = page.split("<script")[1:]
    assert scripts and all('type="application/json"' in s.split(">", 1)[0] or " src=" in s.split(">", 1)[0]
                           for s in scripts)
    assert " onload=" not in page and " onclick=" not in page and "javascript:" not in page


@pytest.mark.parametrize("path", ["/", "/api/overview"])
def test_inside_airflow_only_its_own_origin_may_frame_the_pages(served_mesh: ServedMesh, path: str) -> None:
    with TestClient(create_app(served_mesh.root, framing="self"), root_path="/mesh") as http:
        _assert_secured(http.get(path), path, framing="self")
