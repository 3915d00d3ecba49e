"""A revoked grant stays revoked, and a grant's approvals are bound to their mesh, grant id and
nonce: a revoked grant's entry pasted back into mesh.toml (or a `git revert`) grants nothing and
says who revoked it when; signatures copied into a mesh of another name, or onto another grant
id with the same fields, approve nothing; approvals in the old format (version 1) count for
nothing and `mesh check` names the fix."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assets.errors import ConfigError
from governance.access import AccessDeniedError, active_grant, domain_may_read, missing_approvals, user_may_read
from governance.access.revocations import revocation_of
from governance.access.workflow import GrantWorkflowError, approve_grant, request_grant, revoke_grant
from governance.audit import audit_log_at
from governance.check import check_mesh
from governance.identity import LocalIdentity, create_identity, identity_provider, verify_approval
from governance.identity.approvals import LEGACY_PAYLOAD_TYPE, payload_of, sign_approval
from governance.policy import Grant, MeshPolicy, PolicyErrors, load_policy
from governance.policy.model import new_grant_nonce
from governance.services import governed
from governance.wiring import load_mesh, load_policy_mesh
from meshctl.cli import app

TODAY = dt.date.today()
COUNCIL, CUSTOMERS, SALES = "council@acme.example", "customers-data@acme.example", "sales-data@acme.example"
#: The example's grant of customers.customers to sales (mesh.toml).
GRANT = "g-f7420363"
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def signer(policy: MeshPolicy) -> LocalIdentity:
    return LocalIdentity(people={e: p.public_key for e, p in policy.people.items()})


def add_grant(root: Path, *, grant_id: str, nonce: str, signatures: str = "{}",
              approved_by: tuple[str, ...] = (CUSTOMERS, COUNCIL)) -> int:
    """Append a grant of customers.customers to marketing by hand; returns its index."""
    text = (root / "mesh.toml").read_text()
    approvers = ", ".join(f'"{a}"' for a in approved_by)
    entry = (f'\n[[grants]]\nid = "{grant_id}"\n' + (f'nonce = "{nonce}"\n' if nonce else "")
             + f'product = "customers.customers"\nconsumer = "marketing"\npurpose = "loyalty mailing"\n'
             f"approved_by = [{approvers}]\nsignatures = {signatures}\nexpires = 2027-06-30\n")
    (root / "mesh.toml").write_text(text.replace("\n[roles.council]", entry + "\n[roles.council]", 1))
    return text.count("[[grants]]")


def signatures_over(policy: MeshPolicy, grant: Grant, *emails: str, mesh: str | None = None) -> str:
    """A TOML inline table of each person's signature over ``grant`` in mesh ``mesh`` (default: its own)."""
    sign = signer(policy)
    payload = payload_of(mesh or policy.settings.name, grant)
    return "{ " + ", ".join(f'"{e}" = "{sign.sign(e, payload)}"' for e in emails) + " }"


# -- revocation ---------------------------------------------------------------------------------

