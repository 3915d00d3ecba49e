"""Consumer subscriptions against the real file notifier and a real local webhook server:
subscribing needs read access (refused and audited otherwise), each new version is told to each
subscriber once, unsubscribing stops it, a breaking contract change is told before it is
published and ``mesh contract diff`` lists who it affects, a deprecation is told once, and a
notifier that is down keeps the notice in the outbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assets import Mesh, Status, materialize
from assets.errors import DomainImportError
from governance.access import AccessDeniedError
from governance.check import check_mesh
from governance.contracts.odcs_export import odcs_document
from governance.services import governed
from governance.subscriptions import (
    SubscriptionError,
    subscribe,
    subscribers,
    unsubscribe,
)
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.conftest import copy_example_mesh, person
from tests.governance.alerting import Clock, clocked, webhook_server, with_alerts

ASSET = "marketing.campaigns"
ASSETS = "domains/marketing/assets.py"
CONTRACTS = "domains/marketing/contracts.py"
ANALYST, PRIVACY = "analyst@acme.example", "privacy@acme.example"
HOOK_ENV = "MESH_TEST_SUBSCRIPTION_WEBHOOK"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_example_mesh(tmp_path / "mesh")


def notices(root: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The notices the example mesh's file notifier (ops_file) received."""
    path = root / ".mesh" / "alerts" / "alerts.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [m for m in lines if m["event"] == "notice" and (kind is None or m["kind"] == kind)]


