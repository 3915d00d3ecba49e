"""RFC 9162 inclusion and consistency proofs: known vectors, every proof of small trees, tampering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from governance.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    subtree_hash,
    tree_head,
    verify_consistency,
    verify_inclusion,
)
from governance.audit import AuditEvent
from governance.audit.access import prove_record
from governance.identity.authorization import PermissionDeniedError
from governance.policy import load_policy
from governance.services import governed
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import person

# The RFC 6962 test vectors of certificate-transparency: eight leaves and the root of each prefix.
VECTOR_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
                 bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_the_rfc_6962_vectors(n: int) -> None:
    assert tree_head(VECTOR_LEAVES[:n]).hex() == VECTOR_ROOTS[n - 1]
    assert subtree_hash([leaf_hash(x) for x in VECTOR_LEAVES[:n]]).hex() == VECTOR_ROOTS[n - 1]


def _hashes(n: int) -> list[bytes]:
    return [leaf_hash(f"leaf-{i}".encode()) for i in range(n)]


@pytest.mark.parametrize("n", range(1, 21))
def test_every_inclusion_proof_verifies_and_a_tampered_one_fails(n: int) -> None:
    hashes = _hashes(n)
    root = subtree_hash(hashes)
    for i in range(n):
        proof = inclusion_proof(hashes, i)
        assert verify_inclusion(i, n, hashes[i], proof, root)
        assert not verify_inclusion(i, n, leaf_hash(b"forged"), proof, root)
        if proof:
            assert not verify_inclusion(i, n, hashes[i], [leaf_hash(b"x"), *proof[1:]], root)
            assert not verify_inclusion(i, n, hashes[i], proof[:-1], root)
        if n > 1:
            assert not verify_inclusion((i + 1) % n, n, hashes[i], proof, root)


@pytest.mark.parametrize("n", range(1, 21))
def test_every_consistency_proof_verifies_and_a_tampered_one_fails(n: int) -> None:
    hashes = _hashes(n)
    root = subtree_hash(hashes)
    for m in range(1, n + 1):
        old = subtree_hash(hashes[:m])
        proof = consistency_proof(hashes, m)
        assert verify_consistency(m, n, old, root, proof)
        assert not verify_consistency(m, n, leaf_hash(b"forged"), root, proof)
        if proof:
            assert not verify_consistency(m, n, old, root, [leaf_hash(b"x"), *proof[1:]])
            assert not verify_consistency(m, n, old, root, proof[:-1])
        rewritten = [*hashes[:m - 1], leaf_hash(b"rewritten"), *hashes[m:]]
        assert not verify_consistency(m, n, old, subtree_hash(rewritten), consistency_proof(rewritten, m))


def test_mesh_audit_prove_writes_a_proof_verify_proof_checks_offline(example_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    root = str(example_root)
    for _ in range(2):
        assert runner.invoke(app, ["materialize", "finance.fx_rates", "--root", root]).exit_code == 0
    out = tmp_path / "proof.json"
    made = runner.invoke(app, ["audit", "prove", "1", "--out", str(out), "--root", root, "--as", "council@acme.example"])
    assert made.exit_code == 0, made.output
    key = tmp_path / "audit.pub"  # all the checker has: the file and the public key
    shutil.copy(example_root / ".mesh" / "audit" / "audit.ed25519.pub", key)
    pinned = str(load_policy(example_root).audit.key_fingerprint)
    ok = runner.invoke(app, ["audit", "verify-proof", str(out), "--key", str(key), "--fingerprint", pinned])
    assert ok.exit_code == 0, ok.output
    assert "record 1" in ok.stdout and "extends the signed log" in ok.stdout
    good = out.read_text()

    def check(edit) -> str:
        proof = json.loads(good)
        edit(proof)
        out.write_text(json.dumps(proof))
        result = runner.invoke(app, ["audit", "verify-proof", str(out), "--key", str(key)])
        assert result.exit_code == 1
        return result.stderr

    assert "does not match its hash" in check(lambda p: p["record"].update(outcome="forged"))
    assert "is not in the signed tree" in check(lambda p: p["inclusion"].__setitem__(0, "00" * 32))
    assert "is not signed" in check(lambda p: p["tree_head"].update(size=p["tree_head"]["size"] + 1))
    assert "does not extend" in check(lambda p: p["consistency"]["proof"].__setitem__(0, "00" * 32))
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    out.write_text(good)
    wrong = runner.invoke(app, ["audit", "verify-proof", str(out), "--key", str(other), "--fingerprint", pinned])
    assert wrong.exit_code == 1 and "not the pinned" in wrong.stderr
    missing = runner.invoke(app, ["audit", "verify-proof", str(out), "--key", str(tmp_path / "audit.ed25519.pub")])
    assert missing.exit_code == 1 and ".mesh/audit/audit.ed25519.pub" in missing.stderr, "the fix says where the key is"


@pytest.mark.parametrize("who", ["nobody-registered@evil.example", "analyst@acme.example"])
def test_proving_a_record_needs_read_audit_whoever_calls(example_root: Path, who: str) -> None:
    """The operation checks the right itself (not only `mesh audit prove`): an actor without
    read_audit is refused and audited with how they proved who they are; no head is signed."""
    mesh = load_policy_mesh(example_root)
    log = governed(mesh).audit
    log.append(AuditEvent(actor="test", action="read", target="sales.orders", outcome="allowed", source="cli"))
    heads = len(log.signed_heads())
    with pytest.raises(PermissionDeniedError, match=f"'{who}' is not a holder of read_audit"):
        prove_record(mesh.policy, log, person(who), 0)
    assert len(log.signed_heads()) == heads, "nothing was signed for the refused proof"
    [denied] = [r for r in log.records() if r.action == "audit_prove"]
    assert (denied.actor, denied.outcome, denied.details["identity"]) == (who, "denied", "ed25519")
    proof = prove_record(mesh.policy, log, person("council@acme.example"), 0)
    assert proof["record"]["seq"] == 0
    allowed = [r for r in log.records() if r.action == "audit_prove" and r.outcome == "allowed"]
    assert [(r.actor, r.details["seq"], r.details["evidence"]) for r in allowed] == \
        [("council@acme.example", 0, "test key")]