def test_a_revoked_grant_pasted_back_into_mesh_toml_grants_nothing(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    customers = mesh.graph["customers.customers"].spec
    assert domain_may_read(mesh.policy, "sales", customers, TODAY).allowed
    signed = (example_root / "mesh.toml").read_text()
    council = identity_provider(mesh.policy).authenticate(COUNCIL)
    revoke_grant(mesh.policy, governed(mesh).audit, grant_id=GRANT, actor=council)
    assert GRANT not in (example_root / "mesh.toml").read_text()
    [record] = [r for r in audit_log_at(example_root / ".mesh").records() if r.action == "grant_revoke"]
    assert record.details["grant"] == GRANT and record.details["nonce"] == mesh.policy.grants[0].nonce

    (example_root / "mesh.toml").write_text(signed)  # pasted back, or `git revert`
    policy = load_policy(example_root)
    pasted = next(g for g in policy.grants if g.id == GRANT)
    assert not missing_approvals(policy, pasted), "its signatures still verify: only the revocation stops it"
    revocation = revocation_of(policy, pasted)
    assert revocation is not None and revocation.revoked_by == COUNCIL
    assert active_grant(policy, "customers.customers", "sales", TODAY) is None
    decision = domain_may_read(policy, "sales", customers, TODAY)
    assert not decision.allowed and f"grant {GRANT} was revoked by {COUNCIL} at {revocation.revoked_at}" \
        in decision.reason, decision.reason
    assert "revoked by" in user_may_read(policy, SALES, customers, TODAY).reason
    with pytest.raises(AccessDeniedError, match=f"grant {GRANT} was revoked by {re.escape(COUNCIL)}"):
        load_mesh(example_root)  # sales.customer_orders reads customers.customers

    problems = " ".join(check_mesh(example_root).problems)
    assert f"grant {GRANT} was revoked by {COUNCIL} at {revocation.revoked_at}" in problems, problems
    assert "Fix: remove it from mesh.toml" in problems
    listed = CliRunner().invoke(app, ["access", "list", "--json", "--root", str(example_root)])
    assert [g["status"] for g in json.loads(listed.stdout) if g["id"] == GRANT] == ["revoked"]


def test_a_revoked_grant_is_never_approved_again(example_root: Path) -> None:
    mesh = load_policy_mesh(example_root)
    signed = (example_root / "mesh.toml").read_text()
    council = identity_provider(mesh.policy).authenticate(COUNCIL)
    revoke_grant(mesh.policy, governed(mesh).audit, grant_id=GRANT, actor=council)
    (example_root / "mesh.toml").write_text(signed)
    policy = load_policy(example_root)
    with pytest.raises(GrantWorkflowError, match="a revoked grant is never approved again"):
        approve_grant(policy, governed(mesh).audit, grant_id=GRANT, approver=council, signer=signer(policy))


def test_a_revoked_grant_is_listed_as_revoked_and_named_as_revoked_when_revoked_again(example_root: Path) -> None:
    """Once revoked, the grant is gone from mesh.toml, but `mesh access list` still shows it revoked
    (by whom, when), and naming it again (revoke, approve) says it was revoked, not that it never was."""
    runner = CliRunner()
    root = ["--root", str(example_root)]
    assert runner.invoke(app, ["access", "revoke", GRANT, "--as", COUNCIL, *root]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["access", "list", "--json", *root]).stdout)
    [row] = [g for g in listed if g["id"] == GRANT]
    assert row["status"] == "revoked" and row["product"] == "customers.customers" and row["consumer"] == "sales"
    assert f"was revoked by {COUNCIL}" in row["lacks"][0]
    for command in ("revoke", "approve"):
        again = runner.invoke(app, ["access", command, GRANT, "--as", COUNCIL, *root])
        assert again.exit_code == 1 and "Traceback" not in again.output
        error = " ".join(again.stderr.split())
        assert f"grant {GRANT} was revoked by {COUNCIL}" in error and "never one again" in error, error
        assert "mesh access request customers.customers --consumer sales" in error, error


def test_approving_a_grant_again_says_so(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    asked = runner.invoke(app, ["access", "request", "customers.customers", "--consumer", "marketing", "--purpose",
                                "loyalty", "--as", "marketing-data@acme.example", *root])
    grant_id = asked.stdout.split()[1]
    first = runner.invoke(app, ["access", "approve", grant_id, "--as", CUSTOMERS, *root])
    assert first.exit_code == 0 and "had approved it already" not in first.stdout, first.output
    again = runner.invoke(app, ["access", "approve", grant_id, "--as", CUSTOMERS, *root])
    assert again.exit_code == 0 and f"{CUSTOMERS} had approved it already" in again.stdout, again.output


def test_a_revoked_grant_pasted_back_with_another_requester_is_refused_as_revoked(example_root: Path) -> None:
    """The revocation is what an approver is told first, not a side issue of the edited entry."""
    runner = CliRunner()
    root = ["--root", str(example_root)]
    asked = runner.invoke(app, ["access", "request", "customers.customers", "--consumer", "marketing", "--purpose",
                                "loyalty", "--as", "marketing-data@acme.example", *root])
    assert asked.exit_code == 0, asked.output
    grant_id = asked.stdout.split()[1]
    requested = (example_root / "mesh.toml").read_text()
    assert runner.invoke(app, ["access", "revoke", grant_id, "--as", COUNCIL, *root]).exit_code == 0
    edited = requested.replace('requested_by = "marketing-data@acme.example"', 'requested_by = "sales-data@acme.example"')
    assert edited != requested
    (example_root / "mesh.toml").write_text(edited)
    again = runner.invoke(app, ["access", "approve", grant_id, "--as", COUNCIL, *root])
    error = " ".join(again.stderr.split())
    assert again.exit_code == 1 and "a revoked grant is never approved again" in error, error


def test_a_grant_requested_anew_after_a_revocation_is_another_grant(example_root: Path) -> None:
    """The revocation names the old grant's id and nonce: a new request (new id, new nonce) counts."""
    mesh = load_policy_mesh(example_root)
    audit = governed(mesh).audit
    people = identity_provider(mesh.policy)
    revoke_grant(mesh.policy, audit, grant_id=GRANT, actor=people.authenticate(COUNCIL))
    policy = load_policy(example_root)
    new = request_grant(policy, audit, product="customers.customers", consumer="sales", purpose="order attribution",
                        requester=people.authenticate(SALES), expires=TODAY + dt.timedelta(days=30),
                        visibility="restricted")
    for who in (CUSTOMERS, COUNCIL):
        policy = load_policy(example_root)
        approve_grant(policy, audit, grant_id=new, approver=people.authenticate(who), signer=signer(policy))
    granted = active_grant(load_policy(example_root), "customers.customers", "sales", TODAY)
    assert granted is not None and granted.id == new and re.fullmatch(r"[0-9a-f]{32}", granted.nonce)


# -- what a signature is bound to -----------------------------------------------------------------

def test_a_grants_signatures_copied_into_a_mesh_of_another_name_do_not_verify(example_root: Path) -> None:
    """The same people with the same keys, in a mesh named otherwise: the example's signed grants
    (signed for "acme") approve nothing there."""
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace('name = "acme"', 'name = "globex"', 1))
    policy = load_policy(example_root)
    assert policy.settings.name == "globex"
    assert all(missing_approvals(policy, g) for g in policy.grants)
    assert active_grant(policy, "customers.customers", "sales", TODAY) is None
    assert "does not verify over this grant in this mesh" in " ".join(missing_approvals(policy, policy.grants[0]))


