"""``[alerts]`` of mesh.toml: what loads, and each mistake refused naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.check import check_mesh
from governance.policy import PolicyErrors, load_policy
from governance.policy.alerts import EmailNotifierConfig, WebhookNotifierConfig
from tests.conftest import copy_example_mesh
from tests.governance.alerting import with_alerts

MESH = """[mesh]
name = "m"
primary_region = "r"
[regions.r]
storage = ".mesh/regions/r"
jurisdiction = "us"
[domains.sales]
owners = ["o@acme.example"]
"""

GOOD = """
[alerts]
key_rotation_days = 30
rpo_minutes = { default = 120, sales = 15 }
[alerts.notifiers.chat]
kind = "webhook"
url_env = "MESH_SLACK_WEBHOOK"
[alerts.notifiers.mail]
kind = "email"
host = "smtp.acme.example"
port = 587
starttls = true
username = "mesh"
password_env = "MESH_SMTP_PASSWORD"
sender = "mesh@acme.example"
to = ["oncall@acme.example"]
[[alerts.routes]]
name = "sales"
domains = ["sales"]
select = "tag:tier=gold"
min_severity = "warning"
notify = ["chat"]
ack_minutes = 30
escalate_to = "oncall"
[[alerts.routes]]
name = "oncall"
notify = ["mail"]
"""


def load(tmp_path: Path, alerts: str) -> object:
    (tmp_path / "mesh.toml").write_text(MESH + alerts)
    return load_policy(tmp_path)


def test_a_full_alerts_section_loads(tmp_path: Path) -> None:
    alerts = load(tmp_path, GOOD).alerts  # type: ignore[attr-defined]
    assert [r.name for r in alerts.routes] == ["sales", "oncall"]
    assert alerts.routes[0].escalate_to == "oncall" and alerts.routes[0].ack_minutes == 30.0
    assert isinstance(alerts.notifiers["chat"], WebhookNotifierConfig)
    assert isinstance(alerts.notifiers["mail"], EmailNotifierConfig) and alerts.notifiers["mail"].starttls
    assert (alerts.rpo_for("sales"), alerts.rpo_for("finance"), alerts.key_rotation_days) == (15.0, 120.0, 30)


def test_no_alerts_section_means_no_routes(tmp_path: Path) -> None:
    alerts = load(tmp_path, "").alerts  # type: ignore[attr-defined]
    assert alerts.routes == () and alerts.rpo_for("sales") == 60.0


@pytest.mark.parametrize(("change", "where", "what", "fix"), [
    pytest.param(('notify = ["chat"]', 'notify = ["caht"]'), "'sales'.notify", "no notifier 'caht'", "chat",
                 id="unknown-notifier"),
    pytest.param(('escalate_to = "oncall"', 'escalate_to = "oncal"'), "'sales'.escalate_to", "no route 'oncal'",
                 "oncall", id="unknown-route"),
    pytest.param(('name = "oncall"\nnotify = ["mail"]', 'name = "oncall"\nnotify = ["mail"]\nack_minutes = 5\n'
                  'escalate_to = "sales"'), "escalate_to", "round in a circle: sales -> oncall -> sales",
                 "end the chain", id="escalation-cycle"),
    pytest.param(('min_severity = "warning"', 'min_severity = "warn"'), "min_severity", "unknown severity 'warn'",
                 "warning", id="unknown-severity"),
    pytest.param(('domains = ["sales"]', 'domains = ["sale"]'), "'sales'.domains", "domain 'sale' is not declared",
                 "sales", id="undeclared-domain"),
    pytest.param(('ack_minutes = 30\n', ''), "escalate_to", "ack_minutes and escalate_to go together",
                 "ack_minutes = 30", id="escalate-without-window"),
    pytest.param(('url_env = "MESH_SLACK_WEBHOOK"', 'url_env = "https://hooks.slack.com/services/T/B/x"'),
                 "[alerts.notifiers.chat].url_env", "is not an environment variable name", "never the secret",
                 id="secret-in-mesh-toml"),
    pytest.param(('username = "mesh"\n', ''), "[alerts.notifiers.mail].username", "password_env is set but username",
                 'username = "mesh"', id="password-without-login"),
    pytest.param(('kind = "webhook"', 'kind = "slack"'), "[alerts.notifiers.chat].kind", "unknown notifier kind",
                 "webhook", id="unknown-kind"),
    pytest.param(('starttls = true', 'starttls = true\ntls = true'), "[alerts.notifiers.mail].tls",
                 "unknown key 'tls'", "starttls", id="unknown-key"),
    pytest.param(("sales = 15", "sles = 15"), "rpo_minutes.sles", "domain 'sles' is not declared", "sales",
                 id="rpo-undeclared-domain"),
])
def test_each_mistake_is_refused_naming_the_key_and_the_fix(tmp_path: Path, change: tuple[str, str], where: str,
                                                           what: str, fix: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(PolicyErrors) as caught:
        load(tmp_path, GOOD.replace(old, new, 1))
    [problem] = caught.value.problems
    assert where in (problem.where or "") and what in problem.what and fix in (problem.fix or ""), str(problem)


def test_mesh_check_refuses_a_route_selection_that_names_no_asset(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    with_alerts(root, {"notifiers": {"log": {"kind": "file"}},
                       "routes": [{"name": "gold", "select": "tag:tier=platinum", "notify": ["log"]}]})
    [problem] = check_mesh(root).problems
    assert "[[alerts.routes]] 'gold'.select" in problem and "selects no asset" in problem
