"""Unproven callers cannot grow the audit log as fast as they send: the first refusal of a reason
and client address is recorded at once, its repeats are counted into one summary record per
interval and at shutdown, the counts add up to the refusals, and the chain verifies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from governance.identity import sign_request
from governance.services import governed
from governance.wiring import load_mesh
from tests.webapp.conftest import SERVER, ServedMesh
from webapp import create_app
from webapp.unproven_refusals import OTHER, UnprovenRefusals

MESH = str(Path(sys.executable).parent / "mesh")
PATH = "/api/products/sales.orders"


def _added(root: Path, before: int) -> list[dict]:
    return [json.loads(line) for line in (root / ".mesh/audit/audit.jsonl").read_bytes().splitlines()[before:]]


def _lines(root: Path) -> int:
    return (root / ".mesh/audit/audit.jsonl").read_bytes().count(b"\n")


def test_a_flood_of_unproven_requests_is_recorded_bounded_and_complete(served_mesh: ServedMesh,
                                                                        tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    before = _lines(root)
    size_before = (root / ".mesh/audit/audit.jsonl").stat().st_size
    with TestClient(create_app(root, seal_refusals_every=3600)) as http:  # one summary time: the shutdown
        for _ in range(100):
            assert http.get(PATH).status_code == 401
        assert len(_added(root, before)) == 1  # the first at once; the rest counted
    added = _added(root, before)
    assert all(r["actor"] == "unknown" and r["outcome"] == "denied" for r in added)
    assert len(added) <= 3 and sum(r["details"]["count"] for r in added) == 100
    assert added[0]["details"]["count"] == 1 and added[0]["details"]["client"] == "testclient"
    assert (root / ".mesh/audit/audit.jsonl").stat().st_size - size_before < 5_000  # not 100 records' worth
    verified = subprocess.run([MESH, "audit", "verify", "--root", str(root)], capture_output=True, text=True,
                              timeout=300, check=False, env=os.environ.copy())
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_each_reason_and_address_is_recorded_at_once_with_the_user_it_claimed(served_mesh: ServedMesh,
                                                                             tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    before = _lines(root)
    forged = {**sign_request(served_mesh.mesh.policy, "analyst@acme.example", "GET", SERVER + PATH),
              "X-Mesh-Signature": "ed25519:AAAA"}
    with TestClient(create_app(root, seal_refusals_every=3600)) as http:
        for _ in range(10):
            assert http.get(PATH).status_code == 401  # not signed
            assert http.get(PATH, headers=forged).status_code == 401  # a bad signature
        first = _added(root, before)
        assert len(first) == 2 and {r["details"]["reason"] for r in first} == {
            "the request is not signed", "the signature is not 'analyst@acme.example''s registered key's, "
                                         "for this request to mesh 'acme'"}
        assert [r["details"].get("claimed_user") for r in first] == [None, "analyst@acme.example"]
    summaries = _added(root, before)[2:]
    assert len(summaries) == 2 and all(r["details"]["count"] == 9 for r in summaries)
    assert any("analyst@acme.example ×9" == r["details"].get("claimed_users") for r in summaries)


def test_many_addresses_share_one_tally_past_the_limit_and_quiet_ones_are_forgotten(served_mesh: ServedMesh,
                                                                                    tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    audit = governed(load_mesh(root, strict=False)).audit
    before = _lines(root)
    refusals = UnprovenRefusals(every=3600, max_open=2)
    for n in range(50):  # 50 addresses, 4 refusals each
        for _ in range(4):
            refusals.refused(audit, reason="the request is not signed", client=f"10.0.0.{n}", target="sales.orders",
                             claimed=None)
    refusals.flush(audit)
    added = _added(root, before)
    assert len(added) == 3 + 3  # two addresses and 'other' at once, then one summary each
    assert sum(r["details"]["count"] for r in added) == 200
    assert {r["details"]["client"] for r in added} == {"10.0.0.0", "10.0.0.1", OTHER}
    refusals.flush(audit)  # a quiet interval: nothing written, all forgotten
    refusals.refused(audit, reason="the request is not signed", client="10.0.0.0", target="sales.orders", claimed=None)
    assert len(_added(root, before)) == 7  # recorded at once again
    refusals.close()


def test_an_unproven_callers_made_up_product_names_are_recorded_cut_short(served_mesh: ServedMesh,
                                                                          tmp_path: Path) -> None:
    """Authentication comes before the product is looked up, so a product that does not exist is
    refused (401) and recorded too: its name, any length the caller likes, is cut to 200 characters."""
    root = tmp_path / "mesh"
    shutil.copytree(served_mesh.root, root, symlinks=True)
    before = _lines(root)
    with TestClient(create_app(root, seal_refusals_every=3600)) as http:
        assert http.get("/api/products/" + "x" * 5_000).status_code == 401
        [record] = _added(root, before)
    assert record["outcome"] == "denied" and record["target"] == "x" * 200
