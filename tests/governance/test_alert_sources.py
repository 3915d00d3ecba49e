"""What raises alerts: runs that fail or are stopped at their gate (and the good run that
recovers them), and the conditions check_mesh finds (audit log, key age, replica lag)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assets import AssetResult, RunEnded, Status, materialize
from assets.backfill import backfill
from assets.step import run_asset
from governance.alerts import AlertObserver
from governance.ops.checks import check_mesh
from governance.services import governed
from governance.wiring import domain_mesh
from tests.conftest import TEST_SCALE, copy_example_mesh, person
from tests.governance.alerting import Clock, clocked, with_alerts

FILE_ONLY = {"notifiers": {"log": {"kind": "file", "path": ".mesh/alerts/alerts.jsonl"}},
             "routes": [{"name": "all", "notify": ["log"]}]}


def sent(root: Path) -> list[dict[str, object]]:
    path = root / ".mesh" / "alerts" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_failed_run_and_a_failed_gate_open_incidents(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("bad_outputs")
    with_alerts(root, FILE_ONLY)
    clock = Clock()
    mesh = clocked(root, clock, policy_only=False)
    materialize("alpha.raises alpha.negative", mesh=mesh)
    materialize("alpha.raises", mesh=mesh)  # fails again: the same incident
    incidents = {i.kind: i for i in governed(mesh).alerts.incidents()}
    assert set(incidents) == {"run_failed", "gate_failed"}
    assert incidents["run_failed"].subject == "alpha.raises" and incidents["run_failed"].fired == 2
    assert "upstream API returned 503" in incidents["run_failed"].summary
    gate = incidents["gate_failed"]
    assert gate.subject == "alpha.negative" and "1 check(s) failed, 2 of 3 rows failed" in gate.summary
    assert gate.details["failed_checks"] == ["n: greater_than_or_equal_to(0) (2 rows)"]
    assert gate.details["quarantine"]
    assert sorted(m["kind"] for m in sent(root)) == ["gate_failed", "run_failed"], "one alert per incident"


def test_the_next_published_version_resolves_the_incident(fixture_mesh: Callable[[str], Path]) -> None:
    root = fixture_mesh("bad_outputs")
    with_alerts(root, FILE_ONLY)
    clock = Clock()
    mesh = clocked(root, clock)
    observer = AlertObserver(governed(mesh).alerts)

    def ended(status: Status) -> RunEnded:
        return RunEnded(key="alpha.raises", run_id="r", source="airflow", started_at=clock(), ended_at=clock(),
                        result=AssetResult(key="alpha.raises", status=status, error="boom"))

    observer.run_ended(ended(Status.ERROR))
    observer.run_ended(ended(Status.SKIPPED))  # a skip neither fails nor recovers
    assert [i.state for i in governed(mesh).alerts.incidents()] == ["open"]
    clock.advance(minutes=7)
    observer.run_ended(ended(Status.MATERIALIZED))
    assert governed(mesh).alerts.incidents() == []
    assert [(m["event"], m["kind"]) for m in sent(root)] == [("alert", "run_failed"), ("resolve", "run_failed")]


def test_a_gate_failure_of_the_example_mesh_alerts_and_a_good_run_resolves_it(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")  # its own [alerts]: everything to .mesh/alerts/alerts.jsonl
    mesh = clocked(root, Clock(), policy_only=False)
    bad = materialize("finance.fx_rates", mesh=mesh, params={"scale": TEST_SCALE, "inject_bad_rows": True})
    assert bad["finance.fx_rates"].status is Status.GATE_FAILED
    good = materialize("finance.fx_rates", mesh=mesh, params={"scale": TEST_SCALE})
    assert good.ok
    messages = sent(root)
    assert [(m["event"], m["kind"], m["subject"]) for m in messages] == \
        [("alert", "gate_failed", "finance.fx_rates"), ("resolve", "gate_failed", "finance.fx_rates")]
    assert "2 check(s) failed, 6 of" in str(messages[0]["summary"])


def test_an_airflow_task_alerts_as_the_engine_does(tmp_path: Path) -> None:
    """An Airflow task runs run_asset on its domain's mesh (MaterializeAssetOperator): same alerts."""
    root = copy_example_mesh(tmp_path / "mesh")
    mesh = domain_mesh(root, "finance")
    result = run_asset(mesh, "finance.fx_rates", run_id="scheduled__2026-11-01", source="airflow",
                       params={"scale": TEST_SCALE, "inject_bad_rows": True})
    assert result.status is Status.GATE_FAILED
    [incident] = governed(mesh).alerts.incidents()
    assert (incident.kind, incident.subject, incident.details["runner"]) == \
        ("gate_failed", "finance.fx_rates", "airflow")
    assert [m["kind"] for m in sent(root)] == ["gate_failed"]


