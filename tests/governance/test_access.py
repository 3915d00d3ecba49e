"""Access between domains and for people: checked when the graph is built and when data is read;
the grant approval workflow; every decision audited."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assets import Mesh, Status, materialize
from assets.errors import ConfigError
from governance.access import AccessDeniedError, active_grant, read_asset, user_may_read
from governance.access.workflow import GrantWorkflowError, approve_grant, request_grant
from governance.check import check_mesh
from governance.identity import Actor, LocalIdentity, identity_provider
from governance.policy import MeshPolicy, load_policy
from governance.policy.editing import edit_mesh_toml
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.conftest import person

MESH = Path(sys.executable).with_name("mesh")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_a_private_input_from_another_domain_is_refused_at_graph_build(example_root: Path) -> None:
    edit(example_root / "domains/sales/assets.py", 'freshness="2h", tags={"tier": "gold"})',
         'freshness="2h", tags={"tier": "gold"}, visibility="private")')
    edit(example_root / "domains/sales/assets.py", 'schedule="@hourly", visibility="public",', 'schedule="@hourly",')
    with pytest.raises(AccessDeniedError) as caught:
        load_mesh(example_root)
    text = str(caught.value)
    assert "'finance.revenue'" in text and "may not read 'sales.orders'" in text
    assert "'sales.orders' is private to domain 'sales'" in text
    assert "'marketing.campaign_performance'" in text


def test_an_expired_grant_is_refused_at_build_and_reported_by_check(example_root: Path) -> None:
    edit(example_root / "mesh.toml", "expires = 2027-06-30", "expires = 2020-01-31")
    with pytest.raises(AccessDeniedError, match=r"grant \[\[grants\]\]\[0\] for 'sales' expired on 2020-01-31"):
        load_mesh(example_root)
    report = check_mesh(example_root)
    assert any("expired on 2020-01-31" in p and "renew" in p for p in report.problems)


def test_a_grant_for_an_unknown_product_is_reported_by_check_with_a_suggestion(example_root: Path) -> None:
    edit(example_root / "mesh.toml", 'product = "sales.customer_orders"', 'product = "sales.customer_ordrs"')
    report = check_mesh(example_root)
    assert not report.ok
    [problem] = [p for p in report.problems if "sales.customer_ordrs" in p and ".product:" in p]
    assert "[[grants]][1].product: no asset 'sales.customer_ordrs'" in problem
    assert "Did you mean 'sales.customer_orders'" in problem


def test_a_grant_for_a_product_of_a_domain_that_failed_to_import_is_not_judged(example_root: Path) -> None:
    edit(example_root / "domains/sales/assets.py", "import polars as pl", "import polars as pl\nraise RuntimeError('broken')")
    report = check_mesh(example_root)
    assert not any("[[grants]][1].product" in p for p in report.problems)
    assert any("domain 'sales' failed to import" in p for p in report.problems)


def test_a_grant_that_expires_after_the_build_is_refused_at_read_time(example_mesh: Mesh) -> None:
    assert materialize("customers.customers sales.orders", mesh=example_mesh, params={"scale": 200}).ok
    expired = [dataclasses.replace(g, expires=dt.date(2020, 1, 1)) for g in example_mesh.policy.grants]
    later = dataclasses.replace(example_mesh, policy=dataclasses.replace(example_mesh.policy, grants=tuple(expired)))
    result = materialize("sales.customer_orders", mesh=later)
    assert result["sales.customer_orders"].status is Status.ERROR
    assert "may not read 'customers.customers'" in (result["sales.customer_orders"].error or "")


@pytest.mark.parametrize(("user", "key", "allowed", "reason"), [
    pytest.param("sales-data@acme.example", "sales.orders", True, "same domain", id="owner"),
    pytest.param("analyst@acme.example", "sales.customer_orders", True, "read:sales", id="role-read-domain"),
    pytest.param("marketing-data@acme.example", "sales.customer_orders", True, "grant", id="granted-domain"),
    pytest.param("marketing-data@acme.example", "customers.customers", False, "no grant", id="restricted-no-grant"),
    pytest.param("finance-data@acme.example", "marketing.audience", False, "private", id="private"),
    pytest.param("finance-data@acme.example", "sales.orders", True, "is public", id="public"),
    pytest.param("mallory@evil.example", "sales.orders", False, "deny by default", id="unknown-person"),
])
def test_people_read_by_roles_and_grants(example_mesh: Mesh, user: str, key: str, allowed: bool, reason: str) -> None:
    decision = user_may_read(example_mesh.policy, user, example_mesh.graph[key].spec, dt.date.today())
    assert decision.allowed is allowed
    assert reason in decision.reason


def test_a_denied_read_raises_and_both_outcomes_are_audited(example_mesh: Mesh) -> None:
    materialize("customers.customers", mesh=example_mesh, params={"scale": 100})
    assert read_asset(example_mesh, "customers.customers", actor=person("customers-data@acme.example")).collect().height
    with pytest.raises(AccessDeniedError, match="may not read 'customers.customers'"):
        read_asset(example_mesh, "customers.customers", actor=person("marketing-data@acme.example"))
    reads = governed(example_mesh).audit.query(action="read")
    assert [(r.actor, r.outcome) for r in reads] == [("customers-data@acme.example", "allowed"),
                                                     ("marketing-data@acme.example", "denied")]


def as_person(policy: MeshPolicy, email: str) -> Actor:
    """``email`` authenticated with their held key (the session's MESH_IDENTITY folder)."""
    return identity_provider(policy).authenticate(email)


def test_the_approval_workflow(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    audit = governed(mesh).audit
    until = dt.date.today() + dt.timedelta(days=30)
    with pytest.raises(GrantWorkflowError, match="not an owner of 'marketing'"):
        request_grant(mesh.policy, audit, product="customers.customers", consumer="marketing", purpose="x",
                      requester=as_person(mesh.policy, "sales-data@acme.example"), expires=until,
                      visibility="restricted")
    grant_id = request_grant(mesh.policy, audit, product="customers.customers", consumer="marketing",
                             purpose="loyalty mailing",
                             requester=as_person(mesh.policy, "Marketing-Data@acme.example"), expires=until,
                             visibility="restricted")
    policy = load_policy(example_root)
    assert active_grant(policy, "customers.customers", "marketing", dt.date.today()) is None
    assert "# Governance policies" in (example_root / "mesh.toml").read_text(), "comments must be kept"
    signer = LocalIdentity(people={e: p.public_key for e, p in policy.people.items()})
    with pytest.raises(GrantWorkflowError, match="cannot approve their own request") as refused:
        approve_grant(policy, audit, grant_id=grant_id, approver=as_person(policy, "marketing-data@acme.example"),
                      signer=signer)
    assert refused.value.fix == (
        f"grant {grant_id} needs an owner of 'customers' (customers-data@acme.example) and a holder of "
        "approve_grant (council@acme.example), neither of them the requester, to run "
        f"`mesh access approve {grant_id} --as EMAIL`"), "the refusal names who can approve"
    missing = approve_grant(policy, audit, grant_id=grant_id, approver=as_person(policy, "customers-data@acme.example"),
                            signer=signer)
    assert missing and "approve_grant" in missing[0]
    assert approve_grant(load_policy(example_root), audit, grant_id=grant_id,
                         approver=as_person(policy, "council@acme.example"), signer=signer) == []
    granted = active_grant(load_policy(example_root), "customers.customers", "marketing", dt.date.today())
    assert granted is not None and set(granted.signatures) == {"customers-data@acme.example", "council@acme.example"}
    trail = [(r.action, r.actor, r.outcome) for r in audit.query(target="customers.customers")]
    assert trail == [("grant_request", "sales-data@acme.example", "denied"),
                     ("grant_request", "marketing-data@acme.example", "pending"),
                     ("grant_approve", "marketing-data@acme.example", "denied"),
                     ("grant_approve", "customers-data@acme.example", "pending"),
                     ("grant_approve", "council@acme.example", "active")]
    assert {(r.details["method"], r.details["evidence"][:11]) for r in audit.query(target="customers.customers")} \
        == {("ed25519", "key SHA256:")}
    assert audit.verify().ok


def test_a_self_approval_written_into_mesh_toml_is_refused(example_root: Path) -> None:
    edit(example_root / "mesh.toml", 'purpose = "order attribution to customers"',
         'purpose = "order attribution to customers"\nrequested_by = "council@acme.example"')
    with pytest.raises(Exception, match="approved their own request"):
        load_policy(example_root)


def test_mesh_access_cli(example_root: Path) -> None:
    runner = CliRunner()
    root = ["--root", str(example_root)]
    public = runner.invoke(app, ["access", "request", "finance.revenue", "--consumer", "marketing", "--purpose",
                                 "budget", "--as", "marketing-data@acme.example", *root])
    assert public.exit_code == 1 and "is public" in public.stderr
    done = runner.invoke(app, ["access", "request", "customers.customers", "--consumer", "finance", "--purpose",
                               "budget", "--as", "finance-data@acme.example", *root])
    assert done.exit_code == 0 and "requested" in done.stdout
    listed = runner.invoke(app, ["access", "list", "--json", *root])
    grants = json.loads(listed.stdout)
    assert [g["status"] for g in grants] == ["active", "active", "pending"]
    assert f"grant {grants[2]['id']} requested" in done.stdout
    refused = runner.invoke(app, ["access", "approve", grants[2]["id"], "--as", "finance-data@acme.example", *root])
    assert refused.exit_code == 1 and "own request" in refused.stderr


@pytest.mark.parametrize("purpose", ["p\x00", "two\nlines", "\x1b[2Jcleared", " ", "x" * 501, "\udcff", "a\ud800b"])
def test_a_purpose_that_is_not_one_line_of_text_is_refused_before_mesh_toml_changes(example_root: Path,
                                                                                    purpose: str) -> None:
    """A NUL or a terminal escape was stored in mesh.toml and shown to every approver."""
    before = (example_root / "mesh.toml").read_text()
    result = CliRunner().invoke(app, ["access", "request", "customers.customers", "--consumer", "finance", "--purpose",
                                      purpose, "--as", "finance-data@acme.example", "--root", str(example_root)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "--purpose" in result.stderr and ("printable" in result.stderr or "no purpose" in result.stderr)
    assert (example_root / "mesh.toml").read_text() == before


def test_a_purpose_byte_that_is_not_utf8_from_the_shell_is_refused_in_one_line(example_root: Path) -> None:
    """`--purpose $'\\xff'`: Python hands the byte over as a lone surrogate, which cannot be hashed
    into a grant id; it is refused as text that is not UTF-8, before mesh.toml changes."""
    before = (example_root / "mesh.toml").read_text()
    done = subprocess.run([MESH, b"access", b"request", b"customers.customers", b"--consumer", b"finance",
                           b"--purpose", b"\xff", b"--as", b"finance-data@acme.example", b"--root",
                           bytes(example_root)], capture_output=True, timeout=300, check=False)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 1 and "Traceback" not in stderr, stderr
    assert "--purpose" in stderr and "UTF-8" in stderr and "Fix:" in stderr, stderr
    assert (example_root / "mesh.toml").read_text() == before


def test_a_hand_written_purpose_with_a_control_character_is_named(example_root: Path) -> None:
    edit(example_root / "mesh.toml", 'purpose = "order attribution to customers"',
         'purpose = "order attribution\\u0007 to customers"')
    with pytest.raises(ConfigError, match="printable") as refused:
        load_policy(example_root)
    assert "[[grants]][0].purpose" in str(refused.value)


def test_an_approval_reaches_the_reviewed_grant_after_others_are_removed(example_root: Path) -> None:
    """Grants are addressed by id: removing an earlier grant (a retired domain's) renumbers the
    file, and the approval still reaches the grant that was reviewed, not its new neighbour."""
    runner = CliRunner()
    root = ["--root", str(example_root)]
    for consumer, who in (("marketing", "marketing-data@acme.example"), ("finance", "finance-data@acme.example")):
        assert runner.invoke(app, ["access", "request", "customers.customers", "--consumer", consumer, "--purpose",
                                   f"{consumer} review", "--as", who, *root]).exit_code == 0
    reviewed = json.loads(runner.invoke(app, ["access", "list", "--json", *root]).stdout)
    marketing = next(g["id"] for g in reviewed if g["purpose"] == "marketing review")
    kept = {g["id"] for g in reviewed[1:]}
    text = (example_root / "mesh.toml").read_text()
    first = text.index("[[grants]]")
    (example_root / "mesh.toml").write_text(text[:first] + text[text.index("[[grants]]", first + 1):])
    assert {g["id"] for g in json.loads(runner.invoke(app, ["access", "list", "--json", *root]).stdout)} == kept
    done = runner.invoke(app, ["access", "approve", marketing, "--as", "customers-data@acme.example", *root])
    assert done.exit_code == 0, done.stderr
    approved = {g.consumer: g.approved_by for g in load_policy(example_root).grants if g.purpose.endswith("review")}
    assert approved == {"marketing": ("customers-data@acme.example",), "finance": ()}


def test_an_unknown_grant_id_is_a_one_line_error(example_root: Path) -> None:
    done = CliRunner().invoke(app, ["access", "approve", "1", "--as", "council@acme.example", "--root",
                                    str(example_root)])
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert "there is no grant '1'" in done.stderr and "mesh access list" in done.stderr


def test_a_grant_without_an_id_gets_one_from_its_content(example_root: Path) -> None:
    before = [g.id for g in load_policy(example_root).grants]
    assert all(i.startswith("g-") for i in before) and len(set(before)) == 2
    edit(example_root / "mesh.toml", f'id = "{before[0]}"\n', "")  # the example writes the ids derived
    assert [g.id for g in load_policy(example_root).grants] == before
    edit(example_root / "mesh.toml", f'id = "{before[1]}"', 'id = "attribution"')
    assert [g.id for g in load_policy(example_root).grants] == [before[0], "attribution"]


def test_two_grants_with_one_id_are_refused(example_root: Path) -> None:
    edit(example_root / "mesh.toml", 'id = "g-f7420363"', 'id = "same"')
    edit(example_root / "mesh.toml", 'id = "g-eb22fd87"', 'id = "same"')
    problems = check_mesh(example_root).problems
    assert any("[[grants]][1].id" in p and "also the id of [[grants]][0]" in p for p in problems), problems



@pytest.mark.parametrize(("product", "refusal", "fix"), [
    ("marketing.audience", "is private to its domain: no grant opens it", 'visibility="restricted"'),
    ("sales.products", "is public: every domain reads it without a grant", "no request is needed"),
])
def test_a_grant_is_requested_only_for_a_restricted_product(example_root: Path, product: str, refusal: str,
                                                           fix: str) -> None:
    mesh = load_mesh(example_root)
    with pytest.raises(GrantWorkflowError, match=refusal) as refused:
        request_grant(mesh.policy, governed(mesh).audit, product=product, consumer="finance", purpose="x",
                      requester=as_person(mesh.policy, "finance-data@acme.example"),
                      expires=dt.date.today() + dt.timedelta(days=30), visibility=mesh.graph[product].spec.visibility)
    assert fix in refused.value.fix



def test_mesh_check_warns_of_a_grant_on_a_product_that_is_not_restricted(example_root: Path) -> None:
    with edit_mesh_toml(example_root / "mesh.toml") as doc:
        doc["grants"].append({"id": "g-0000aaaa", "product": "marketing.audience", "consumer": "finance",
                              "purpose": "x", "approved_by": [], "expires": dt.date.today() + dt.timedelta(days=9)})
    report = check_mesh(example_root)
    assert any("'marketing.audience' is private, so the grant opens nothing" in w for w in report.warnings), \
        report.warnings


def test_a_refused_reader_is_told_the_way_in_that_exists_for_them(example_mesh: Mesh) -> None:
    """Grants open assets to domains: a person who owns no domain was told to request one,
    which `mesh access request` refuses for a public asset and cannot give to a person."""
    with pytest.raises(AccessDeniedError) as nobody:
        read_asset(example_mesh, "customers.customers", actor=person("analyst@acme.example"))
    assert "a role with read:customers" in str(nobody.value) and "you own none" in str(nobody.value)
    with pytest.raises(AccessDeniedError) as owner:
        read_asset(example_mesh, "customers.customers", actor=person("marketing-data@acme.example"))
    assert "mesh access request customers.customers --consumer marketing" in str(owner.value), owner.value