def test_signatures_made_for_another_mesh_name_approve_nothing_here(example_root: Path) -> None:
    index = add_grant(example_root, grant_id="g-elsewhere", nonce=new_grant_nonce())
    policy = load_policy(example_root)
    grant = policy.grants[index]
    text = (example_root / "mesh.toml").read_text()
    forged = signatures_over(policy, grant, CUSTOMERS, COUNCIL, mesh="globex")
    (example_root / "mesh.toml").write_text(text.replace("signatures = {}", f"signatures = {forged}", 1))
    policy = load_policy(example_root)
    assert "does not verify" in " ".join(missing_approvals(policy, policy.grants[index]))
    assert active_grant(policy, "customers.customers", "marketing", TODAY) is None


def test_a_signature_for_grant_id_a_does_not_verify_for_grant_id_b_with_the_same_fields(example_root: Path) -> None:
    nonce = new_grant_nonce()
    first = add_grant(example_root, grant_id="g-aaaaaaaa", nonce=nonce)
    policy = load_policy(example_root)
    signed = signatures_over(policy, policy.grants[first], CUSTOMERS, COUNCIL)
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace("signatures = {}", f"signatures = {signed}", 1))
    policy = load_policy(example_root)
    assert not missing_approvals(policy, policy.grants[first]), "grant A is approved"

    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace('id = "g-aaaaaaaa"', 'id = "g-bbbbbbbb"', 1))
    policy = load_policy(example_root)
    moved = policy.grants[first]
    assert moved.id == "g-bbbbbbbb" and moved.nonce == nonce
    assert "does not verify over this grant" in " ".join(missing_approvals(policy, moved))
    assert active_grant(policy, "customers.customers", "marketing", TODAY) is None


def test_a_signature_over_another_nonce_does_not_verify(example_root: Path) -> None:
    index = add_grant(example_root, grant_id="g-nonce", nonce=new_grant_nonce())
    policy = load_policy(example_root)
    signed = signatures_over(policy, policy.grants[index], CUSTOMERS, COUNCIL)
    text = (example_root / "mesh.toml").read_text()
    text = text.replace("signatures = {}", f"signatures = {signed}", 1)
    (example_root / "mesh.toml").write_text(re.sub(r'(id = "g-nonce"\nnonce = )"[0-9a-f]{32}"',
                                                   rf'\1"{new_grant_nonce()}"', text))
    policy = load_policy(example_root)
    assert missing_approvals(policy, policy.grants[index])


# -- version 1 signatures -----------------------------------------------------------------------------

def _v1_signatures(policy: MeshPolicy, grant: Grant, *emails: str) -> str:
    body = {"type": LEGACY_PAYLOAD_TYPE, "product": grant.product, "consumer": grant.consumer,
            "purpose": grant.purpose, "expires": grant.expires.isoformat() if grant.expires else None}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    sign = signer(policy)
    return "{ " + ", ".join(f'"{e}" = "{sign.sign(e, payload)}"' for e in emails) + " }"


