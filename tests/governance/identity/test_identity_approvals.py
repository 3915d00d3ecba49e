"""Signed approvals: a name in approved_by counts only with the approver's signature over this
grant's content, verified with their key registered in [people]."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest

from governance.access import AccessDeniedError, active_grant, missing_approvals
from governance.access.workflow import GrantWorkflowError, approve_grant
from governance.audit import audit_log_at
from governance.check import check_mesh
from governance.identity import (
    LocalIdentity,
    create_identity,
    identity_provider,
)
from governance.identity.approvals import payload_of
from governance.identity.example import enroll_people
from governance.policy import Grant, MeshPolicy, PolicyErrors, load_policy
from governance.policy.model import new_grant_nonce
from governance.wiring import load_mesh

TODAY = dt.date.today()
COUNCIL, CUSTOMERS = "council@acme.example", "customers-data@acme.example"


def signer(policy: MeshPolicy) -> LocalIdentity:
    return LocalIdentity(people={e: p.public_key for e, p in policy.people.items()})


def signatures_of(policy: MeshPolicy, grant: Grant, *emails: str) -> str:
    """A TOML inline table of each person's valid signature over ``grant``."""
    sign = signer(policy)
    payload = payload_of(policy.settings.name, grant)
    return "{ " + ", ".join(f'"{e}" = "{sign.sign(e, payload)}"' for e in emails) + " }"


def add_grant(root: Path, *, consumer: str = "marketing", purpose: str = "loyalty mailing",
              expires: str = "2027-06-30", approved_by: tuple[str, ...] = (CUSTOMERS, COUNCIL),
              signatures: str | None = None, nonce: str | None = None) -> int:
    """Append a grant of customers.customers to mesh.toml by hand (with a new nonce unless one
    is given; ``""`` for none); returns its index."""
    text = (root / "mesh.toml").read_text()
    nonce = new_grant_nonce() if nonce is None else nonce
    entry = ("\n[[grants]]\n" + (f'nonce = "{nonce}"\n' if nonce else "")
             + f'product = "customers.customers"\nconsumer = "{consumer}"\npurpose = "{purpose}"\n'
             f"approved_by = [{', '.join(repr(a).replace(chr(39), chr(34)) for a in approved_by)}]\n"
             f"expires = {expires}\n" + (f"signatures = {signatures}\n" if signatures else ""))
    (root / "mesh.toml").write_text(text.replace("\n[roles.council]", entry + "\n[roles.council]", 1))
    return text.count("[[grants]]")


def test_signed_approvals_make_the_example_grants_active(example_root: Path) -> None:
    policy = load_policy(example_root)
    assert all(set(g.signatures) == set(g.approved_by) for g in policy.grants)
    assert active_grant(policy, "customers.customers", "sales", TODAY) is not None
    assert check_mesh(example_root).ok, check_mesh(example_root).problems
    assert enroll_people(example_root).signed == (), "enrolling again signs nothing"


def test_a_hand_written_approval_without_signature_approves_nothing(example_root: Path) -> None:
    index = add_grant(example_root)
    policy = load_policy(example_root)
    assert active_grant(policy, "customers.customers", "marketing", TODAY) is None
    grant = policy.grants[index]
    missing = " ".join(missing_approvals(policy, grant))
    assert f"the approval of '{COUNCIL}' is not signed; it approves nothing" in missing
    assert f"mesh access approve {grant.id} --as {COUNCIL}" in missing
    problems = check_mesh(example_root).problems
    assert any(f"[[grants]][{index}].approved_by" in p and f"mesh access approve {grant.id} --as {CUSTOMERS}" in p
               for p in problems), problems


