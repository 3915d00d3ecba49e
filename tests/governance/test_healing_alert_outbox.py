"""Alerts a notifier failed on are sent again by the runbook once they are due."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.healing import Bounds, heal
from governance.ops import Signal
from governance.services import governed
from tests.conftest import copy_example_mesh, person
from tests.governance.alerting import Clock, clocked, webhook_server, with_alerts

HOOK_ENV = "MESH_TEST_ALERT_WEBHOOK"
PLATFORM = person("platform@acme.example")


def test_a_stuck_alert_is_sent_again_once_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, clock = copy_example_mesh(tmp_path / "mesh"), Clock()
    with_alerts(root, {"notifiers": {"chat": {"kind": "webhook", "url_env": HOOK_ENV}},
                       "routes": [{"name": "team", "notify": ["chat"]}]})
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        mesh = clocked(root, clock)
        hook.stop()  # the chat service is down
        governed(mesh).alerts.fire(Signal(kind="run_failed", subject="sales.orders", domain="sales",
                                          severity="critical", summary="sales.orders failed", at=clock()))
        assert heal(mesh, clock(), dry_run=True).actions == (), "inside its back-off the sink itself retries"
        clock.advance(minutes=10)
        [down] = [a for a in heal(mesh, clock(), actor=PLATFORM, bounds=Bounds(attempts=1)).actions
                  if a.remediation == "stuck alert outbox"]
        assert down.outcome == "failed" and "still pending" in (down.error or "")
        assert "s3cr3t-token" not in (down.error or "") + down.found
        hook.start()
        clock.advance(hours=2)
        [sent] = [a for a in heal(mesh, clock(), actor=PLATFORM).actions if a.remediation == "stuck alert outbox"]
        assert sent.outcome == "healed" and sent.result == "1 message(s) sent"
        assert len(hook.received) == 1 and governed(mesh).alerts.pending() == []