def test_old_version_1_signatures_count_for_nothing_and_mesh_check_names_the_fix(example_root: Path) -> None:
    index = add_grant(example_root, grant_id="g-old", nonce="")  # written before nonces
    policy = load_policy(example_root)
    old = _v1_signatures(policy, policy.grants[index], CUSTOMERS, COUNCIL)
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace("signatures = {}", f"signatures = {old}", 1))
    policy = load_policy(example_root)
    grant = policy.grants[index]
    assert active_grant(policy, "customers.customers", "marketing", TODAY) is None
    problems = check_mesh(example_root).problems
    for who in (CUSTOMERS, COUNCIL):
        assert any(f"the approval of '{who}' is signed in the old format (version 1" in p
                   and f"Fix: {who} runs `mesh access approve g-old --as {who}`" in p for p in problems), problems

    audit = audit_log_at(example_root / ".mesh")
    people = identity_provider(policy)
    for who in (CUSTOMERS, COUNCIL):  # the fix, as mesh check says it
        policy = load_policy(example_root)
        approve_grant(policy, audit, grant_id="g-old", approver=people.authenticate(who), signer=signer(policy))
    policy = load_policy(example_root)
    renewed = policy.grants[index]
    assert re.fullmatch(r"[0-9a-f]{32}", renewed.nonce), "the first approval gave it a nonce"
    assert active_grant(policy, "customers.customers", "marketing", TODAY) == renewed
    assert check_mesh(example_root).ok, check_mesh(example_root).problems


# -- hostile entries -------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "key"), [
    pytest.param('nonce = "not-a-nonce"', "nonce", id="nonce-text"),
    pytest.param('nonce = "ABCDEF0123456789ABCDEF0123456789"', "nonce", id="nonce-upper-case"),
    pytest.param("nonce = 12", "nonce", id="nonce-number"),
    pytest.param('nonce = "' + "a" * 5000 + '"', "nonce", id="nonce-huge"),
    pytest.param('id = "G-\\n\\u0000x"', "id", id="id-control-characters"),
    pytest.param('id = "' + "g" * 5000 + '"', "id", id="id-huge"),
])
def test_a_malformed_nonce_or_grant_id_is_one_line_naming_mesh_toml_and_the_fix(example_root: Path, line: str,
                                                                                 key: str) -> None:
    text = (example_root / "mesh.toml").read_text()
    pattern = r'nonce = "427d524e7a3120f3a1e116885080f84a"[^\n]*' if key == "nonce" else r'id = "g-f7420363"'
    (example_root / "mesh.toml").write_text(re.sub(pattern, lambda _: line, text, count=1))
    with pytest.raises(PolicyErrors) as caught:
        load_policy(example_root)
    [problem] = caught.value.problems
    message = str(problem)
    assert "\n" not in message and len(message) < 600, message
    assert f"mesh.toml [[grants]][0].{key}" in message and "Fix: " in message, message


@pytest.fixture(scope="module")
def held() -> tuple[LocalIdentity, str]:
    folder = Path(tempfile.mkdtemp(prefix="mesh-grant-payload-"))
    public = create_identity("alice@acme.example", folder)
    return LocalIdentity(people={"alice@acme.example": public}, folder=folder), public


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,31}", fullmatch=True)
nonces = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)


@FAST
@given(mesh=names, other_mesh=names, grant_id=ids, other_id=ids, nonce=nonces, other_nonce=nonces)
def test_a_signature_verifies_for_its_own_mesh_id_and_nonce_only(
        held: tuple[LocalIdentity, str], mesh: str, other_mesh: str, grant_id: str, other_id: str, nonce: str,
        other_nonce: str) -> None:
    identity, public = held
    grant = Grant(id=grant_id, nonce=nonce, product="sales.orders", consumer="finance", purpose="revenue",
                  expires=dt.date(2030, 1, 1))
    signature = sign_approval(identity, "alice@acme.example", mesh, grant)
    assert verify_approval(public, mesh, grant, signature)
    assert verify_approval(public, other_mesh, grant, signature) == (other_mesh == mesh)
    moved = Grant(id=other_id, nonce=nonce, product="sales.orders", consumer="finance", purpose="revenue",
                  expires=dt.date(2030, 1, 1))
    assert verify_approval(public, mesh, moved, signature) == (other_id == grant_id)
    renonced = Grant(id=grant_id, nonce=other_nonce, product="sales.orders", consumer="finance", purpose="revenue",
                     expires=dt.date(2030, 1, 1))
    assert verify_approval(public, mesh, renonced, signature) == (other_nonce == nonce)


@FAST
@given(nonce=st.text(max_size=80), grant_id=st.text(max_size=80))
def test_any_nonce_or_grant_id_is_a_grant_or_a_one_line_config_error(nonce: str, grant_id: str) -> None:
    try:
        Grant(id=grant_id, nonce=nonce, product="sales.orders", consumer="finance", purpose="revenue")
    except ConfigError as exc:
        assert "\n" not in str(exc) and exc.fix, str(exc)
