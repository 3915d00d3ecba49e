"""The data product read API: authorised consumers get the rows `mesh read --as` gives them, as
Parquet or Arrow IPC, at the current version or any earlier one; everyone else gets 401 or 403
and no data, and every attempt is in the audit log."""

from __future__ import annotations

import io
import json
import time

import polars as pl
from fastapi.testclient import TestClient

from governance.access import read_asset
from governance.identity import sign_request
from governance.services import governed
from tests.conftest import person
from tests.webapp.conftest import FIRST_SCALE, SECOND_SCALE, SERVER, ServedMesh
from webapp import create_app

ANALYST = "analyst@acme.example"


def get(client: TestClient, served: ServedMesh, path: str, who: str | None = ANALYST, **kw: object) -> object:
    headers = sign_request(served.mesh.policy, who, "GET", SERVER + path) if who else {}
    return client.get(path, headers=headers)


def audited_reads(served: ServedMesh, key: str, since: int) -> list[tuple[str, str]]:
    """The reads of ``key`` audited after the first ``since`` records (see :func:`records`)."""
    return [(r.actor, r.outcome) for r in governed(served.mesh).audit.query(action="read", target=key)
            if r.target == key and r.seq >= since]


def records(served: ServedMesh) -> int:
    """How many records the audit log holds: the tests share one mesh, so each counts from here."""
    return (served.root / ".mesh" / "audit" / "audit.jsonl").read_bytes().count(b"\n")


def test_an_authorised_read_returns_the_rows_mesh_read_returns(client: TestClient, served_mesh: ServedMesh) -> None:
    started = records(served_mesh)
    response = get(client, served_mesh, "/api/products/sales.orders")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    got = pl.read_parquet(io.BytesIO(response.content))
    expected = read_asset(served_mesh.mesh, "sales.orders", actor=person(ANALYST)).collect()
    assert got.height == SECOND_SCALE and got.equals(expected)
    assert response.headers["x-mesh-version"] == served_mesh.mesh.store().current_version("sales.orders")
    assert (ANALYST, "allowed") in audited_reads(served_mesh, "sales.orders", started)


def test_arrow_ipc_and_time_travel_to_an_earlier_version(client: TestClient, served_mesh: ServedMesh) -> None:
    first = served_mesh.first["sales.orders"].manifest
    assert first is not None
    path = f"/api/products/sales.orders?format=arrow&version={first.version}"
    response = get(client, served_mesh, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    frame = pl.read_ipc_stream(io.BytesIO(response.content))
    assert frame.height == FIRST_SCALE == first.rows
    assert response.headers["x-mesh-version"] == first.version
    missing = get(client, served_mesh, "/api/products/sales.orders?version=20000101T000000000000Z-abcdef")
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]["error"]


def test_an_unauthorised_reader_is_refused_and_audited(client: TestClient, served_mesh: ServedMesh) -> None:
    started = records(served_mesh)
    response = get(client, served_mesh, "/api/products/customers.customers")
    assert response.status_code == 403
    assert "restricted" in response.json()["detail"]["error"] and not response.content.startswith(b"PAR1")
    assert (ANALYST, "denied") in audited_reads(served_mesh, "customers.customers", started)


def test_unknown_callers_get_401_and_no_data(client: TestClient, served_mesh: ServedMesh) -> None:
    started = records(served_mesh)
    unsigned = get(client, served_mesh, "/api/products/sales.orders", who=None)
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]["error"]
    headers = sign_request(served_mesh.mesh.policy, ANALYST, "GET", SERVER + "/api/products/sales.daily_sales")
    forged = client.get("/api/products/sales.orders", headers=headers)  # signed for another product
    assert forged.status_code == 401
    assert audited_reads(served_mesh, "sales.orders", started).count(("unknown", "denied")) == 2
    assert (ANALYST, "denied") not in audited_reads(served_mesh, "sales.orders", started)  # claimed, not proven


def test_an_unproven_caller_is_audited_as_unknown_with_the_user_it_claimed(client: TestClient,
                                                                          served_mesh: ServedMesh) -> None:
    started = records(served_mesh)
    path = "/api/products/sales.orders"
    forged = {**sign_request(served_mesh.mesh.policy, ANALYST, "GET", SERVER + path), "X-Mesh-Signature": "ed25519:AAAA"}
    assert client.get(path, headers=forged).status_code == 401
    denied = [r for r in governed(served_mesh.mesh).audit.query(action="read", target="sales.orders")
              if r.seq >= started and r.outcome == "denied"]
    assert denied and all(r.actor == "unknown" for r in denied)
    assert denied[-1].details["claimed_user"] == ANALYST and denied[-1].details["identity"] == "unproven"


