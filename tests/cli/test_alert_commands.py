"""``mesh ops incidents | ack | alerts flush | check`` on the example mesh."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from governance.ops import Signal
from governance.services import governed
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh
from tests.governance.alerting import START, with_alerts


def fire(root: Path, subject: str = "sales.orders") -> None:
    governed(load_policy_mesh(root)).alerts.fire(Signal(
        kind="run_failed", subject=subject, domain=subject.split(".")[0], severity="critical",
        summary=f"{subject} failed: boom", at=START))


def test_incidents_ack_and_the_audit_record(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    fire(root)
    where = ["--root", str(root)]
    runner = CliRunner()
    listed = runner.invoke(app, ["ops", "incidents", "--json", *where])
    assert listed.exit_code == 0, listed.output
    [incident] = json.loads(listed.stdout)["incidents"]
    assert (incident["id"], incident["state"], incident["route"]) == (1, "open", "everything")
    assert "sales.orders failed" in runner.invoke(app, ["ops", "incidents", *where]).stdout
    refused = runner.invoke(app, ["ops", "ack", "1", "--as", "marketing-data@acme.example", *where])
    assert refused.exit_code == 1 and "operate_dr" in refused.output, refused.output
    done = runner.invoke(app, ["ops", "ack", "1", "--as", "sales-data@acme.example", *where])
    assert done.exit_code == 0 and "acknowledged by sales-data@acme.example" in done.stdout, done.output
    again = runner.invoke(app, ["ops", "ack", "1", "--as", "sales-data@acme.example", *where])
    assert again.exit_code == 1 and "incident 1 is acknowledged" in again.output
    missing = runner.invoke(app, ["ops", "ack", "7", "--as", "sales-data@acme.example", *where])
    assert missing.exit_code == 1 and "no incident 7" in missing.output
    audit = governed(load_policy_mesh(root)).audit
    acks = [(r.actor, r.outcome) for r in audit.records() if r.action == "incident_ack"]
    assert acks == [("marketing-data@acme.example", "denied"), ("sales-data@acme.example", "acknowledged")]


def test_flush_sends_what_waited_and_check_reports(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    with_alerts(root, {"notifiers": {"log": {"kind": "file", "path": "alerts/out.jsonl"}},
                       "routes": [{"name": "all", "notify": ["log"]}]})
    (root / "alerts").write_text("a file where the folder should be: the notifier is down")
    fire(root)
    where = ["--root", str(root)]
    runner = CliRunner()
    stuck = runner.invoke(app, ["ops", "alerts", "flush", *where])
    assert stuck.exit_code == 1 and "0 alert(s) sent, 1 waiting" in stuck.stdout, stuck.output
    # the alert was tried when it fired, so it waits out its back-off: the line still says why
    assert "1 waiting (not due yet: the oldest is tried again at " in stuck.stdout, stuck.output
    assert "last error: notifier log: cannot append to" in stuck.stdout and "alerts/out.jsonl" in stuck.stdout
    (root / "alerts").unlink()
    listed = json.loads(runner.invoke(app, ["ops", "incidents", "--json", *where]).stdout)
    assert [p["notifier"] for p in listed["pending"]] == ["log"]
    # back-off: the retry waits; a real flush later sends it (the outbox tests move the clock)
    checked = runner.invoke(app, ["ops", "check", "--json", *where])
    assert checked.exit_code == 0, checked.output
    kinds = {f["kind"]: f["state"] for f in json.loads(checked.stdout)["findings"]}
    assert kinds["audit_unverified"] == "ok"
    assert "ok    audit_unverified" in runner.invoke(app, ["ops", "check", *where]).stdout


def test_a_partition_alerted_with_another_shows_which(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    for day in ("2026-11-17", "2026-11-18"):
        governed(load_policy_mesh(root)).alerts.fire(Signal(
            kind="gate_failed", subject=f"sales.daily_orders/{day}", domain="sales", severity="critical",
            summary=f"sales.daily_orders/{day} stopped at its gate", at=START, details={"partition": day}))
    listed = CliRunner().invoke(app, ["ops", "incidents", "--root", str(root)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    rows = {line.split("│")[5].strip(): line.split("│")[6].strip()
            for line in listed.stdout.splitlines() if "sales.daily_orders/" in line}
    assert rows == {"sales.daily_orders/2026-11-17": "everything", "sales.daily_orders/2026-11-18": "with #1"}


def test_an_incident_row_edited_with_markup_is_printed_as_written(tmp_path: Path) -> None:
    """The state database is outside the CLI's trust: a severity, kind or summary holding ``[`` was taken
    for rich markup, and `mesh ops incidents` stopped with a MarkupError."""
    import sqlite3

    root = copy_example_mesh(tmp_path / "mesh")
    fire(root)
    with sqlite3.connect(root / ".mesh/state/mesh.sqlite") as db:
        db.execute("update incidents set severity = '[/bold', kind = '[red]x', summary = 'open[/]'")
    listed = CliRunner().invoke(app, ["ops", "incidents", "--root", str(root)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and listed.exception is None, listed.output
    assert "[/bold" in listed.stdout and "[red]x" in listed.stdout and "open[/]" in listed.stdout, listed.stdout
