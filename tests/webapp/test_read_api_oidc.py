"""The read API on a mesh whose people log in with OpenID Connect: a bearer token of the issuer
proves the reader, as MESH_TOKEN does for the CLI; a signed request or a bad token proves nothing."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

from assets import materialize
from governance.wiring import load_mesh
from tests.conftest import approve_example_trust, copy_example_mesh
from tests.governance.identity.test_identity_oidc import AUDIENCE, Issuer, issuer  # noqa: F401 (the fixture)
from webapp import create_app


def test_a_bearer_token_proves_the_reader(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    root = copy_example_mesh(tmp_path / "mesh")
    with (root / "mesh.toml").open("a") as fh:
        fh.write(f'\n[identity]\nprovider = "oidc"\nissuer = "{issuer.url}"\naudience = "{AUDIENCE}"\n')
    approve_example_trust(root)  # a change of [identity] is in effect once the council approved it
    assert materialize("sales.orders", mesh=load_mesh(root), params={"scale": 500, "seed": 1}).ok
    with TestClient(create_app(root)) as http:
        token = issuer.token(email="Analyst@Acme.example")
        ok = http.get("/api/products/sales.orders", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert pl.read_parquet(io.BytesIO(ok.content)).height == 500
        denied = http.get("/api/products/sales.orders", headers={"Authorization": f"Bearer {issuer.token(aud='other')}"})
        assert denied.status_code == 401 and "audience" in denied.json()["detail"]["error"]
        assert token not in denied.text
        assert http.get("/api/products/sales.orders").status_code == 401
