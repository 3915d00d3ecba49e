"""Alerts against real local servers: one incident one alert, resolves, a notifier outage that the
outbox rides out, escalation on a moved clock, acknowledgement, and the audit records of each."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from assets import Mesh
from governance.alerts import AlertMessage, AlertSink
from governance.alerts.notifiers import slack_payload
from governance.ops import Recovery, Signal
from governance.services import governed
from governance.state.outbox import OUTBOX_BACKOFF
from governance.identity.authorization import PermissionDeniedError
from tests.conftest import copy_example_mesh, person
from tests.governance.alerting import (
    Clock,
    clocked,
    smtp_server,
    starttls_smtp_server,
    webhook_server,
    with_alerts,
)

HOOK_ENV = "MESH_TEST_ALERT_WEBHOOK"
SMTP_ENV = "MESH_TEST_SMTP_PASSWORD"


def failed(clock: Clock, subject: str = "sales.orders", summary: str = "sales.orders failed: boom") -> Signal:
    return Signal(kind="run_failed", subject=subject, domain=subject.split(".")[0], severity="critical",
                  summary=summary, at=clock())


def recovered(clock: Clock, subject: str = "sales.orders") -> Recovery:
    return Recovery(kind="run_failed", subject=subject, at=clock(), summary=f"{subject} published v2")


def audited(mesh: Mesh, action: str) -> list[dict[str, Any]]:
    return [r.body() for r in governed(mesh).audit.records() if r.action == action]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_example_mesh(tmp_path / "mesh")


def webhook_mesh(root: Path, clock: Clock, **route: Any) -> tuple[Mesh, AlertSink]:
    with_alerts(root, {"notifiers": {"chat": {"kind": "webhook", "url_env": HOOK_ENV},
                                     "log": {"kind": "file", "path": ".mesh/alerts/alerts.jsonl"}},
                       "routes": [{"name": "team", "notify": ["chat", "log"], **route}]})
    mesh = clocked(root, clock)
    return mesh, governed(mesh).alerts


def test_one_incident_one_alert_and_a_resolve(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        mesh, sink = webhook_mesh(root, clock)
        for minute in range(3):  # the same asset fails three times
            clock.advance(minutes=minute)
            sink.fire(failed(clock, summary=f"sales.orders failed: attempt {minute}"))
        assert len(hook.received) == 1, "repeated failures update the open incident, not a new alert"
        body = hook.received[0]["body"]
        assert body["text"].startswith("[acme] CRITICAL run_failed sales.orders (incident 1)")
        assert {b["type"] for b in body["blocks"]} >= {"header", "section"}
        [incident] = sink.incidents()
        assert (incident.fired, incident.summary) == (3, "sales.orders failed: attempt 2")
        sink.recover(recovered(clock))
        assert [r["body"]["text"].split(" ")[1] for r in hook.received] == ["CRITICAL", "RESOLVED"]
        assert sink.incidents() == [], "no incident is open after the recovery"
    lines = (root / ".mesh" / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["alert", "resolve"]
    sent = audited(mesh, "alert_sent")
    assert sorted((r["details"]["notifier"], r["details"]["event"]) for r in sent) == \
        [("chat", "alert"), ("chat", "resolve"), ("log", "alert"), ("log", "resolve")]
    assert [r["outcome"] for r in audited(mesh, "incident_resolve")] == ["resolved"]
    assert [r["outcome"] for r in audited(mesh, "incident_open")] == ["opened"]


def test_a_notifier_that_is_down_waits_in_the_outbox_and_is_sent_again(root: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        mesh, sink = webhook_mesh(root, clock)
        hook.stop()  # the chat service is down
        sink.fire(failed(clock))  # never raises
        assert hook.received == []
        pending = sink.flush()
        assert pending.pending == 1 and pending.sent == 0, "the file notifier went on; the webhook's alert waits"
        [waiting] = sink.pending()
        assert (waiting["notifier"], waiting["event"], waiting["attempts"]) == ("chat", "alert", 1)
        assert "ConnectError" in waiting["last_error"] and "s3cr3t-token" not in waiting["last_error"]
        hook.start()
        clock.advance(seconds=10)
        assert sink.flush().sent == 0, "inside its back-off the alert is not tried again"
        clock.advance(minutes=5)
        done = sink.flush()
        assert (done.sent, done.pending) == (1, 0)
        assert len(hook.received) == 1 and "CRITICAL" in hook.received[0]["body"]["text"]
    assert "s3cr3t-token" not in json.dumps([r.body() for r in governed(mesh).audit.records()])


def test_a_webhook_that_answers_an_error_keeps_the_alert(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        _, sink = webhook_mesh(root, clock)
        hook.answer(403)
        sink.fire(failed(clock))
        [waiting] = sink.pending()
        assert "answered HTTP 403: invalid_token" in waiting["last_error"] and "s3cr3t" not in waiting["last_error"]
        hook.answer(200)
        clock.advance(minutes=1)
        assert sink.flush().sent == 1 and len(hook.received) == 1


def test_concurrent_failures_of_one_asset_open_one_incident(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        _, sink = webhook_mesh(root, clock)
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda _: sink.fire(failed(clock)), range(12)))
        [incident] = sink.incidents()
        assert incident.fired == 12 and len(hook.received) == 1


def test_e_mail_over_smtp_with_a_login_from_the_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with smtp_server(password="smtp-pass") as (port, mailbox):
        monkeypatch.setenv(SMTP_ENV, "smtp-pass")
        with_alerts(root, {"notifiers": {"mail": {
            "kind": "email", "host": "127.0.0.1", "port": port, "username": "mesh", "password_env": SMTP_ENV,
            "sender": "mesh@acme.example", "to": ["oncall@acme.example"]}},
            "routes": [{"name": "oncall", "notify": ["mail"]}]})
        mesh = clocked(root, clock)
        sink = governed(mesh).alerts
        sink.fire(failed(clock))
        sink.recover(recovered(clock))
        assert [m["Subject"] for m in mailbox] == ["[acme] CRITICAL run_failed sales.orders (incident 1)",
                                                   "[acme] RESOLVED run_failed sales.orders (incident 1)"]
        assert "mesh ops ack 1" in mailbox[0].get_payload()
        assert mailbox[0]["To"] == "oncall@acme.example"


def test_e_mail_over_starttls(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with starttls_smtp_server(tmp_path) as (port, certificate, mailbox):
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # trust the test server's own certificate
        mail = {"kind": "email", "host": "127.0.0.1", "port": port, "sender": "mesh@acme.example",
                "to": ["oncall@acme.example"]}
        with_alerts(root, {"notifiers": {"mail": mail | {"starttls": True}},
                           "routes": [{"name": "oncall", "notify": ["mail"]}]})
        sink = governed(clocked(root, clock)).alerts
        sink.fire(failed(clock))
        assert [m["Subject"] for m in mailbox] == ["[acme] CRITICAL run_failed sales.orders (incident 1)"]


def test_a_secret_missing_from_the_environment_keeps_the_mail_and_names_the_variable(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.delenv(SMTP_ENV, raising=False)
    with smtp_server() as (port, mailbox):
        with_alerts(root, {"notifiers": {"mail": {
            "kind": "email", "host": "127.0.0.1", "port": port, "username": "mesh", "password_env": SMTP_ENV,
            "sender": "mesh@acme.example", "to": ["oncall@acme.example"]}},
            "routes": [{"name": "oncall", "notify": ["mail"]}]})
        sink = governed(clocked(root, clock)).alerts
        sink.fire(failed(clock))
        [waiting] = sink.pending()
        assert mailbox == [] and waiting["notifier"] == "mail"
        assert f"the environment variable {SMTP_ENV}" in waiting["last_error"]
        monkeypatch.setenv(SMTP_ENV, "smtp-pass")
        clock.advance(hours=1)
        assert sink.flush().sent == 1 and len(mailbox) == 1


def escalating(root: Path, clock: Clock, hook_url: str) -> tuple[Mesh, AlertSink]:
    with_alerts(root, {"notifiers": {"team_log": {"kind": "file", "path": ".mesh/alerts/team.jsonl"},
                                     "pager": {"kind": "webhook", "url_env": HOOK_ENV}},
                       "routes": [{"name": "team", "domains": ["sales"], "notify": ["team_log"], "ack_minutes": 30,
                                   "escalate_to": "oncall"},
                                  {"name": "oncall", "notify": ["pager"], "min_severity": "critical"}]})
    mesh = clocked(root, clock)
    return mesh, governed(mesh).alerts


def test_an_incident_nobody_acknowledges_escalates_to_the_next_route(root: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        mesh, sink = escalating(root, clock, hook.url)
        sink.fire(failed(clock))
        assert hook.received == [], "the first route is the team's file"
        clock.advance(minutes=29)
        sink.flush()
        assert hook.received == [], "inside the ack window nothing escalates"
        clock.advance(minutes=2)
        sink.flush()
        assert [r["body"]["text"].split(" ")[1:3] for r in hook.received] == [["ESCALATED", "CRITICAL"]]
        [incident] = sink.incidents()
        assert (incident.route, incident.routes, incident.level) == ("oncall", ("team", "oncall"), 1)
        sink.flush()
        assert len(hook.received) == 1, "an escalation is sent once"
        sink.recover(recovered(clock))
        assert "RESOLVED" in hook.received[-1]["body"]["text"], "every route alerted hears the resolve"
    team = [json.loads(line)["event"] for line in (root / ".mesh/alerts/team.jsonl").read_text().splitlines()]
    assert team == ["alert", "resolve"]
    [record] = audited(mesh, "incident_escalate")
    assert {k: record["details"][k] for k in ("source_route", "route", "after_minutes")} == \
        {"source_route": "team", "route": "oncall", "after_minutes": 30.0}


def test_an_acknowledged_incident_does_not_escalate(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        mesh, sink = escalating(root, clock, hook.url)
        sink.fire(failed(clock))
        clock.advance(minutes=10)
        [incident] = sink.incidents()
        acked = sink.acknowledge(incident.id, person("sales-data@acme.example"))  # an owner of its domain
        assert (acked.state, acked.acked_by) == ("acknowledged", "sales-data@acme.example")
        clock.advance(hours=5)
        sink.flush()
        assert hook.received == []
        with pytest.raises(ValueError, match="is acknowledged"):
            sink.acknowledge(incident.id, person("platform@acme.example"))
    [record] = audited(mesh, "incident_ack")
    assert (record["actor"], record["target"], record["outcome"]) == \
        ("sales-data@acme.example", f"incident:{incident.id}", "acknowledged")
    assert (record["details"]["identity"], record["details"]["evidence"]) == ("ed25519", "test key")


@pytest.mark.parametrize("who", ["nobody-registered@evil.example", "analyst@acme.example"])
def test_acknowledging_needs_operate_dr_or_the_domain_whoever_calls(root: Path, who: str) -> None:
    """The operation checks the right itself (not only `mesh ops ack`): an actor who neither
    holds operate_dr nor owns the incident's domain is refused, audited, and nothing changes."""
    clock = Clock()
    with_alerts(root, {"notifiers": {"team": {"kind": "file", "path": "team.jsonl"}},
                       "routes": [{"name": "team", "notify": ["team"]}]})
    mesh = clocked(root, clock, policy_only=False)
    sink = governed(mesh).alerts
    sink.fire(failed(clock))
    [incident] = sink.incidents()
    with pytest.raises(PermissionDeniedError, match=f"'{who}' is not a holder of operate_dr or an owner of domain"):
        sink.acknowledge(incident.id, person(who))
    [after] = sink.incidents()
    assert (after.state, after.acked_by) == ("open", None)
    [denied] = audited(mesh, "incident_ack")
    assert (denied["actor"], denied["outcome"], denied["details"]["identity"]) == (who, "denied", "ed25519")