@pytest.fixture
def example(tmp_path: Path) -> tuple[Path, Clock]:
    root = copy_example_mesh(tmp_path / "mesh")
    return root, Clock()


def test_an_audit_log_that_does_not_verify_raises_an_alert(example: tuple[Path, Clock]) -> None:
    root, clock = example
    mesh = clocked(root, clock)
    assert not [f for f in check_mesh(mesh).findings if f.firing]
    audit = governed(mesh).audit
    audit.seal()
    log = root / ".mesh" / "audit" / "audit.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join([lines[0].replace('"actor"', '"actor" ', 1), *lines[1:]]))  # one byte more
    report = check_mesh(mesh)
    [finding] = [f for f in report.findings if f.firing]
    assert finding.kind == "audit_unverified" and "does not verify" in finding.summary
    assert [(m["kind"], m["severity"]) for m in sent(root)] == [("audit_unverified", "critical")]
    assert report.delivery.sent == 1 and report.delivery.pending == 0, "the alert the check sent is counted"


def test_a_key_past_its_rotation_age_raises_an_alert_until_it_is_rotated(example: tuple[Path, Clock]) -> None:
    root, clock = example
    mesh = clocked(root, clock)
    provider = governed(mesh).keyring.provider
    active = provider.active_kek_id()
    clock.now = dt.datetime.now(dt.UTC)  # key files are dated by the file system
    key_file = root / ".mesh" / "keys" / "data" / f"kek-{active}.key"
    if not key_file.exists():
        key_file = next((root / ".mesh").rglob(f"kek-{active}.key"))
    old = (clock.now.timestamp() - 91 * 86400)
    os.utime(key_file, (old, old))
    due = [f for f in check_mesh(mesh).findings if f.kind == "key_rotation_due"]
    assert [(f.subject, f.firing) for f in due] == [(f"kek:{active}", True)]
    assert "91 days old" in due[0].summary
    provider.rotate()
    check_mesh(mesh)
    assert [i.kind for i in governed(mesh).alerts.incidents()] == []
    assert [(m["event"], m["kind"]) for m in sent(root)] == [("alert", "key_rotation_due"),
                                                            ("resolve", "key_rotation_due")]


def test_a_standby_behind_its_rpo_target_raises_an_alert(example: tuple[Path, Clock]) -> None:
    root, clock = example
    mesh = clocked(root, clock, policy_only=False)
    params = {"scale": TEST_SCALE}
    assert materialize("finance.fx_rates", mesh=mesh, params=params).ok
    clock.now = clock.now.replace(year=2030)  # after every produced_at
    assert not [f for f in check_mesh(mesh).findings if f.firing and f.kind == "replica_lag"]
    unreplicated = [h for h in governed(mesh).handlers if h.kind != "replication"]
    assert materialize("finance.fx_rates", mesh=mesh, params=params, handlers=unreplicated).ok
    lagging = [f for f in check_mesh(mesh).findings if f.firing]
    assert [(f.kind, f.subject) for f in lagging] == [("replica_lag", "replica:finance")]
    assert "past the RPO target of 60 min" in lagging[0].summary
    # in 2030 every asset is also years past its freshness: those alerts go out beside it
    assert [m["kind"] for m in sent(root) if not m["kind"].startswith("freshness")] == ["replica_lag"]


