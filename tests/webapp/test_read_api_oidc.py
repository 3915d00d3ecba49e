"""The read API on a mesh whose people log in with OpenID Connect: a bearer token of the issuer
proves the reader, as MESH_TOKEN does for the CLI; a signed request or a bad token proves nothing."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
from cryptography.hazmat.primitives.asymmetric import rsa
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


def test_made_up_kids_do_not_make_the_server_hammer_the_issuer(issuer: Issuer, tmp_path: Path) -> None:  # noqa: F811
    """Each request built its own provider, which fetched the issuer's discovery document and
    keys: an unauthenticated caller could make the server fetch them per request."""
    root = copy_example_mesh(tmp_path / "mesh")
    with (root / "mesh.toml").open("a") as fh:
        fh.write(f'\n[identity]\nprovider = "oidc"\nissuer = "{issuer.url}"\naudience = "{AUDIENCE}"\n'
                 "jwks_refetch_seconds = 60\n")
    approve_example_trust(root)  # a change of [identity] is in effect once the council approved it
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    before = sum(issuer.hits.values())
    with TestClient(create_app(root)) as http:
        for n in range(40):
            token = issuer.token(key=stranger, kid=f"made-up-{n}")
            refused = http.get("/api/products/sales.orders", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 401 and "not signed by a key of" in refused.json()["detail"]["error"]
        assert sum(issuer.hits.values()) - before == 2  # the discovery document and the keys, once
        token = issuer.token(email="analyst@acme.example")
        proven = http.get("/api/products/sales.orders", headers={"Authorization": f"Bearer {token}"})
        assert proven.status_code == 404 and "no published version" in proven.text  # proven; nothing materialized
        assert sum(issuer.hits.values()) - before == 2