@pytest.mark.parametrize("changes", [
    pytest.param({"purpose": "something else entirely"}, id="other-purpose"),
    pytest.param({"consumer": "finance"}, id="other-consumer"),
    pytest.param({"expires": "2099-12-31"}, id="later-expiry"),
])
def test_a_signature_copied_from_another_grant_approves_nothing(example_root: Path, changes: dict[str, Any]) -> None:
    original = add_grant(example_root)
    policy = load_policy(example_root)
    signed = signatures_of(policy, policy.grants[original], CUSTOMERS, COUNCIL)
    index = add_grant(example_root, signatures=signed, **changes)
    policy = load_policy(example_root)
    copy = policy.grants[index]
    assert active_grant(policy, "customers.customers", copy.consumer, TODAY) in (None, policy.grants[original])
    assert missing_approvals(policy, copy), "the copied signatures approve nothing"
    assert "does not verify over this grant" in " ".join(missing_approvals(policy, copy))


def test_a_signature_copied_from_another_grant_is_refused_when_the_graph_is_built(example_root: Path) -> None:
    """Editing a signed grant's content (here, its expiry) voids its approvals."""
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace("expires = 2027-06-30", "expires = 2027-07-31", 1))
    with pytest.raises(AccessDeniedError, match=r"may not read 'customers.customers'.*does not verify"):
        load_mesh(example_root)


def test_a_signature_made_with_another_persons_key_approves_nothing(example_root: Path) -> None:
    index = add_grant(example_root, signatures="{}")
    policy = load_policy(example_root)
    grant = policy.grants[index]
    payload = payload_of(policy.settings.name, grant)
    sign = signer(policy)  # privacy@ signs, but writes it as the council's signature
    owner, impostor = sign.sign(CUSTOMERS, payload), sign.sign("privacy@acme.example", payload)
    forged = f'{{ "{CUSTOMERS}" = "{owner}", "{COUNCIL}" = "{impostor}" }}'
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace("signatures = {}", f"signatures = {forged}", 1))
    policy = load_policy(example_root)
    assert active_grant(policy, "customers.customers", "marketing", TODAY) is None
    missing = missing_approvals(policy, policy.grants[index])
    assert any("approve_grant" in m for m in missing)
    assert any(f"'{COUNCIL}' has a signature that does not verify" in m for m in missing)
    assert not any(f"'{CUSTOMERS}'" in m for m in missing), "the owner's own signature is valid"


def test_case_variants_of_one_address_are_one_approver(example_root: Path) -> None:
    variants = ("Council@Acme.example", "council@acme.example", " COUNCIL@acme.EXAMPLE")
    index = add_grant(example_root, approved_by=variants)
    policy = load_policy(example_root)
    grant = policy.grants[index]
    assert grant.approved_by == (COUNCIL,)
    text = (example_root / "mesh.toml").read_text()
    signed = signatures_of(policy, grant, COUNCIL).replace(COUNCIL, "Council@Acme.example")
    (example_root / "mesh.toml").write_text(text.replace(
        'purpose = "loyalty mailing"', f'purpose = "loyalty mailing"\nsignatures = {signed}', 1))
    policy = load_policy(example_root)
    missing = missing_approvals(policy, policy.grants[index])
    assert len(missing) == 1 and "an owner of domain 'customers'" in missing[0], missing


def test_a_self_approval_in_another_case_is_still_a_self_approval(example_root: Path) -> None:
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(text.replace(
        'purpose = "order attribution to customers"',
        'purpose = "order attribution to customers"\nrequested_by = "COUNCIL@acme.example"', 1))
    with pytest.raises(PolicyErrors, match="approved their own request"):
        load_policy(example_root)