def change(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def run(root: Path) -> Status:
    return materialize(ASSET, mesh=load_mesh(root))[ASSET].status


def audited(mesh: Mesh, action: str) -> list[dict[str, Any]]:
    return [r.body() for r in governed(mesh).audit.records() if r.action == action]


def test_subscribing_needs_read_access_and_is_audited(root: Path) -> None:
    mesh = load_mesh(root)
    with pytest.raises(AccessDeniedError, match="may not subscribe to 'customers.customers'") as refused:
        subscribe(mesh, "customers.customers", actor=person(ANALYST), route="ops_file")
    assert "a role with read:customers" in (refused.value.fix or ""), "as a refused read says whom to ask"
    assert subscribers(mesh, "customers.customers") == []
    with pytest.raises(SubscriptionError, match="no notifier or route 'pager'"):
        subscribe(mesh, ASSET, actor=person(ANALYST), route="pager")
    subscribe(mesh, ASSET, actor=person(ANALYST), route="ops_file")
    subscribe(mesh, ASSET, actor=person(PRIVACY), route="everything")  # a route: its notifiers
    assert [(s.consumer, s.route) for s in subscribers(mesh, ASSET)] == [(ANALYST, "ops_file"),
                                                                         (PRIVACY, "everything")]
    records = audited(mesh, "subscribe")
    assert [(r["target"], r["outcome"]) for r in records] == [("customers.customers", "denied"),
                                                              (ASSET, "allowed"), (ASSET, "allowed")]
    assert records[0]["actor"] == ANALYST and "restricted" in records[0]["details"]["reason"]


def test_each_new_version_is_told_once_to_each_subscriber_until_unsubscribed(root: Path) -> None:
    mesh = load_mesh(root)
    subscribe(mesh, ASSET, actor=person(ANALYST), route="ops_file")
    subscribe(mesh, ASSET, actor=person(PRIVACY), route="everything")
    assert run(root) is Status.MATERIALIZED
    told = notices(root, "new_version")
    assert sorted(m["route"].split()[2] for m in told) == [ANALYST, PRIVACY]
    assert all(m["subject"] == ASSET and "published version" in m["summary"] for m in told)
    unsubscribe(mesh, ASSET, actor=person(ANALYST))
    assert [(r["actor"], r["outcome"]) for r in audited(mesh, "unsubscribe")] == [(ANALYST, "removed")]
    with pytest.raises(SubscriptionError, match="not subscribed"):
        unsubscribe(mesh, ASSET, actor=person(ANALYST))
    assert run(root) is Status.MATERIALIZED
    again = notices(root, "new_version")[2:]
    assert [m["route"].split()[2] for m in again] == [PRIVACY]
    assert not governed(mesh).alerts.pending()


def test_a_breaking_contract_change_is_told_before_it_is_published(root: Path) -> None:
    runner = CliRunner()
    where = ["--root", str(root)]
    refused = runner.invoke(app, ["subscribe", "customers.customers", "--as", ANALYST, "--notify", "ops_file", *where])
    assert refused.exit_code == 1 and "may not subscribe to 'customers.customers'" in refused.output
    assert runner.invoke(app, ["subscribe", ASSET, "--as", ANALYST, "--notify", "ops_file", *where]).exit_code == 0
    again = runner.invoke(app, ["subscribe", ASSET, "--as", ANALYST, "--notify", "ops_file", *where])
    assert again.exit_code == 0 and "already subscribed: nothing changed" in again.stdout, again.output
    listed = runner.invoke(app, ["subscribers", ASSET, "--json", *where])
    assert [s["consumer"] for s in json.loads(listed.stdout)] == [ANALYST]
    assert run(root) is Status.MATERIALIZED
    change(root, CONTRACTS, "budget_usd: float = pa.Field(gt=0, le=1_000_000)",
           "budget_usd: float = pa.Field(gt=10, le=1_000_000)")
    diff = runner.invoke(app, ["contract", "diff", ASSET, "--json", *where])
    assert json.loads(diff.stdout)["affected"] == [ANALYST]
    assert "affected subscribers: analyst@acme.example" in runner.invoke(app, ["contract", "diff", ASSET, *where]).stdout
    assert run(root) is Status.ERROR  # refused: no major bump; the subscriber knows already
    assert run(root) is Status.ERROR
    [told] = notices(root, "breaking_change")
    assert "greater_than tightened" in told["summary"] and told["details"]["published"] == "1.0.0"


def test_a_deprecated_asset_is_told_once_and_mesh_check_warns(root: Path) -> None:
    mesh = load_mesh(root)
    subscribe(mesh, ASSET, actor=person(ANALYST), route="ops_file")
    change(root, ASSETS, 'contract=Campaigns, contract_version="1.0.0"',
           'contract=Campaigns, contract_version="1.0.0", deprecated="2027-03-31", replaced_by="sales.orders"')
    assert run(root) is Status.MATERIALIZED
    assert run(root) is Status.MATERIALIZED
    [told] = notices(root, "deprecation")
    assert told["summary"] == f"{ASSET} is deprecated: kept up until 2027-03-31, replaced by sales.orders"
    assert told["details"] == {"deprecated": "2027-03-31", "replaced_by": "sales.orders"}
    report = check_mesh(root)
    assert report.ok and any("is deprecated: kept up until 2027-03-31" in w for w in report.warnings)
    assert any("reads the deprecated 'marketing.campaigns'" in w for w in report.warnings)
    document = odcs_document(load_mesh(root), ASSET)
    assert document["status"] == "deprecated"
    assert {"property": "replacedBy", "value": "sales.orders"} in document["customProperties"]


@pytest.mark.parametrize(("options", "error"), [
    ('deprecated="next spring"', "is not a date"),
    ('deprecated="2027-03-31", replaced_by="orders v2"', "is not an asset key"),
    ('replaced_by="sales.orders"', "replaced_by without deprecated"),
])
def test_a_bad_deprecation_is_refused(root: Path, options: str, error: str) -> None:
    change(root, ASSETS, 'contract=Campaigns, contract_version="1.0.0"',
           f'contract=Campaigns, contract_version="1.0.0", {options}')
    with pytest.raises(DomainImportError, match=error):
        load_mesh(root)


def test_a_notifier_down_keeps_the_notice_in_the_outbox(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    with webhook_server() as hook:
        monkeypatch.setenv(HOOK_ENV, hook.url)
        with_alerts(root, {"notifiers": {"chat": {"kind": "webhook", "url_env": HOOK_ENV}},
                           "routes": [{"name": "team", "notify": ["chat"]}]})
        mesh = clocked(root, clock, policy_only=False)
        subscribe(mesh, ASSET, actor=person(ANALYST), route="chat")
        hook.stop()
        assert materialize(ASSET, mesh=mesh)[ASSET].ok
        [waiting] = governed(mesh).alerts.pending()
        assert waiting["notifier"] == "chat" and waiting["event"] == "notice" and waiting["attempts"] == 1
        assert waiting["incident"] is None and "unreachable" in waiting["last_error"]
        hook.start()
        clock.advance(minutes=5)
        assert governed(mesh).alerts.flush().sent == 1
        [posted] = hook.received
        assert "NOTICE new_version marketing.campaigns" in json.dumps(posted["body"])
        assert not governed(mesh).alerts.pending()


def test_a_subscriber_who_lost_read_access_is_told_nothing_more(root: Path) -> None:
    subscribe(load_mesh(root), ASSET, actor=person(ANALYST), route="ops_file")
    change(root, ASSETS, 'schedule="0 6 * * 1", visibility="public"', 'schedule="0 6 * * 1", visibility="private"')
    assert run(root) is Status.MATERIALIZED
    assert notices(root, "new_version") == [], "the analyst may no longer read marketing.campaigns"


def test_a_subscription_row_edited_by_hand_is_one_line_naming_it(root: Path) -> None:
    """`mesh subscribers` printed a subscription's time as it was stored: bytes written into
    ``created_at`` by hand stopped it with rich's NotRenderableError; now it is one line naming
    the subscription and the fix."""
    import sqlite3

    mesh = load_mesh(root)
    subscribe(mesh, ASSET, actor=person(ANALYST), route="ops_file")
    with sqlite3.connect(root / ".mesh/state/mesh.sqlite") as db:
        db.execute("UPDATE subscriptions SET created_at = ?", (b"\xff\xfe",))
    listed = CliRunner().invoke(app, ["subscribers", ASSET, "--root", str(root)])
    assert listed.exit_code == 1 and isinstance(listed.exception, SystemExit), listed.exception
    assert f"the subscription of '{ANALYST}' to '{ASSET}' is not one the mesh wrote (its created_at is bytes, not " \
           "text)" in listed.output and "Fix:" in listed.output and "Traceback" not in listed.output, listed.output
