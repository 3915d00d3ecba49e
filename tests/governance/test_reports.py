"""Compliance reports and usage metering on a copy of the example mesh with a scripted history."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from assets import Mesh, materialize
from assets.errors import ConfigError
from governance.access import AccessDeniedError, read_asset
from governance.access.workflow import GrantWorkflowError, approve_grant, request_grant
from governance.identity import LocalIdentity, identity_provider
from governance.policy import load_policy
from governance.reports import (
    Period,
    build_compliance_report,
    sign_report,
    usage_report,
)
from governance.reports.signing import MAX_ATTACHMENT, MAX_REPORT_BYTES, ReportError, load_signed
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.conftest import approve_example_trust, copy_example_mesh, person

runner = CliRunner()
COUNCIL = "council@acme.example"
NOW = dt.datetime.now(dt.UTC)
QUARTER = Period.containing(NOW)
MONTH = Period.containing(NOW, quarter=False)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small scripted history: two runs (the second stopped at a gate), a denied and an
    allowed read, a grant requested, self-approval refused, approved by others, a hand edit."""
    root = copy_example_mesh(tmp_path_factory.mktemp("reports"))
    mesh = load_mesh(root)
    assert materialize("*", mesh=mesh, params={"scale": 500, "seed": 3}).ok
    materialize("*", mesh=mesh, params={"scale": 500, "seed": 3, "inject_bad_rows": True})
    with pytest.raises(AccessDeniedError):
        read_asset(mesh, "customers.customers", actor=person("analyst@acme.example"))
    read_asset(mesh, "sales.orders", actor=person("analyst@acme.example")).collect()
    audit, policy = governed(mesh).audit, mesh.policy
    signer = LocalIdentity(people={e: p.public_key for e, p in policy.people.items()})
    who = identity_provider(policy).authenticate
    grant = request_grant(policy, audit, product="customers.customers", consumer="marketing", purpose="loyalty",
                          requester=who("marketing-data@acme.example"), expires=NOW.date() + dt.timedelta(days=90),
                          visibility="restricted")
    with pytest.raises(GrantWorkflowError, match="cannot approve their own request"):
        approve_grant(load_policy(root), audit, grant_id=grant, approver=who("marketing-data@acme.example"),
                      signer=signer)
    approve_grant(load_policy(root), audit, grant_id=grant, approver=who("customers-data@acme.example"), signer=signer)
    approve_grant(load_policy(root), audit, grant_id=grant, approver=who(COUNCIL), signer=signer)
    governed(load_mesh(root))  # the next command: it records the new mesh.toml
    _edit(root / "mesh.toml", "default_days = 2555", "default_days = 2000")  # by hand: no audited command
    return root


def _report(root: Path) -> dict:
    mesh = load_mesh(root)
    return build_compliance_report(mesh, QUARTER, person(COUNCIL)).to_dict()


def test_the_json_sections_hold_the_scripted_history(history: Path) -> None:
    report = _report(history)
    access = report["access"]
    assert {"who": "analyst@acme.example", "reads": "domain sales"}.items() <= \
        next(e for e in access["entries"] if e["who"] == "analyst@acme.example" and e["reads"] == "domain sales").items()
    loyalty = next(e for e in access["entries"] if e["reads"] == "customers.customers" and "loyalty" in e["via"])
    assert loyalty["approved_by"] == [COUNCIL, "customers-data@acme.example"] and loyalty["active"]
    assert [a["actor"] for a in access["approvals"]] == ["customers-data@acme.example", COUNCIL]
    assert [(d["actor"], d["target"]) for d in access["denied_reads"]] == [("analyst@acme.example", "customers.customers")]
    changes = report["changes"]
    assert changes["policy_changes"][-1]["tables_changed"] == ["retention"]
    assert changes["policy_changes"][-1]["made_by"] == [] and changes["unattributed"] == 1
    assert any("grants" in c["tables_changed"] and c["made_by"] for c in changes["policy_changes"])
    published = {c["key"] for c in changes["contract_versions"]}
    assert "sales.orders" in published and {(c["key"], c["contract_version"]) for c in changes["contract_versions"]} >= {
        ("sales.orders", "1.1.0"), ("finance.fx_rates", "1.0.0")}
    quality = {d["domain"]: d for d in report["quality"]["domains"]}
    assert quality["finance"]["gate_failures"] == 1 and len(quality["finance"]["quarantines"]) == 1
    assert quality["sales"]["gate_failures"] == 0 and quality["sales"]["published"] >= 2
    assert any(k["key"].startswith("kek:") and k["active"] for k in report["quality"]["keys"])
    integrity = report["integrity"]
    assert integrity["verified"] and integrity["tree_head"]["size"] > integrity["covered"][-1][0]