def test_a_partition_missing_from_the_standby_raises_the_lag_alert_on_a_mesh_without_domain_code(
        example: tuple[Path, Clock]) -> None:
    """The ops pass checks a mesh loaded without domain code, in which no asset is known to be
    partitioned: a partition's version lost from the standby raised no alert (its versions were
    looked for in the asset's own folder). Each partition is looked at, as `mesh dr status` does."""
    root, clock = example
    days = ("2026-11-16", "2026-11-17")
    assert backfill("sales.daily_orders", mesh=clocked(root, clock, policy_only=False), first=days[0], last=days[1]).ok
    clock.now = clock.now.replace(year=2030)  # after every produced_at
    mesh = clocked(root, clock)
    assert not [f for f in check_mesh(mesh).findings if f.firing and f.kind == "replica_lag"]
    version = mesh.store().current_version("sales.daily_orders", days[1])
    assert version is not None
    shutil.rmtree(Path(mesh.store("us-west").data_path("sales.daily_orders", version, days[1])).parent)
    [lagging] = [f for f in check_mesh(mesh).findings if f.firing and f.kind == "replica_lag"]
    assert lagging.subject == "replica:sales" and f"behind on sales.daily_orders/{days[1]}" in lagging.summary


def test_the_checks_are_quiet_on_a_healthy_mesh(example: tuple[Path, Clock]) -> None:
    root, clock = example
    mesh = dataclasses.replace(clocked(root, clock))
    report = check_mesh(mesh)
    assert not [f for f in report.findings if f.firing]
    assert sent(root) == []


