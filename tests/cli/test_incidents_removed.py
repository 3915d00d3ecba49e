"""Incidents of assets removed from the mesh close: the operations pass (`mesh ops check`)
resolves each, audited with the reason "asset removed from the mesh", where the mesh's assets are
known for sure; and a person with the right closes any incident by hand with `mesh ops close N
--reason TEXT`, the permission checked inside the operation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from governance.alerts.sink import MAX_REASON, CloseReasonError, close_reason
from governance.ops import Signal
from governance.ops.removed import REASON
from governance.services import governed
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh
from tests.governance.alerting import START

runner = CliRunner()
GONE = "marketing.lead_counts"  # deprecated, read by nobody: the asset the tests delete


def fire(root: Path, subject: str, kind: str = "run_failed") -> None:
    governed(load_policy_mesh(root)).alerts.fire(Signal(
        kind=kind, subject=subject, domain=subject.split(".")[0], severity="critical",  # type: ignore[arg-type]
        summary=f"{subject} failed: boom", at=START))


def delete_lead_counts(root: Path) -> None:
    path = root / "domains" / "marketing" / "assets.py"
    text = path.read_text()
    cut = re.sub(r"\n@asset\(contract=LeadCounts.*?\.sort\(\"channel\"\)\n", "\n", text, flags=re.S)
    assert cut != text and "def lead_counts" not in cut
    path.write_text(cut)


def open_subjects(root: Path) -> list[str]:
    listed = runner.invoke(app, ["ops", "incidents", "--json", "--root", str(root)])
    return sorted(i["subject"] for i in json.loads(listed.stdout)["incidents"])


def resolves(root: Path) -> list[tuple[str, str, str | None]]:
    return [(r.actor, r.target, r.details.get("reason")) for r in governed(load_policy_mesh(root)).audit.records()
            if r.action in ("incident_resolve", "incident_close")]


def test_the_ops_pass_resolves_incidents_of_a_deleted_asset_once_the_mesh_knows_it(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    for subject in (GONE, f"{GONE}/2026-11-01", "sales.orders"):
        fire(root, subject)
    fire(root, GONE, "freshness_breach")
    delete_lead_counts(root)
    where = ["--root", str(root)]
    # never compiled since: the pass cannot know the asset is gone, and closes nothing
    runner.invoke(app, ["ops", "check", *where])
    assert open_subjects(root) == [GONE, GONE, f"{GONE}/2026-11-01", "sales.orders"]
    assert runner.invoke(app, ["compile", *where]).exit_code == 0
    checked = runner.invoke(app, ["ops", "check", "--json", *where])
    assert f"resolved incident 1 run_failed {GONE}: {REASON}" in json.loads(checked.stdout)["changes"]
    assert open_subjects(root) == ["sales.orders"]
    assert sorted(resolves(root)) == sorted(("service:alerts", f"incident:{n}", REASON) for n in (1, 2, 4))
    everything = json.loads(runner.invoke(app, ["ops", "incidents", "--all", "--json", *where]).stdout)["incidents"]
    assert {i["summary"] for i in everything if i["state"] == "resolved"} == \
        {f"{GONE}: {REASON}", f"{GONE}/2026-11-01: {REASON}"}
    runner.invoke(app, ["ops", "check", *where])  # once: nothing more to resolve, nothing audited again
    assert len(resolves(root)) == 3


def test_a_domain_whose_code_fails_to_load_closes_nothing(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    fire(root, GONE)
    delete_lead_counts(root)
    (root / "domains" / "marketing" / "assets.py").write_text("this is not python (\n")
    where = ["--root", str(root)]
    runner.invoke(app, ["compile", *where])  # records the domain's error
    runner.invoke(app, ["ops", "check", *where])
    assert open_subjects(root) == [GONE]


def test_incidents_of_a_domain_removed_from_mesh_toml_are_resolved(tmp_path: Path) -> None:
    """A standby's lag is no asset's: disaster recovery still covers the removed asset's versions."""
    root = copy_example_mesh(tmp_path / "mesh")
    fire(root, "legacy.orders")
    fire(root, "replica:legacy", "replica_lag")
    runner.invoke(app, ["ops", "check", "--root", str(root)])
    assert open_subjects(root) == ["replica:legacy"]
    assert [reason for *_, reason in resolves(root)] == [REASON]


def test_mesh_ops_close_checks_the_permission_inside_and_audits_the_reason(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    fire(root, "sales.orders")
    where = ["--root", str(root)]
    refused = runner.invoke(app, ["ops", "close", "1", "--reason", "false alarm", "--as", "marketing-data@acme.example",
                                  *where])
    assert refused.exit_code == 1 and "operate_dr" in refused.output and "Traceback" not in refused.output
    assert open_subjects(root) == ["sales.orders"]
    done = runner.invoke(app, ["ops", "close", "1", "--reason", "the  check\nwas removed", "--as",
                               "sales-data@acme.example", *where])
    assert done.exit_code == 0 and "closed by sales-data@acme.example" in done.stdout, done.output
    assert open_subjects(root) == []
    again = runner.invoke(app, ["ops", "close", "1", "--reason", "x", "--as", "platform@acme.example", *where])
    assert again.exit_code == 1 and "resolved already" in again.output
    missing = runner.invoke(app, ["ops", "close", "7", "--reason", "x", "--as", "platform@acme.example", *where])
    assert missing.exit_code == 1 and "no incident 7" in missing.output
    audit = governed(load_policy_mesh(root)).audit
    closes = [(r.actor, r.outcome) for r in audit.records() if r.action == "incident_close"]
    assert closes == [("marketing-data@acme.example", "denied"), ("sales-data@acme.example", "resolved")]
    [record] = [r for r in audit.records() if r.action == "incident_close" and r.outcome == "resolved"]
    assert record.details["identity"] == "ed25519" and record.details["reason"] == "the check was removed"


@pytest.mark.parametrize("reason", ["", "   ", "\n", "x" * (MAX_REASON + 1), "\x1b[31mred", "a\udcffb"])
def test_a_hostile_reason_is_one_line_or_refused(tmp_path: Path, reason: str) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    fire(root, "sales.orders")
    done = runner.invoke(app, ["ops", "close", "1", "--reason", reason, "--as", "platform@acme.example",
                               "--root", str(root)], env={"COLUMNS": "1000"})
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert "\x1b[31m" not in done.output and len(done.output.strip().splitlines()) == 1, done.output
    if done.exit_code:
        assert "Fix:" in done.output and open_subjects(root) == ["sales.orders"]


@given(st.text())
def test_close_reason_is_one_printable_line_or_a_clear_refusal(text: str) -> None:
    try:
        reason = close_reason(text)
    except CloseReasonError as exc:
        assert exc.where == "--reason" and exc.fix
        return
    assert reason and len(reason) <= MAX_REASON and reason.isprintable() and reason == reason.strip()


def test_a_loaded_mesh_knows_its_assets_without_compiling(tmp_path: Path) -> None:
    """In-process (the simulated month, a loaded mesh) the pass reads the graph itself."""
    from governance.ops.checks import check_mesh
    from governance.wiring import load_mesh

    root = copy_example_mesh(tmp_path / "mesh")
    fire(root, GONE)
    fire(root, "sales.orders")
    delete_lead_counts(root)
    report = check_mesh(load_mesh(root), START)
    assert [i.subject for i in report.removed] == [GONE]
    assert open_subjects(root) == ["sales.orders"]