def test_a_self_approval_is_a_segregation_of_duties_finding(history: Path) -> None:
    findings = _report(history)["sod"]
    mine = [f for f in findings if f["kind"] == "self_approval"]
    assert [f["who"] for f in mine] == ["marketing-data@acme.example"]
    assert "tried to approve (refused)" in mine[0]["detail"] and len(mine[0]["records"]) == 2


def test_incompatible_permissions_declared_in_sod_are_findings(history: Path, tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    _edit(root / "mesh.toml", 'permissions = ["operate_dr", "rotate_keys"]',
          'permissions = ["operate_dr", "rotate_keys", "decrypt:restricted"]')
    approve_example_trust(root)  # a role change is in effect once the council approved it
    findings = [f for f in _report(root)["sod"] if f["kind"] == "incompatible_permissions"]
    assert [(f["who"], f["rule"]) for f in findings] == [("platform@acme.example", "keys_and_restricted_plaintext")]
    assert "roles platform" in findings[0]["detail"]


def test_the_councils_approvals_of_roles_are_in_the_access_review(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")  # the council approved its trust
    _edit(root / "mesh.toml", 'members = ["analyst@acme.example"]',
          'members = ["analyst@acme.example", "finance-data@acme.example"]')
    approve_example_trust(root)
    trust = _report(root)["access"]["trust_approvals"]
    assert [t["actor"] for t in trust] == [COUNCIL, COUNCIL]
    assert trust[0]["detail"] == "1 of 1 signature(s): first approval"
    assert trust[1]["detail"] == "1 of 1 signature(s): roles: ~analyst"


@pytest.mark.parametrize("fmt", ["json", "html", "pdf"])
def test_a_written_report_verifies_and_fails_once_a_covered_record_is_tampered(history: Path, tmp_path: Path,
                                                                               fmt: str) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    mesh = load_mesh(root)
    materialize("sales.products", mesh=mesh, params={"scale": 100, "seed": 1})
    out = tmp_path / f"report.{fmt}"
    done = runner.invoke(app, ["report", "compliance", "--period", QUARTER.label, "--format", fmt, "--out", str(out),
                               "--root", str(root), "--as", COUNCIL])
    assert done.exit_code == 0, done.output
    assert str(out) in done.output.replace("\n", "")
    ok = runner.invoke(app, ["report", "verify", str(out), "--root", str(root)])
    assert ok.exit_code == 0 and "report verified" in ok.output, ok.output
    log = root / ".mesh" / "audit" / "audit.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"action":"materialize"' in line)
    lines[index] = lines[index].replace(b'"outcome":"materialized"', b'"outcome":"skipped"')
    log.write_bytes(b"".join(lines))
    bad = runner.invoke(app, ["report", "verify", str(out), "--root", str(root)])
    assert bad.exit_code == 1 and f"record {index} was altered" in bad.output, bad.output


def test_a_truncated_log_fails_verification(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    mesh = load_mesh(root)
    materialize("sales.products", mesh=mesh, params={"scale": 100, "seed": 1})
    out = tmp_path / "report.json"
    out.write_text(sign_report(mesh, build_compliance_report(mesh, QUARTER, person(COUNCIL))).to_json())
    log = root / ".mesh" / "audit" / "audit.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-2]))
    (root / ".mesh" / "audit" / "head.json").unlink()
    bad = runner.invoke(app, ["report", "verify", str(out), "--root", str(root)])
    assert bad.exit_code == 1 and "truncated" in bad.output, bad.output
    envelope = json.loads(out.read_text())
    envelope["report"]["generated_by"] = "someone-else@acme.example"
    out.write_text(json.dumps(envelope))
    forged = runner.invoke(app, ["report", "verify", str(out), "--root", str(root)])
    assert forged.exit_code == 1 and "signature does not verify" in forged.output


def test_a_report_needs_read_audit(history: Path) -> None:
    done = runner.invoke(app, ["report", "compliance", "--root", str(history), "--as", "analyst@acme.example"])
    assert done.exit_code == 1 and "read_audit" in done.output


def test_usage_meters_the_history_and_prices_it_with_the_billing_rates(history: Path) -> None:
    mesh: Mesh = load_mesh(history)
    report = usage_report(mesh, MONTH, person(COUNCIL))
    charges = {c.domain: c for c in report.charges}
    sales = charges["sales"]
    assert sales.runs == 2 * len([k for k in mesh.graph if k.startswith("sales.")])
    assert sales.task_hours > 0 and sales.rows_published > 0
    assert sales.reads_by_others >= 1 + 2  # the analyst's read, finance and marketing reading sales.orders
    store = mesh.store()
    kept = sum(store.manifest(k, v).bytes for k in mesh.graph if k.startswith("sales.") for v in store.versions(k))
    today = next(d for d in report.days if d.domain == "sales" and d.day == NOW.date().isoformat())
    assert today.bytes_stored[mesh.active_region] == kept
    assert set(today.bytes_stored) == {"us-east", "us-west"} and sales.gb_replicated > 0  # the standby's copies
    rates = mesh.policy.billing
    days = len(MONTH.days())
    expected = (sales.gb_months_stored * rates.per_gb_month_stored + sales.task_hours * rates.per_task_hour
                + sales.gb_replicated * rates.per_gb_replicated + sales.reads_by_others / 1000 * rates.per_1000_reads)
    assert sales.total == pytest.approx(expected, abs=0.01)
    assert sales.gb_months_stored == pytest.approx(sum(sum(d.bytes_stored.values()) for d in report.days
                                                       if d.domain == "sales") / 1e9 / days, rel=1e-3)


def test_mesh_usage_prints_csv_and_json(history: Path) -> None:
    as_csv = runner.invoke(app, ["usage", "--month", MONTH.label, "--csv", "--root", str(history), "--as", COUNCIL])
    assert as_csv.exit_code == 0, as_csv.output
    header, *rows = as_csv.output.splitlines()
    assert header.startswith("domain,day,runs,task_seconds") and any(r.startswith("sales,") for r in rows)
    as_json = runner.invoke(app, ["usage", "--month", MONTH.label, "--json", "--root", str(history), "--as", COUNCIL])
    data = json.loads(as_json.output)
    assert data["rates"]["currency"] == "USD" and {c["domain"] for c in data["charges"]} >= {"sales", "finance"}
    quarter = runner.invoke(app, ["usage", "--month", "2026-Q4", "--root", str(history), "--as", COUNCIL])
    assert quarter.exit_code == 1 and "name a month" in quarter.output


@pytest.mark.parametrize(("toml", "where", "what"), [
    pytest.param('[[sod.rules]]\nname = "x"\nincompatible = ["read_all", "read_all"]\n', "[[sod.rules]][0].incompatible",
                 "needs two or more", id="one-permission"),
    pytest.param('[[sod.rules]]\nname = "x"\nincompatible = ["read_all", "fly"]\n', "[[sod.rules]][0].incompatible",
                 "unknown permission 'fly'", id="unknown-permission"),
    pytest.param('[[sod.rules]]\nname = "x"\nincompatible = ["read_all", "operate_dr"]\n[[sod.rules]]\nname = "x"\n'
                 'incompatible = ["read_all", "rotate_keys"]\n', "[[sod.rules]][1].name", "also the name", id="twice"),
    pytest.param('[billing]\nper_task_hour = -1\n', "[billing].per_task_hour", "zero or more", id="negative-rate"),
    pytest.param('[billing]\nper_task_hour = "cheap"\n', "[billing].per_task_hour", "must be a number", id="text-rate"),
    pytest.param('[billing]\ncurrency = "dollars"\n', "[billing].currency", "not a currency code", id="currency"),
    pytest.param('[billing]\nper_gb = 1\n', "[billing].per_gb", "unknown key", id="unknown-key"),
])
def test_sod_and_billing_are_validated_with_clear_errors(tmp_path: Path, toml: str, where: str, what: str) -> None:
    root = tmp_path / "mesh"
    root.mkdir()
    text = (Path(__file__).parents[2] / "mesh.toml").read_text()
    start = text.index("# Segregation of duties")
    (root / "mesh.toml").write_text(text[:start] + toml)
    with pytest.raises(ConfigError) as caught:
        load_policy(root)
    assert where in str(caught.value) and what in str(caught.value)


def test_who_changed_a_policy_and_approved_what_it_governs_is_a_finding(tmp_path: Path) -> None:
    from governance.access.workflow import revoke_grant

    root = copy_example_mesh(tmp_path / "mesh")
    mesh = load_mesh(root)
    audit = governed(mesh).audit
    signer = LocalIdentity(people={e: p.public_key for e, p in mesh.policy.people.items()})
    who = identity_provider(mesh.policy).authenticate
    until = NOW.date() + dt.timedelta(days=30)
    first = request_grant(mesh.policy, audit, product="customers.customers", consumer="marketing", purpose="a",
                          requester=who("marketing-data@acme.example"), expires=until, visibility="restricted")
    revoke_grant(load_policy(root), audit, grant_id=first, actor=who(COUNCIL))
    second = request_grant(load_policy(root), audit, product="customers.customers", consumer="marketing", purpose="b",
                           requester=who("marketing-data@acme.example"), expires=until, visibility="restricted")
    approve_grant(load_policy(root), audit, grant_id=second, approver=who(COUNCIL), signer=signer)
    findings = _report(root)["sod"]
    assert [(f["kind"], f["who"]) for f in findings] == [("changed_and_approved", COUNCIL)]
    assert "grant_revoke on customers.customers" in findings[0]["detail"]


def test_a_change_of_mesh_toml_is_recorded_once_and_a_revert_again(tmp_path: Path) -> None:
    from governance.audit.policy_changes import POLICY_CHANGED

    root = copy_example_mesh(tmp_path / "mesh")

    def recorded() -> list[str]:
        log = governed(load_mesh(root)).audit
        return [r.outcome for r in log.records() if r.action == POLICY_CHANGED]

    assert recorded() == ["first_recorded"]
    assert recorded() == ["first_recorded"]
    _edit(root / "mesh.toml", "default_days = 2555", "default_days = 2000")
    assert recorded() == ["first_recorded", "changed"]
    _edit(root / "mesh.toml", "default_days = 2000", "default_days = 2555")
    assert recorded() == ["first_recorded", "changed", "changed"]


def test_the_demo_writes_the_compliance_report_of_its_quarter(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from meshctl.cli.demo import write_compliance_report

    write_compliance_report(load_mesh(history))
    written = history / ".mesh" / "reports" / f"compliance-acme-{QUARTER.label}.html"
    assert str(written) in capsys.readouterr().out.replace("\n", "")
    check = runner.invoke(app, ["report", "verify", str(written), "--root", str(history), "--json"])
    assert check.exit_code == 0 and json.loads(check.output)["ok"]


def test_a_domain_owner_sees_the_usage_of_their_own_domains_only(history: Path) -> None:
    mesh = load_mesh(history)
    mine = usage_report(mesh, MONTH, person("sales-data@acme.example"))
    assert {c.domain for c in mine.charges} == {"sales"} and {d.domain for d in mine.days} == {"sales"}
    refused = runner.invoke(app, ["usage", "--root", str(history), "--as", "analyst@acme.example"])
    assert refused.exit_code == 1 and "read_audit" in refused.output


def test_an_html_report_whose_visible_page_was_edited_fails_verification(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = runner.invoke(app, ["report", "compliance", "--out", str(out), "--root", str(history), "--as", COUNCIL])
    assert done.exit_code == 0, done.output
    page = out.read_text()
    assert "No finding." not in page  # the self-approval is listed
    out.write_text(page.replace("<h2>2. Segregation of duties", "<h2>2. Segregation of duties (clean)", 1))
    bad = runner.invoke(app, ["report", "verify", str(out), "--root", str(history)])
    assert bad.exit_code == 1 and "the page differs from the signed report" in bad.output, bad.output


@pytest.mark.parametrize(("text", "start", "end"), [
    pytest.param("2026-Q4", "2026-10-01", "2027-01-01", id="quarter-4"),
    pytest.param("2027-Q1", "2027-01-01", "2027-04-01", id="quarter-1"),
    pytest.param("2026-11", "2026-11-01", "2026-12-01", id="month"),
    pytest.param("2028-02", "2028-02-01", "2028-03-01", id="leap-february"),
])
def test_a_period_is_a_quarter_or_a_month(text: str, start: str, end: str) -> None:
    period = Period.parse(text)
    assert (period.start.date().isoformat(), period.end.date().isoformat()) == (start, end)
    assert period.contains(period.start) and not period.contains(period.end)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "Q4", "2026/11", "", "0000-01", "9999-Q4", "9999-12"])
def test_a_period_that_is_neither_is_refused_with_the_fix(text: str) -> None:
    with pytest.raises(ConfigError, match="like 2026-Q4"):
        Period.parse(text)


@given(st.text(max_size=12))
def test_no_period_text_raises_anything_but_the_one_line_error(text: str) -> None:
    try:
        Period.parse(text, option="--month")
    except ConfigError as exc:
        assert "Fix: write a month like 2026-11" in str(exc)


def test_a_summary_record_of_unproven_refusals_counts_every_refusal(history: Path, tmp_path: Path) -> None:
    """The web app writes an unproven caller's repeated refusals as one record with their count:
    the report's reads denied count the refusals, not the records."""
    import shutil

    from assets.ports import AuditEvent
    from governance.reports import render_html

    root = tmp_path / "mesh"
    shutil.copytree(history, root, symlinks=True)
    audit = governed(load_mesh(root)).audit
    base = build_compliance_report(load_mesh(root), QUARTER, person(COUNCIL)).summary()["reads_denied"]
    for count in (1, 99):
        audit.append(AuditEvent(actor="unknown", action="read", target="sales.orders", outcome="denied", source="api",
                                details={"reason": "the request is not signed", "identity": "unproven",
                                         "client": "10.0.0.1", "count": count}))
    report = build_compliance_report(load_mesh(root), QUARTER, person(COUNCIL))
    assert report.summary()["reads_denied"] == base + 100
    assert [d["count"] for d in report.to_dict()["access"]["denied_reads"]][-2:] == [1, 99]
    page = render_html(sign_report(load_mesh(root), report))
    assert f"Reads denied in the period ({base + 100})" in page and "(99 refusals)" in page


def test_a_hand_edit_of_roles_the_council_approved_is_reported_as_approved_not_by_hand(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")  # approved by the council
    governed(load_mesh(root, domains=()))  # the approved file is recorded
    _edit(root / "mesh.toml", 'members = ["analyst@acme.example"]',
          'members = ["analyst@acme.example", "privacy@acme.example"]')  # roles, by hand
    governed(load_mesh(root, domains=()))  # recorded: a change no command made
    pending = _report(root)["changes"]
    assert pending["policy_changes"][-1]["made_by"] == [] and pending["unattributed"] == 1  # not approved (yet)
    approve_example_trust(root)
    changes = _report(root)["changes"]
    edit = changes["policy_changes"][-1]
    assert edit["tables_changed"] == ["roles"] and changes["unattributed"] == 0
    assert edit["made_by"] and f"{COUNCIL}: the council approved trust sha256:" in edit["made_by"][0]
    _edit(root / "mesh.toml", "default_days = 2555", "default_days = 2000")  # a hand edit of another table
    governed(load_mesh(root, domains=()))
    assert _report(root)["changes"]["unattributed"] == 1  # still by hand: the council approves trust only


def _pdf_with_attachment(data: bytes) -> bytes:
    """A PDF whose attached file is ``data``, Flate-compressed, as WeasyPrint embeds it."""
    return (b"%PDF-1.7\n1 0 obj\n<< /Type /EmbeddedFile /Filter /FlateDecode >>\nstream\n" + zlib.compress(data, 9)
            + b"\nendstream\nendobj\n%%EOF\n")


HOSTILE_REPORTS = {
    "report-not-an-object.json": b'{"format":"x","report":[],"signature":{"key_id":"a","value":"b"}}',
    "size-not-a-number.json": json.dumps({"format": "x", "report": {"integrity": {"tree_head": {"size": "lots"}}},
                                          "signature": {"key_id": "a", "value": "b"}}).encode(),
    "covered-not-pairs.json": json.dumps({"format": "x", "report": {"integrity": {"tree_head": {"size": 1},
                                                                                   "covered": [7]}},
                                          "signature": {"key_id": "a", "value": "b"}}).encode(),
    "deeply-nested.json": b"[" * 200_000,
    "not-utf8.html": b'<html><script type="application/json" id="mesh-signed-report">{"a": "\xff\xfe"}</script>',
    "not-utf8.pdf": _pdf_with_attachment(b'{"format": "acme-mesh/compliance-report/v1", "x": "\xff"}'),
    "zip-bomb.pdf": _pdf_with_attachment(b"acme-mesh/compliance-report/v1" + bytes(MAX_ATTACHMENT + 1)),
}


def test_a_hostile_report_file_is_one_line_naming_it(history: Path, tmp_path: Path) -> None:
    """Whatever a report file holds, `mesh report verify` exits 1 with one line naming the file and
    the fix: no traceback, and a PDF attachment inflating past the bound is refused, not inflated."""
    for name, content in HOSTILE_REPORTS.items():
        path = tmp_path / name
        path.write_bytes(content)
        done = runner.invoke(app, ["report", "verify", str(path), "--root", str(history)])
        assert done.exception is None or isinstance(done.exception, SystemExit), (name, done.exception)
        assert done.exit_code == 1, (name, done.output)
        assert str(path) in done.output.replace("\n", "") and "Fix:" in done.output, (name, done.output)


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no room on disk (a hole), starting like ``path``'s kind."""
    with path.open("wb") as fh:
        fh.write(b"%PDF-1.7\n" if path.suffix == ".pdf" else b'{"format": "acme-mesh/compliance-report/v1"')
        fh.truncate(size)
    return path


@pytest.mark.parametrize("name", ["huge.json", "huge.html", "huge.pdf"])
def test_a_report_file_above_the_bound_is_refused_unread_naming_it_and_the_fix(tmp_path: Path, name: str) -> None:
    path = _sparse(tmp_path / name, MAX_REPORT_BYTES + 1)
    with pytest.raises(ReportError) as refused:
        load_signed(path)
    assert f"more than {MAX_REPORT_BYTES // 2**20} MB" in refused.value.what
    assert refused.value.where == str(path) and "mesh report compliance" in (refused.value.fix or "")


def test_a_report_file_at_the_bound_is_read(tmp_path: Path) -> None:
    """Only size refuses: a file of exactly the bound is read, and judged on what it holds."""
    path = _sparse(tmp_path / "at-bound.json", MAX_REPORT_BYTES)
    with pytest.raises(ReportError, match="holds no signed report"):
        load_signed(path)


def test_mesh_report_verify_refuses_a_huge_file_in_one_line(history: Path, tmp_path: Path) -> None:
    path = _sparse(tmp_path / "huge.pdf", MAX_REPORT_BYTES + 1)
    done = runner.invoke(app, ["report", "verify", str(path), "--root", str(history)], env={"COLUMNS": "400"})
    assert done.exit_code == 1 and (done.exception is None or isinstance(done.exception, SystemExit)), done.output
    assert "more than 64 MB" in done.output and str(path) in done.output and "Fix:" in done.output, done.output
    assert "Traceback" not in done.output
