"""The council's approval of trust: once approved, people, roles, owners and identity settings
change only when a quorum of approve_policy holders of the last approved trust has signed.
Editing mesh.toml (or the approvals file) without their keys gives nobody any right."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assets.errors import ConfigError
from governance.audit import audit_log_at
from governance.council import (
    APPROVALS_FILE,
    TRUST_APPROVED,
    TRUST_SIGNED,
    CouncilError,
    approve_trust,
    read_approvals,
    recover_approvals,
    verify_chain,
)
from governance.compiled import compile_mesh
from governance.council.anchor import check_anchor
from governance.council.approvals import (
    TrustApproval,
    approval_payload,
    write_approvals,
)
from governance.identity import (
    Actor,
    LocalIdentity,
    create_identity,
    held_public_key,
    identity_provider,
)
from governance.identity.authorization import PermissionDeniedError, require
from governance.identity.errors import IdentityError
from governance.identity.people import register_people
from governance.policy import digest_of, load_policy, trust_snapshot
from governance.services import governed
from governance.wiring import load_mesh, load_policy_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh

COUNCIL = "council@acme.example"
ANALYST = "analyst@acme.example"


def approve(root: Path, email: str) -> bool:
    """``email`` signs the file's trust, proven with the trust the mesh acts on; whether it is now approved."""
    mesh = load_policy_mesh(root)
    actor = identity_provider(mesh.policy).authenticate(email)
    signer = LocalIdentity(people={e: p.public_key for e, p in mesh.policy.people.items()})
    return approve_trust(mesh.policy, governed(mesh).audit, actor=actor, signer=signer).approved


def key_of(email: str, folder: Path) -> str:
    """``email``'s public key, created in the run's identity folder once."""
    return held_public_key(email, folder) or create_identity(email, folder)


def edit(root: Path, old: str, new: str) -> None:
    path = root / "mesh.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def may(root: Path, email: str, permission: str) -> bool:
    mesh = load_policy_mesh(root)
    try:
        require(mesh.policy, governed(mesh).audit, Actor(id=email, method="ed25519", evidence="test"), permission,
                action="test", target="test")
    except PermissionDeniedError:
        return False
    return True


def actions(root: Path) -> list[str]:
    return [r.action for r in audit_log_at(root / ".mesh").records()]


@pytest.fixture
def approved_root(tmp_path: Path) -> Path:
    return copy_example_mesh(tmp_path / "mesh")  # approved by the council


ADD_ANALYST_TO_COUNCIL = ('members = ["council@acme.example"]', 'members = ["council@acme.example", "analyst@acme.example"]')


