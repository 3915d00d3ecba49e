"""The council's approvals attacked as an auditor would: by someone who can edit mesh.toml and
mesh.approvals.jsonl, holds keys of their own (or a real key without approve_policy), and runs
the CLI as someone else. Each attack approves nothing, and each refusal says what, where and
the fix, never with a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets.errors import ConfigError
from governance.council import APPROVALS_FILE, CouncilError, read_approvals, verify_chain
from governance.council.approvals import MAX_FILE_BYTES, TrustApproval, approval_payload, write_approvals
from governance.identity import LocalIdentity
from governance.policy import digest_of, load_policy, trust_snapshot
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh
from tests.governance.test_council import ADD_ANALYST_TO_COUNCIL, ANALYST, COUNCIL, approve, edit, may

FINANCE = "finance-data@acme.example"
GIVE_FINANCE_READ_ALL = ('members = ["privacy@acme.example"]', f'members = ["privacy@acme.example", "{FINANCE}"]')


@pytest.fixture
def approved_root(tmp_path: Path) -> Path:
    return copy_example_mesh(tmp_path / "mesh")  # approved by the council


def _pending_line(root: Path, signatures: dict[str, str]) -> TrustApproval:
    """The file's trust as a change collecting ``signatures``, after the approved head."""
    snapshot = trust_snapshot(load_policy(root))
    head = read_approvals(root)[-1]
    return TrustApproval(digest=digest_of(snapshot), previous=head.digest, snapshot=snapshot, signatures=signatures)


def test_a_real_signature_of_someone_without_approve_policy_counts_for_nothing(approved_root: Path,
                                                                              mesh_identities: Path) -> None:
    """The analyst is registered in the approved trust and signs with their own key, but holds
    no approve_policy there: their signature is no council's, in the file's pending line or not."""
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)  # the edit that would make them a holder
    head = read_approvals(approved_root)[-1]
    digest = digest_of(trust_snapshot(load_policy(approved_root)))
    key = load_policy(approved_root).people[ANALYST].public_key
    signature = LocalIdentity(people={ANALYST: key}, folder=mesh_identities).sign(
        ANALYST, approval_payload("acme", digest, head.digest))
    pending = _pending_line(approved_root, {ANALYST: signature})
    write_approvals(approved_root, [*read_approvals(approved_root), pending])
    chain = verify_chain(load_policy(approved_root), read_approvals(approved_root))
    assert chain.pending is not None and chain.pending_signers == frozenset()
    assert not may(approved_root, ANALYST, "read_audit")
    # a line after it claims it was approved: refused, naming the line
    write_approvals(approved_root, [*read_approvals(approved_root), TrustApproval(
        digest=head.digest, previous=pending.digest, snapshot=head.snapshot, signatures={})])
    with pytest.raises(ConfigError, match=r"mesh.approvals.jsonl:2: line 2 has 0 valid signature\(s\) of the "
                                          r"council's 1, yet an approval follows it"):
        load_policy_mesh(approved_root)


def test_a_council_signature_copied_from_an_earlier_approval_verifies_nothing(approved_root: Path) -> None:
    [head] = read_approvals(approved_root)
    edit(approved_root, *GIVE_FINANCE_READ_ALL)
    write_approvals(approved_root, [head, _pending_line(approved_root, dict(head.signatures))])
    assert verify_chain(load_policy(approved_root), read_approvals(approved_root)).pending_signers == frozenset()
    assert not may(approved_root, FINANCE, "read_all")


def test_a_quorum_lowered_in_the_change_it_approves_still_needs_the_quorum_in_effect(approved_root: Path) -> None:
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    edit(approved_root, "quorum = 1", "quorum = 2")
    assert approve(approved_root, COUNCIL)  # two holders, a quorum of 2: in effect
    edit(approved_root, "quorum = 2", "quorum = 1")  # lowered in the very change ...
    edit(approved_root, *GIVE_FINANCE_READ_ALL)  # ... that grants something
    assert not approve(approved_root, COUNCIL)  # the quorum of the approved trust decides: 2
    assert not may(approved_root, FINANCE, "read_all")
    assert approve(approved_root, ANALYST)
    assert may(approved_root, FINANCE, "read_all")


@pytest.mark.parametrize(("old", "new"), [
    pytest.param('"approve_grant", "approve_policy", ', '"approve_grant", ', id="approve-policy-taken-away"),
    pytest.param('members = ["council@acme.example"]', "members = []", id="last-member-removed"),
    pytest.param("quorum = 1", "quorum = 2", id="quorum-above-the-holders"),
])
def test_a_change_that_would_lock_the_council_out_is_refused_before_anyone_signs(approved_root: Path, old: str,
                                                                               new: str) -> None:
    """Once approved, no change of trust could ever be approved again: refused, nothing written."""
    before = (approved_root / APPROVALS_FILE).read_bytes()
    edit(approved_root, old, new)
    with pytest.raises(CouncilError, match="no later change of people, roles or owners could ever be approved") as raised:
        approve(approved_root, COUNCIL)
    assert "Fix: keep at least as many members with approve_policy" in str(raised.value)
    assert (approved_root / APPROVALS_FILE).read_bytes() == before
    assert may(approved_root, COUNCIL, "approve_policy")  # the approved trust still holds