def test_the_workflow_signs_with_the_approvers_registered_key_only(example_root: Path, tmp_path: Path) -> None:
    index = add_grant(example_root, approved_by=())
    policy = load_policy(example_root)
    audit = audit_log_at(example_root / ".mesh")
    council = identity_provider(policy).authenticate(COUNCIL)
    create_identity(COUNCIL, tmp_path / "stolen-laptop")
    impostor = LocalIdentity(people={COUNCIL: policy.people[COUNCIL].public_key}, folder=tmp_path / "stolen-laptop")
    with pytest.raises(Exception, match="is not the one registered"):
        approve_grant(policy, audit, grant_id=policy.grants[index].id, approver=council, signer=impostor)
    assert load_policy(example_root).grants[index].approved_by == ()
    missing = approve_grant(policy, audit, grant_id=policy.grants[index].id, approver=council, signer=signer(policy))
    after = load_policy(example_root).grants[index]
    assert after.approved_by == (COUNCIL,) and set(after.signatures) == {COUNCIL}
    assert missing and "an owner of domain 'customers'" in missing[0]
    written = (example_root / "mesh.toml").read_text()
    assert re.search(r'signatures = \{\s*"council@acme.example" = "ed25519:[A-Za-z0-9+/=]{88}"\s*\}', written), written


def test_a_service_cannot_approve(example_root: Path) -> None:
    from governance.identity import Actor

    policy = load_policy(example_root)
    service = Actor.service("customers", "airflow dag=customers__customers run=manual__1")
    with pytest.raises(GrantWorkflowError, match="is a service"):
        approve_grant(policy, audit_log_at(example_root / ".mesh"), grant_id=policy.grants[0].id, approver=service,
                      signer=signer(policy))


@pytest.mark.parametrize(("toml", "message"), [
    pytest.param('\n[people."x@acme.example"]\npublic_key = "ed25519:AAAA"\n', "is not 'ed25519:<base64 of 32 bytes>'",
                 id="short-key"),
    pytest.param('\n[people."x@acme.example"]\nkey = "ed25519:AAAA"\n', "unknown key 'key'", id="unknown-key"),
    pytest.param('\n[people."Platform@acme.example"]\npublic_key = "{key}"\n', "registered twice", id="twice"),
    pytest.param('\n[identity]\nprovider = "oidc"\naudience = "mesh"\n', "the oidc provider needs an issuer",
                 id="oidc-without-issuer"),
    pytest.param('\n[identity]\nprovider = "saml"\n', "unknown provider 'saml'", id="unknown-provider"),
])
def test_people_and_identity_are_validated_at_load(example_root: Path, toml: str, message: str) -> None:
    key = load_policy(example_root).people["platform@acme.example"].public_key
    with (example_root / "mesh.toml").open("a") as fh:
        fh.write(toml.replace("{key}", key))
    with pytest.raises(PolicyErrors, match=re.escape(message)):
        load_policy(example_root)


def test_a_signature_of_someone_not_in_approved_by_is_a_policy_error(example_root: Path) -> None:
    policy = load_policy(example_root)
    add_grant(example_root, approved_by=(COUNCIL,),
              signatures=signatures_of(policy, policy.grants[0], COUNCIL, CUSTOMERS))
    with pytest.raises(PolicyErrors, match=f"'{CUSTOMERS}' signed but is not in approved_by"):
        load_policy(example_root)


def test_enrolment_skips_a_person_registered_with_a_key_it_does_not_hold(example_root: Path, tmp_path: Path) -> None:
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(re.sub(r'signatures = \{[^}]*\}\n', "", text))
    result = enroll_people(example_root, tmp_path / "another-machine")
    assert result.registered == () and result.signed == ()
    assert set(result.skipped) == {CUSTOMERS, COUNCIL, "sales-data@acme.example"}
    assert os.environ["MESH_IDENTITY"] != str(tmp_path / "another-machine")
    again = enroll_people(example_root)
    assert len(again.signed) == 4 and check_mesh(example_root).ok


def test_two_spellings_of_one_signer_with_two_signatures_are_refused(example_root: Path) -> None:
    policy = load_policy(example_root)
    first = signatures_of(policy, policy.grants[0], COUNCIL)
    second = signatures_of(policy, policy.grants[1], COUNCIL).replace(COUNCIL, "Council@Acme.example")
    add_grant(example_root, approved_by=(COUNCIL,), signatures=first[:-1] + ", " + second[2:])
    with pytest.raises(PolicyErrors, match=f"two different signatures of '{COUNCIL}'"):
        load_policy(example_root)