def test_before_the_first_approval_the_file_is_in_effect_and_check_says_so(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh", approved=False)
    edit(root, *ADD_ANALYST_TO_COUNCIL)
    assert may(root, ANALYST, "read_audit")
    out = CliRunner().invoke(app, ["check", "--root", str(root)], env={"COLUMNS": "300"})
    assert "not approved by the council" in out.output
    status = CliRunner().invoke(app, ["policy", "status", "--root", str(root), "--json"])
    assert json.loads(status.output)["status"] == "unapproved"


def test_the_first_approval_is_signed_audited_and_kept_beside_mesh_toml(approved_root: Path) -> None:
    [line] = read_approvals(approved_root)
    assert line.previous is None and set(line.signatures) == {COUNCIL}
    assert line.digest == digest_of(trust_snapshot(load_policy_mesh(approved_root).policy))
    assert actions(approved_root)[-2:] == [TRUST_SIGNED, TRUST_APPROVED]
    status = CliRunner().invoke(app, ["policy", "status", "--root", str(approved_root), "--json"])
    assert json.loads(status.output)["status"] == "approved"


def test_someone_without_approve_policy_cannot_approve(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh", approved=False)
    with pytest.raises(PermissionDeniedError, match="approve_policy"):
        approve(root, ANALYST)
    assert not (root / APPROVALS_FILE).exists()
    assert "trust_approve" in actions(root)  # the refusal is audited


def test_a_role_added_by_editing_the_file_is_not_in_effect_until_the_council_approves(approved_root: Path) -> None:
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    assert not may(approved_root, ANALYST, "read_audit")
    with pytest.raises(PermissionDeniedError):
        approve(approved_root, ANALYST)  # the role the edit gave them is not theirs yet
    out = CliRunner().invoke(app, ["check", "--root", str(approved_root)], env={"COLUMNS": "300"})
    assert "roles: ~council" in out.output and "not in effect" in out.output
    assert approve(approved_root, COUNCIL)
    assert may(approved_root, ANALYST, "read_audit")


def test_a_quorum_of_two_needs_two_signatures_of_the_approved_council(approved_root: Path) -> None:
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    edit(approved_root, "quorum = 1", "quorum = 2")
    assert approve(approved_root, COUNCIL)  # approved under the quorum of 1 then in effect
    edit(approved_root, 'members = ["privacy@acme.example"]', 'members = ["privacy@acme.example", "finance-data@acme.example"]')
    assert not approve(approved_root, COUNCIL)
    assert not may(approved_root, "finance-data@acme.example", "read_all")
    status = CliRunner().invoke(app, ["policy", "status", "--root", str(approved_root), "--json"])
    assert json.loads(status.output)["signed_by"] == [COUNCIL]
    assert approve(approved_root, ANALYST)
    assert may(approved_root, "finance-data@acme.example", "read_all")


def test_a_person_registered_by_hand_cannot_prove_an_identity_until_approved(approved_root: Path,
                                                                             mesh_identities: Path) -> None:
    mallory = "mallory@acme.example"
    register_people(approved_root / "mesh.toml", {mallory: key_of(mallory, mesh_identities)})
    edit(approved_root, 'members = ["analyst@acme.example"]', 'members = ["analyst@acme.example", "mallory@acme.example"]')
    mesh = load_policy_mesh(approved_root)
    with pytest.raises(IdentityError, match="waiting for the council's approval"):
        identity_provider(mesh.policy).authenticate(mallory)
    assert approve(approved_root, COUNCIL)
    assert identity_provider(load_policy_mesh(approved_root).policy).authenticate(mallory).id == mallory


def test_a_line_signed_with_a_key_the_file_registers_approves_nothing(approved_root: Path,
                                                                      mesh_identities: Path) -> None:
    """The forger edits mesh.toml (their key, a council seat) and signs the change themselves."""
    mallory = "mallory@acme.example"
    register_people(approved_root / "mesh.toml", {mallory: key_of(mallory, mesh_identities)})
    edit(approved_root, 'members = ["council@acme.example"]', 'members = ["council@acme.example", "mallory@acme.example"]')
    snapshot = trust_snapshot(load_policy(approved_root))
    [head] = read_approvals(approved_root)
    digest = digest_of(snapshot)
    signature = LocalIdentity(people={mallory: _registered_key(approved_root, mallory)}, folder=mesh_identities) \
        .sign(mallory, approval_payload("acme", digest, head.digest))
    write_approvals(approved_root, [head, TrustApproval(digest=digest, previous=head.digest, snapshot=snapshot,
                                                        signatures={mallory: signature})])
    assert not may(approved_root, mallory, "approve_grant")
    status = CliRunner().invoke(app, ["policy", "status", "--root", str(approved_root), "--json"])
    assert json.loads(status.output)["status"] == "pending"


def _registered_key(root: Path, email: str) -> str:
    text = (root / "mesh.toml").read_text()
    start = text.index(f'[people."{email}"]')
    return text[start:].split('public_key = "', 1)[1].split('"', 1)[0]


def test_an_approval_of_another_mesh_does_not_verify_here(approved_root: Path, tmp_path: Path) -> None:
    other = copy_example_mesh(tmp_path / "other", approved=False)
    edit(other, 'name = "acme"', 'name = "other"')
    assert approve(other, COUNCIL)
    [line] = read_approvals(other)
    assert verify_chain(load_policy(approved_root), [line]).approved == ()  # signed for "other", not "acme"
    shutil.copy(other / APPROVALS_FILE, approved_root / APPROVALS_FILE)
    with pytest.raises(ConfigError, match="holds no approval"):
        load_policy_mesh(approved_root)


def test_a_replaced_approvals_file_is_refused_on_load(approved_root: Path, tmp_path: Path) -> None:
    """A whole new chain, approved by its own council, is not the first approval the audit log holds."""
    other = copy_example_mesh(tmp_path / "other", approved=False)
    edit(other, *ADD_ANALYST_TO_COUNCIL)
    assert approve(other, ANALYST)
    shutil.copy(other / APPROVALS_FILE, approved_root / APPROVALS_FILE)
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    with pytest.raises(ConfigError, match="this host acted on the council's approvals from .* now starts at"):
        load_policy_mesh(approved_root)
    (approved_root / ".mesh" / "state" / "council.json").unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="not the one this mesh's audit log recorded"):
        load_policy_mesh(approved_root)  # with the host's marker gone, the log still says


def test_a_deleted_approvals_file_is_refused_and_recovered_from_the_audit_log(approved_root: Path) -> None:
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    assert approve(approved_root, COUNCIL)
    (approved_root / APPROVALS_FILE).unlink()
    (approved_root / ".mesh" / "state" / "council.json").unlink()
    with pytest.raises(ConfigError, match="holds no approval"):
        load_policy_mesh(approved_root)
    out = CliRunner().invoke(app, ["policy", "recover", "--root", str(approved_root), "--as", COUNCIL])
    assert out.exit_code == 0, out.output
    assert "2 approval(s)" in out.output
    assert may(approved_root, ANALYST, "read_audit")


def test_a_host_that_saw_an_approval_refuses_a_file_without_it_whatever_log_it_is_shown(approved_root: Path,
                                                                                      tmp_path: Path) -> None:
    """An edit of [state] can name a database whose log holds no approval: the host's memory wins."""
    load_policy_mesh(approved_root)  # this host has seen the first approval
    elsewhere = audit_log_at(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="holds no approval"):
        check_anchor(approved_root / ".mesh", [], lambda: elsewhere)


def test_an_older_approvals_file_put_back_is_refused(approved_root: Path) -> None:
    older = (approved_root / APPROVALS_FILE).read_bytes()
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    assert approve(approved_root, COUNCIL)
    load_policy_mesh(approved_root)
    (approved_root / APPROVALS_FILE).write_bytes(older)
    with pytest.raises(ConfigError, match="no longer holds approval"):
        load_policy_mesh(approved_root)


def test_recover_proves_the_actor_with_the_approved_keys_not_the_files(approved_root: Path,
                                                                      mesh_identities: Path) -> None:
    mallory = "mallory@acme.example"
    register_people(approved_root / "mesh.toml", {mallory: key_of(mallory, mesh_identities)})
    edit(approved_root, 'members = ["council@acme.example"]', 'members = ["council@acme.example", "mallory@acme.example"]')
    (approved_root / APPROVALS_FILE).unlink()
    with pytest.raises(IdentityError):  # mallory's key is the file's, not the approved trust's
        recover_approvals(load_policy(approved_root), audit_log_at(approved_root / ".mesh"), claimed=mallory)
    assert not (approved_root / APPROVALS_FILE).exists()


def test_a_domain_added_by_hand_is_owned_by_the_council_until_approved(approved_root: Path) -> None:
    with open(approved_root / "mesh.toml", "a") as fh:
        fh.write('\n[domains.shadow]\nowners = ["analyst@acme.example"]\n')
    (approved_root / "domains" / "shadow").mkdir()
    (approved_root / "domains" / "shadow" / "__init__.py").write_text("")
    (approved_root / "domains" / "shadow" / "assets.py").write_text("")
    assert load_policy_mesh(approved_root).policy.domains["shadow"].owners == (COUNCIL,)
    assert approve(approved_root, COUNCIL)
    assert load_policy_mesh(approved_root).policy.domains["shadow"].owners == (ANALYST,)


def test_nothing_to_approve_is_said_plainly(approved_root: Path) -> None:
    with pytest.raises(CouncilError, match="nothing to approve"):
        approve(approved_root, COUNCIL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=400))
