"""A signed read request binds the mesh and the host it is meant for: another mesh registering
the same person and key refuses it within the clock window; the README's example reads a
product from a real server as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomlkit
from fastapi.testclient import TestClient

from governance.identity import sign_request
from governance.identity.example import enroll_people
from governance.wiring import load_mesh
from tests.conftest import approve_example_trust, copy_example_mesh
from tests.webapp.conftest import SERVER, ServedMesh
from webapp import create_app
from webapp.browser import serving

ANALYST = "analyst@acme.example"
PATH = "/api/products/sales.orders"
README = Path(__file__).parents[2] / "README.md"


def test_a_request_signed_for_mesh_a_is_refused_by_mesh_b(served_mesh: ServedMesh, tmp_path: Path,
                                                          mesh_identities: Path) -> None:
    beta = copy_example_mesh(tmp_path / "beta", approved=False)  # the same people, enrolled with the same keys
    toml = beta / "mesh.toml"
    doc = tomlkit.parse(toml.read_text().replace('name = "acme"', 'name = "beta"', 1))
    for grant in doc["grants"]:  # grant approvals name the mesh too: signed again, for beta
        grant.pop("signatures", None)
    toml.write_text(tomlkit.dumps(doc))
    enroll_people(beta, mesh_identities)
    approve_example_trust(beta)  # the council's approvals name the mesh: beta's are its own
    beta_policy = load_mesh(beta, strict=False).policy
    assert beta_policy.people[ANALYST] == served_mesh.mesh.policy.people[ANALYST]  # the same person and key
    for_acme = sign_request(served_mesh.mesh.policy, ANALYST, "GET", SERVER + PATH)
    with TestClient(create_app(beta)) as b:
        refused = b.get(PATH, headers=for_acme)
        assert refused.status_code == 401 and "to mesh 'beta'" in refused.json()["detail"]["error"]
        assert not refused.content.startswith(b"PAR1")
        proven = b.get(PATH, headers=sign_request(beta_policy, ANALYST, "GET", SERVER + PATH))
        assert proven.status_code == 404 and "no published version" in proven.text  # proven; beta published nothing
    with TestClient(create_app(served_mesh.root)) as a:
        assert a.get(PATH, headers=for_acme).status_code == 200  # the mesh it was signed for


def test_a_request_signed_for_another_host_is_refused(client: TestClient, served_mesh: ServedMesh) -> None:
    elsewhere = sign_request(served_mesh.mesh.policy, ANALYST, "GET", "http://mesh.other.example" + PATH)
    assert client.get(PATH, headers=elsewhere).status_code == 401


def test_the_readme_example_reads_a_product_as_written(served_mesh: ServedMesh,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    [example] = [block for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                 if "sign_request" in block]
    namespace: dict[str, object] = {}
    monkeypatch.chdir(served_mesh.root)
    with serving(create_app(served_mesh.root)) as url:
        exec(example.replace("http://127.0.0.1:8765", url), namespace)  # noqa: S102 (the README's own code)
    orders = namespace["orders"]
    assert orders.height == served_mesh.mesh.store().current("sales.orders").rows  # type: ignore[attr-defined]