def _two_approvals(root: Path) -> list[bytes]:
    edit(root, *GIVE_FINANCE_READ_ALL)
    assert approve(root, COUNCIL)
    return (root / APPROVALS_FILE).read_bytes().splitlines(keepends=True)


def _hostile_pending(root: Path) -> bytes:
    """A line whose snapshot matches its digest but holds no valid trust."""
    snapshot = {"people": 5, "roles": [], "identity": "x", "council": {"quorum": 0}, "owners": 3}
    head = read_approvals(root)[-1]
    body = {"digest": digest_of(snapshot), "previous": head.digest, "snapshot": snapshot, "signatures": {}}
    return json.dumps(body).encode() + b"\n"


@pytest.mark.parametrize(("damage", "says"), [
    pytest.param(lambda root, lines: lines + lines[-1:], "line 3 follows", id="duplicated-line"),
    pytest.param(lambda root, lines: lines[::-1], "line 1 follows sha256:", id="reordered-lines"),
    pytest.param(lambda root, lines: [*lines[:-1], lines[-1][: len(lines[-1]) // 2]], "jsonl:2: the line is not JSON",
                 id="truncated-last-line"),
    pytest.param(lambda root, lines: [*lines, b'{"digest":' + b"7" * 5000 + b"}\n"], "jsonl:3: the line cannot be read",
                 id="integer-of-5000-digits"),
    pytest.param(lambda root, lines: [*lines, b"[" * 200_000 + b"\n"], "jsonl:3: the line is not JSON", id="deep-nesting"),
    pytest.param(lambda root, lines: [*lines, b" " * 1_000_001 + b"{}\n"], "jsonl:3: the line is too long", id="huge-line"),
    pytest.param(lambda root, lines: [*lines, b'{"digest": NaN, "snapshot": []}\n'], "jsonl:3: the line lacks",
                 id="wrong-types"),
    pytest.param(lambda root, lines: [*lines, _hostile_pending(root)],
                 "line 3 holds people, roles or owners that are not valid", id="invalid-trust-in-a-pending-line"),
])
def test_a_damaged_or_hostile_approvals_file_is_one_clear_error(approved_root: Path, damage, says: str) -> None:
    lines = _two_approvals(approved_root)
    (approved_root / APPROVALS_FILE).write_bytes(b"".join(damage(approved_root, lines)))
    out = CliRunner().invoke(app, ["check", "--root", str(approved_root)], env={"COLUMNS": "400"})
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit | None), out.exception  # no crash
    assert "Traceback" not in out.output and says in out.output, out.output
    assert f"{APPROVALS_FILE}:" in out.output and "Fix:" in out.output and "mesh policy recover" in out.output


def test_an_approvals_file_larger_than_any_council_writes_is_refused_unread(approved_root: Path) -> None:
    """A file grown past the bound (sparse here: no disk is used) is one clear error, not a read
    of hundreds of megabytes into memory."""
    _two_approvals(approved_root)
    with (approved_root / APPROVALS_FILE).open("r+b") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    out = CliRunner().invoke(app, ["check", "--root", str(approved_root)], env={"COLUMNS": "400"})
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit | None), out.exception
    assert "Traceback" not in out.output and "more than 256 MB" in out.output, out.output
    assert f"{APPROVALS_FILE}" in out.output and "mesh policy recover" in out.output


def test_the_cli_as_someone_without_a_key_or_a_registration_approves_nothing(approved_root: Path,
                                                                           tmp_path: Path) -> None:
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    before = (approved_root / APPROVALS_FILE).read_bytes()
    root = ["--root", str(approved_root)]
    stranger = CliRunner().invoke(app, ["policy", "approve", *root, "--as", "mallory@acme.example"])
    assert stranger.exit_code == 1 and "mallory@acme.example" in stranger.output and "Traceback" not in stranger.output
    no_key = CliRunner().invoke(app, ["policy", "approve", *root, "--as", COUNCIL],
                                env={"MESH_IDENTITY": str(tmp_path / "empty")})
    assert no_key.exit_code == 1 and "Fix:" in no_key.output and "Traceback" not in no_key.output, no_key.output
    assert (approved_root / APPROVALS_FILE).read_bytes() == before
    assert not may(approved_root, ANALYST, "read_audit")


def test_recover_by_someone_without_approve_policy_is_refused_and_writes_nothing(approved_root: Path) -> None:
    (approved_root / APPROVALS_FILE).unlink()
    out = CliRunner().invoke(app, ["policy", "recover", "--root", str(approved_root), "--as", ANALYST])
    assert out.exit_code == 1 and "approve_policy" in out.output and "Traceback" not in out.output, out.output
    assert not (approved_root / APPROVALS_FILE).exists()