def test_checking_the_standby_again_reads_no_version_it_already_checked(example: tuple[Path, Clock],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from assets.storage import VersionStore

    root, clock = example
    mesh = clocked(root, clock, policy_only=False)
    reads: list[str] = []
    for name in ("has_version", "versions", "manifest"):
        real = getattr(VersionStore, name)
        monkeypatch.setattr(VersionStore, name, lambda self, *a, _real=real, _name=name, **k: (
            reads.append(_name), _real(self, *a, **k))[1])  # a spy: the real method, counted

    def reads_of_a_check() -> int:
        reads.clear()
        check_mesh(mesh)
        return len(reads)

    for seed in range(4):
        assert materialize("finance.fx_rates", mesh=mesh, params={"scale": TEST_SCALE, "seed": seed}).ok
    reads_of_a_check()  # the first check after start looks at every version once
    few = reads_of_a_check()
    for seed in range(4, 12):
        assert materialize("finance.fx_rates", mesh=mesh, params={"scale": TEST_SCALE, "seed": seed}).ok
    reads_of_a_check()
    many = reads_of_a_check()
    assert few == many, f"{few} store reads at 4 versions, {many} at 12"


def test_a_failed_partition_is_one_incident_until_that_partition_publishes(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    with_alerts(root, {"notifiers": {"sales": {"kind": "file", "path": ".mesh/alerts/alerts.jsonl"},
                                     "rest": {"kind": "file", "path": "rest.jsonl"}},
                       "routes": [{"name": "sales", "select": "sales.*", "notify": ["sales"]},
                                  {"name": "rest", "notify": ["rest"]}]})
    clock = Clock()
    mesh = clocked(root, clock, policy_only=False)
    observer = AlertObserver(governed(mesh).alerts)

    def ended(day: str, status: Status) -> RunEnded:
        clock.advance(minutes=5)
        return RunEnded(key="sales.daily_orders", run_id=f"r-{day}", source="engine", started_at=clock(),
                        ended_at=clock(), partition=day,
                        result=AssetResult(key="sales.daily_orders", partition=day, status=status,
                                           error="contract gate failed" if status is Status.GATE_FAILED else None))

    observer.run_ended(ended("2026-11-17", Status.GATE_FAILED))
    observer.run_ended(ended("2026-11-18", Status.MATERIALIZED))  # another day: the failed one is still failed
    [incident] = governed(mesh).alerts.incidents()
    assert (incident.subject, incident.route, incident.details["partition"]) == \
        ("sales.daily_orders/2026-11-17", "sales", "2026-11-17"), "routed by its asset's key"
    observer.run_ended(ended("2026-11-17", Status.MATERIALIZED))
    assert governed(mesh).alerts.incidents() == []
    assert [(m["event"], m["subject"]) for m in sent(root)] == [("alert", "sales.daily_orders/2026-11-17"),
                                                                ("resolve", "sales.daily_orders/2026-11-17")]



def test_failed_partitions_of_one_asset_send_one_alert_and_one_resolve_after_the_last(tmp_path: Path) -> None:
    root = copy_example_mesh(tmp_path / "mesh")
    with_alerts(root, {"notifiers": {"log": {"kind": "file", "path": ".mesh/alerts/alerts.jsonl"}},
                       "routes": [{"name": "sales", "domains": ["sales"], "notify": ["log"], "ack_minutes": 30,
                                   "escalate_to": "oncall"},
                                  {"name": "oncall", "notify": ["log"]}]})
    clock = Clock()
    mesh = clocked(root, clock, policy_only=False)
    alerts = governed(mesh).alerts
    observer = AlertObserver(alerts)

    def ended(day: str, status: Status) -> None:
        clock.advance(minutes=5)
        observer.run_ended(RunEnded(
            key="sales.daily_orders", run_id=f"r-{day}", source="engine", started_at=clock(), ended_at=clock(),
            partition=day, result=AssetResult(key="sales.daily_orders", partition=day, status=status,
                                              error="upstream API returned 503" if status is Status.ERROR else None)))

    def by_subject() -> dict[str, Any]:
        return {i.subject.rsplit("/", 1)[1]: i for i in alerts.incidents()}

    days = ["2026-11-16", "2026-11-17", "2026-11-18"]
    for day in days:  # a backfill whose days all fail: three incidents, one alert
        ended(day, Status.GATE_FAILED)
    ended("2026-11-19", Status.ERROR)  # another kind of failure is its own alert
    open_ = by_subject()
    first = open_[days[0]]
    assert (first.route, first.fired) == ("sales", 3)
    assert [(open_[d].route, open_[d].details["alerted_with"]) for d in days[1:]] == [(None, first.id)] * 2
    assert [(m["event"], m["kind"], m["subject"]) for m in sent(root)] == [
        ("alert", "gate_failed", f"sales.daily_orders/{days[0]}"),
        ("alert", "run_failed", "sales.daily_orders/2026-11-19")]
    alerts.acknowledge(first.id, person("platform@acme.example"))  # operate_dr

    ended(days[0], Status.MATERIALIZED)  # the alerted day publishes: the next one takes over its alert
    heir = by_subject()[days[1]]
    assert (heir.route, heir.routes, heir.state, heir.acked_by) == ("sales", ("sales",), "acknowledged",
                                                                   "platform@acme.example")
    assert "alerted_with" not in heir.details
    assert by_subject()[days[2]].details["alerted_with"] == heir.id
    clock.advance(minutes=60)
    assert [i.kind for i in alerts.escalate()] == ["run_failed"], "the gate's acknowledgement was handed over"
    ended(days[2], Status.MATERIALIZED)
    ended(days[1], Status.MATERIALIZED)
    assert [i.kind for i in alerts.incidents()] == ["run_failed"]
    gate = [(m["event"], m["subject"]) for m in sent(root) if m["kind"] == "gate_failed"]
    assert gate == [("alert", f"sales.daily_orders/{days[0]}"), ("resolve", f"sales.daily_orders/{days[1]}")], \
        "one alert, and one resolve when the last failed day published"

def test_a_run_that_died_is_resolved_by_the_next_good_run(tmp_path: Path) -> None:
    from governance.ops.monitor import OpsView, evaluate
    from governance.ops.watch import Watched
    from governance.runs.records import run_records

    root = copy_example_mesh(tmp_path / "mesh")
    with_alerts(root, FILE_ONLY)
    clock = Clock()
    mesh = clocked(root, clock)
    records = run_records(mesh)
    records.started("sales.daily_orders", "killed", "airflow", clock(), partition="2026-11-17")
    clock.advance(minutes=180)
    view = OpsView([Watched(key="sales.daily_orders", domain="sales")], records.database)
    evaluate(view, clock(), governed(mesh).alerts, alive=None)  # no worker recorded: dead after 2 hours
    [incident] = governed(mesh).alerts.incidents()
    assert (incident.kind, incident.subject) == ("run_died", "sales.daily_orders/2026-11-17")
    AlertObserver(governed(mesh).alerts).run_ended(RunEnded(
        key="sales.daily_orders", run_id="again", source="engine", started_at=clock(), ended_at=clock(),
        partition="2026-11-17", result=AssetResult(key="sales.daily_orders", partition="2026-11-17",
                                                   status=Status.MATERIALIZED)))
    assert governed(mesh).alerts.incidents() == []
    assert [(m["event"], m["kind"]) for m in sent(root)] == [("alert", "run_died"), ("resolve", "run_died")]