def test_an_unknown_product_is_404(client: TestClient, served_mesh: ServedMesh) -> None:
    assert get(client, served_mesh, "/api/products/sales.nope").status_code == 404


def test_a_partition_or_a_range_of_a_partitioned_product(client: TestClient, served_mesh: ServedMesh) -> None:
    store = served_mesh.mesh.store()
    [day] = store.partitions("sales.daily_orders")
    one = get(client, served_mesh, f"/api/products/sales.daily_orders?partition={day}")
    assert one.status_code == 200, one.text
    assert one.headers["x-mesh-version"] == store.current_version("sales.daily_orders", day)
    expected = read_asset(served_mesh.mesh, "sales.daily_orders", actor=person(ANALYST), partition=day).collect()
    assert pl.read_parquet(io.BytesIO(one.content)).equals(expected)
    ranged = get(client, served_mesh, f"/api/products/sales.daily_orders?from={day}&to={day}")
    assert ranged.status_code == 200 and pl.read_parquet(io.BytesIO(ranged.content)).height == expected.height
    assert ranged.headers["x-mesh-version"] == ""  # several partitions: each has its own
    outside = get(client, served_mesh, "/api/products/sales.daily_orders?partition=1999-01-01")
    assert outside.status_code == 400 and "1999-01-01" in outside.json()["detail"]["error"]


def test_unproven_callers_make_the_server_sign_a_head_at_most_once_a_while(served_mesh: ServedMesh) -> None:
    """Each refusal signed a tree head (a signature, syncs, a witness write): a caller proving
    nothing made the server do that per request. Each is accounted for at once (the first
    recorded, its repeats counted), and comes under a signed head within the pace."""
    audit_dir = served_mesh.root / ".mesh" / "audit"

    def signed() -> list[dict]:
        return [json.loads(line) for line in (audit_dir / "checkpoints.jsonl").read_text().splitlines()]

    def lines() -> int:
        return (audit_dir / "audit.jsonl").read_text().count("\n")

    with TestClient(create_app(served_mesh.root, seal_refusals_every=0.5)) as http:
        heads, before = len(signed()), lines()
        for _ in range(30):
            assert http.get("/api/products/sales.orders").status_code == 401
        assert len(signed()) <= heads + 2
        deadline = time.monotonic() + 120
        while signed()[-1]["size"] < lines() or sum(r.details["count"] for r in denied_since(served_mesh, before)) < 30:
            assert time.monotonic() < deadline, "the refusals were never summarised and signed"
            time.sleep(0.1)
    assert len(signed()) <= heads + 3 and signed()[-1]["size"] == lines()
    assert sum(r.details["count"] for r in denied_since(served_mesh, before)) == 30


def denied_since(served: ServedMesh, since: int) -> list:
    return [r for r in governed(served.mesh).audit.query(action="read") if r.seq >= since and r.outcome == "denied"]


def test_a_request_signed_for_another_server_of_the_mesh_is_refused(served_mesh: ServedMesh) -> None:
    """Two servers of one mesh (the same people and keys): a request signed for the first is not
    replayed at the second, whose operator named its own hosts (`mesh serve` does by default)."""
    path = "/api/products/sales.daily_sales"
    for_a = sign_request(served_mesh.mesh.policy, ANALYST, "GET", "http://mesh-a.internal:8765" + path)
    with TestClient(create_app(served_mesh.root, hosts=["mesh-b.internal:8765"]),
                    base_url="http://mesh-b.internal:8765") as server_b:
        refused = server_b.get(path, headers={**for_a, "Host": "mesh-a.internal:8765"})
        assert refused.status_code == 401 and "which this server is not" in refused.json()["detail"]["error"]
        assert not refused.content.startswith(b"PAR1")
        for_b = sign_request(served_mesh.mesh.policy, ANALYST, "GET", "http://mesh-b.internal:8765" + path)
        assert server_b.get(path, headers=for_b).status_code == 200


def test_mesh_serve_answers_as_its_address_and_localhost_by_default() -> None:
    from meshctl.cli.serve_command import served_hosts

    assert served_hosts("127.0.0.1", 8765) == ["127.0.0.1:8765", "[::1]:8765", "localhost:8765"]
    assert served_hosts("10.0.0.5", 80) == ["10.0.0.5:80"]