def test_any_bytes_in_the_approvals_file_give_a_clear_error_or_nothing(approved_root: Path, junk: bytes) -> None:
    good = (approved_root / APPROVALS_FILE).read_bytes()
    try:
        (approved_root / APPROVALS_FILE).write_bytes(good + junk)
        try:
            load_policy_mesh(approved_root)
        except ConfigError as exc:
            assert APPROVALS_FILE in str(exc) and "Fix:" in str(exc)
    finally:
        (approved_root / APPROVALS_FILE).write_bytes(good)


def test_audit_verify_full_finds_an_older_file_that_a_state_writer_slipped_past_the_host(approved_root: Path) -> None:
    """Who can also write .mesh/state can forget the host's memory; the log still holds every approval."""
    older = (approved_root / APPROVALS_FILE).read_bytes()
    edit(approved_root, *ADD_ANALYST_TO_COUNCIL)
    assert approve(approved_root, COUNCIL)
    (approved_root / APPROVALS_FILE).write_bytes(older)
    (approved_root / ".mesh" / "state" / "council.json").unlink()
    load_policy_mesh(approved_root)  # the first approval is the log's: the load alone cannot tell
    out = CliRunner().invoke(app, ["audit", "verify", "--full", "--root", str(approved_root)], env={"COLUMNS": "300"})
    assert out.exit_code == 1
    assert "holds 1 approval(s) of people, roles and owners, the audit log 2" in out.output
    assert "mesh policy recover" in out.output
    fine = CliRunner().invoke(app, ["policy", "recover", "--root", str(approved_root), "--as", COUNCIL])
    assert fine.exit_code == 0, fine.output
    again = CliRunner().invoke(app, ["audit", "verify", "--full", "--root", str(approved_root)], env={"COLUMNS": "300"})
    assert again.exit_code == 0 and "mesh.approvals.jsonl matches the log" in again.output, again.output


