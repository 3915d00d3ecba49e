"""The compliance report's evidence of operations: only what happened counts; refused and
failed attempts are reported apart, and no record the log holds breaks the HTML page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from assets.ports import AuditEvent
from governance.reports import Period, build_compliance_report, render_html, sign_report
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.conftest import person

runner = CliRunner()
COUNCIL = "council@acme.example"
MONTH = Period.containing(dt.datetime.now(dt.UTC), quarter=False)


def _report(root: Path, fmt: str, out: Path) -> str:
    done = runner.invoke(app, ["report", "compliance", "--period", MONTH.label, "--format", fmt, "--out", str(out),
                               "--root", str(root), "--as", COUNCIL])
    assert done.exit_code == 0 and "Traceback" not in done.output, done.output
    return out.read_text()


def test_a_refused_backup_is_an_attempt_not_evidence_of_a_backup(example_root: Path, tmp_path: Path) -> None:
    refused = runner.invoke(app, ["dr", "backup", "--root", str(example_root), "--as", "analyst@acme.example"])
    assert refused.exit_code == 1 and "operate_dr" in refused.output
    dr = json.loads(_report(example_root, "json", tmp_path / "r.json"))["report"]["quality"]["dr"]
    assert dr["backups"] == []
    assert [(a["action"], a["outcome"]) for a in dr["attempts"]] == [("dr_backup", "denied")]
    assert "lacks" in dr["attempts"][0]["reason"] or "not a holder" in dr["attempts"][0]["reason"]
    page = _report(example_root, "html", tmp_path / "r.html")
    assert "Backups written in the period: 0" in page and "attempts that did not happen (refused, failed):\n1" in page


def test_odd_and_hostile_records_render_without_a_traceback(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    audit = governed(mesh).audit
    odd: list[tuple[str, str, str, dict[str, object]]] = [
        ("dr_backup", "written", "b", {}),
        ("dr_backup", "written", "c", {"files": {"a": [1]}, "audit_records": "<script>x</script>"}),
        ("dr_drill", "ok", "region:x", {"rto_seconds": [1, 2], "rpo_versions": None}),
        ("failover", "switched", "region:y", {}),
        ("failback", "refused", "region:z", {"error": 3}),
        ("dr_restore", "restored", "r", {"restored": "many"}),
        ("key_rotate", "denied", "kek:nope", {}),
        ("policy_changed", "recorded", "mesh.toml", {"sections": ["not", "a", "mapping"], "digest": 5}),
        ("read", "denied", "sales.orders", {"count": "many"}),
        ("materialize", "gate_failed", "sales.orders", {"failed_checks": 5, "quarantine": {"a": 1}}),
    ]
    for action, outcome, target, details in odd:
        audit.append(AuditEvent(actor="someone", action=action, target=target, outcome=outcome, source="test",
                                details=details))
    report = build_compliance_report(load_mesh(example_root), MONTH, person(COUNCIL))
    dr = report.to_dict()["quality"]["dr"]
    assert [b["target"] for b in dr["backups"]] == ["b", "c"] and dr["backups"][0]["files"] is None
    assert [(a["action"], a["outcome"]) for a in dr["attempts"]] == [("failback", "refused")]
    assert "kek:nope" not in {k["key"] for k in report.to_dict()["quality"]["keys"]}
    page = render_html(sign_report(load_mesh(example_root), report))
    assert "&lt;script&gt;x" in page and "<script>x</script>" not in page


def test_the_demos_report_is_written_and_verifies_after_a_refused_backup(example_root: Path) -> None:
    from meshctl.cli.demo import write_compliance_report

    refused = runner.invoke(app, ["dr", "backup", "--root", str(example_root), "--as", "analyst@acme.example"])
    assert refused.exit_code == 1
    write_compliance_report(load_mesh(example_root))
    quarter = Period.containing(dt.datetime.now(dt.UTC))
    written = example_root / ".mesh" / "reports" / f"compliance-acme-{quarter.label}.html"
    check = runner.invoke(app, ["report", "verify", str(written), "--root", str(example_root), "--json"])
    assert check.exit_code == 0 and json.loads(check.output)["ok"], check.output