def test_routes_match_by_domain_selection_and_severity(root: Path) -> None:
    clock = Clock()
    with_alerts(root, {"notifiers": {"gold": {"kind": "file", "path": "gold.jsonl"},
                                     "rest": {"kind": "file", "path": "rest.jsonl"}},
                       "routes": [{"name": "gold", "select": "domain:finance", "min_severity": "critical",
                                   "notify": ["gold"]},
                                  {"name": "rest", "notify": ["rest"]}]})
    mesh = clocked(root, clock, policy_only=False)
    sink = governed(mesh).alerts
    sink.fire(failed(clock, "finance.monthly_revenue"))
    sink.fire(Signal(kind="freshness_breach", subject="finance.fx_rates", domain="finance", severity="warning",
                     summary="late", at=clock()))
    sink.fire(failed(clock, "sales.orders"))
    routed = {i.subject: i.route for i in sink.incidents()}
    assert routed == {"finance.monthly_revenue": "gold", "finance.fx_rates": "rest", "sales.orders": "rest"}
    assert len((root / "gold.jsonl").read_text().splitlines()) == 1
    assert len((root / "rest.jsonl").read_text().splitlines()) == 2


def test_the_pause_before_an_outbox_retry_doubles_up_to_an_hour() -> None:
    assert [OUTBOX_BACKOFF.wait(n) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_the_webhook_payload_is_slack_shaped() -> None:
    message = AlertMessage(mesh="acme", incident=4, event="alert", kind="gate_failed", subject="finance.fx_rates",
                           domain="finance", severity="critical", summary="stopped at its gate", route="team",
                           level=0, at="2026-11-01T09:00:00.000+00:00",
                           details={"failed_checks": ["rate_to_usd: greater_than(0) (3 rows)"] * 200})
    payload = slack_payload(message)
    assert payload["text"] == "[acme] CRITICAL gate_failed finance.fx_rates (incident 4): stopped at its gate"
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "context"]
    assert all(len(f["text"]) <= 2000 for f in payload["blocks"][2]["fields"])
    assert "mesh ops ack 4" in payload["blocks"][3]["elements"][0]["text"]