def test_audit_verify_runs_while_the_approvals_are_in_question(approved_root: Path) -> None:
    (approved_root / APPROVALS_FILE).write_text("not json\n")
    out = CliRunner().invoke(app, ["audit", "verify", "--root", str(approved_root)], env={"COLUMNS": "300"})
    assert "records checked" in out.output, out.output  # verified (no head is signed yet in this copy)
    full = CliRunner().invoke(app, ["audit", "verify", "--full", "--root", str(approved_root)], env={"COLUMNS": "300"})
    assert full.exit_code == 1 and "the line is not JSON" in full.output


def _customers_read_by_sales(root: Path) -> bool:
    import datetime as dt

    from governance.access import domain_may_read

    mesh = load_policy_mesh(root)
    spec = load_mesh(root, domains=["customers"]).graph["customers.customers"].spec
    return domain_may_read(mesh.policy, "sales", spec, dt.date.today()).allowed


def test_an_edit_of_owners_does_not_refuse_the_file_the_approved_trust_judges_each_grant(approved_root: Path) -> None:
    """Taking an approver out of the owners (by hand) once refused all of mesh.toml, so nothing
    ran. The edit is not in effect until approved; once it is, the grant that approver signed is
    denied on its own (deny by default), `mesh check` says which and why, and the mesh still runs."""
    edit(approved_root, 'owners = ["customers-data@acme.example"]', 'owners = ["analyst@acme.example"]')
    load_policy(approved_root)  # the file is valid: no approver is judged against the file's owners
    assert _customers_read_by_sales(approved_root)  # the council has not approved the edit: grant 0 holds
    before = CliRunner().invoke(app, ["check", "--root", str(approved_root)], env={"COLUMNS": "400"})
    assert "counts for nothing" not in before.output and "owners: ~customers" in before.output
    assert approve(approved_root, COUNCIL)
    assert not _customers_read_by_sales(approved_root)  # the approver is no owner in the approved trust
    after = CliRunner().invoke(app, ["check", "--root", str(approved_root)], env={"COLUMNS": "400"})
    assert after.exit_code == 1
    assert ("[[grants]][0].approved_by (customers.customers -> sales): 'customers-data@acme.example' is no domain "
            "owner and no member of a role in the trust in effect, so their approval counts for nothing; the grant "
            "is denied") in after.output
    assert "[[grants]][1]" not in after.output  # the other grant is judged on its own and stands
    compiled = compile_mesh(approved_root)  # what Airflow runs: only the reader of the denied grant is out
    assert compiled.error is None and not any(compiled.domains[d].error for d in ("customers", "finance", "marketing"))
    assert "grant [[grants]][0] for 'sales' lacks approval" in str(compiled.domains["sales"].error)
