"""The self-healing runbook on real copies of the example mesh, with real files corrupted."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from assets import Mesh, Status, materialize
from assets.backoff import Backoff
from governance.dr import dr_status
from governance.healing import Bounds, Finding, HealCounts, HealReport, heal
from governance.healing.gate_failures import RERUN_AFTER, FailedGates
from governance.healing.runbook import runbook
from governance.identity import Actor
from governance.identity.authorization import PermissionDeniedError
from governance.runs.records import run_records
from governance.services import governed
from tests.assets.test_retries import waiting_on
from tests.assets.test_verified_reads import flip_a_byte
from tests.conftest import person
from tests.governance.test_lineage import lineage_server, with_lineage  # noqa: F401  (a fixture)

PLATFORM = person("platform@acme.example")
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
SMALL = {"scale": 300, "seed": 3}


def published(mesh: Mesh, key: str, **params: Any) -> str:
    result = materialize(key, mesh=mesh, params={**SMALL, **params})[key]
    assert result.manifest is not None, result.error
    return result.manifest.version


def by(report: HealReport, remediation: str) -> list[Any]:
    return [a for a in report.actions if a.remediation == remediation]


def test_a_corrupt_current_version_is_rolled_back_then_run_again(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    first, second = published(mesh, "sales.products"), published(mesh, "sales.products")
    flip_a_byte(Path(mesh.store().data_path("sales.products", second)))
    report = heal(mesh, NOW, actor=PLATFORM)
    [action] = by(report, "corrupt current version")
    assert action.subject == "sales.products" and action.outcome == "healed" and action.attempts == 1
    assert f"current version {second} does not verify" in action.found
    assert f"rolled back sales.products from {second} to {first}" in action.result
    current = mesh.store().current("sales.products")
    assert current is not None and current.version not in (first, second), "it was run again"
    assert mesh.store().verify(current)
    audit = governed(mesh).audit
    [healed] = audit.query(action="heal", target="sales.products")
    assert healed.actor == PLATFORM.id and healed.outcome == "healed"
    assert healed.details["why"] and healed.details["found"] == action.found and healed.details["attempts"] == 1
    [rolled] = audit.query(action="rollback", target="sales.products")
    assert rolled.details["to"] == first and "does not verify" in rolled.details["why"]
    assert heal(mesh, NOW, actor=PLATFORM).healthy, "nothing is left to heal"


def test_an_asset_run_again_runs_with_the_runbooks_params(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    first, second = published(mesh, "sales.orders"), published(mesh, "sales.orders")
    flip_a_byte(Path(mesh.store().data_path("sales.orders", second)))
    [action] = by(heal(mesh, NOW, actor=PLATFORM, params=SMALL), "corrupt current version")
    assert action.outcome == "healed" and "materialized sales.orders again" in action.result
    current = mesh.store().current("sales.orders")
    assert current is not None and current.version not in (first, second)
    assert current.rows == SMALL["scale"], "run again at the runbook's scale, not the asset's default (100,000)"


def test_a_missing_and_a_corrupt_replica_are_copied_again(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    first, second = published(mesh, "sales.products"), published(mesh, "sales.products")
    standby = mesh.store("us-west")
    shutil.rmtree(Path(standby.data_path("sales.products", first)).parent)
    flip_a_byte(Path(standby.data_path("sales.products", second)))
    report = heal(mesh, NOW, actor=PLATFORM)
    [action] = by(report, "missing or corrupt replica")
    assert action.outcome == "healed" and "1 version(s) missing" in action.found and "1 replica(s)" in action.found
    assert "1 copied, 1 repaired" in action.result
    [lag] = dr_status(mesh, verify=True, keys=["sales.products"]).assets
    assert lag.state == "in sync"
    copies = governed(mesh).audit.query(action="replicate", actor=PLATFORM.id)
    assert {(c.outcome, c.details["version"]) for c in copies} == {("copied", first), ("repaired", second)}


def test_a_replica_lost_or_rotted_after_a_pass_found_it_good_is_found_by_the_next(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    first, second = published(mesh, "sales.products"), published(mesh, "sales.products")
    assert by(heal(mesh, NOW, dry_run=True), "missing or corrupt replica") == [], "every replica verifies"
    standby = mesh.store("us-west")
    shutil.rmtree(Path(standby.data_path("sales.products", first)).parent)
    flip_a_byte(Path(standby.data_path("sales.products", second)))
    third = published(mesh, "sales.products")
    [action] = by(heal(mesh, NOW, dry_run=True), "missing or corrupt replica")
    assert f"1 version(s) missing (newest {first})" in action.found
    assert f"1 replica(s) not matching their checksum (newest {second})" in action.found
    assert third not in action.found, "a version published since the last pass is listed, and it is in sync"
    assert by(heal(mesh, NOW, actor=PLATFORM), "missing or corrupt replica")[0].outcome == "healed"
    assert by(heal(mesh, NOW, dry_run=True), "missing or corrupt replica") == []


def test_a_failed_gate_is_never_healed_by_publishing(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    assert materialize("+finance.revenue", mesh=mesh, params=SMALL).ok
    good = mesh.store().current_version("finance.fx_rates")
    bad = materialize("finance.fx_rates", mesh=mesh, params={**SMALL, "inject_bad_rows": True})["finance.fx_rates"]
    assert bad.status is Status.GATE_FAILED
    report = heal(mesh, NOW, actor=PLATFORM)
    [action] = by(report, "failed gate")
    assert action.subject == "finance.fx_rates" and action.outcome == "left" and action.attempts == 0
    assert f"nothing: {good} stays current" in action.action
    assert mesh.store().current_version("finance.fx_rates") == good, "the last good version stays current"
    downstream = materialize("finance.revenue", mesh=mesh, params=SMALL)["finance.revenue"]
    assert downstream.manifest is not None and downstream.manifest.input_versions["finance.fx_rates"] == good
    assert governed(mesh).audit.query(action="heal") == [], "nothing was done, so nothing is audited"


def _gate_failed(mesh: Mesh) -> tuple[str | None, dt.datetime]:
    assert materialize("+finance.revenue", mesh=mesh, params=SMALL).ok
    good = mesh.store().current_version("finance.fx_rates")
    bad = materialize("finance.fx_rates", mesh=mesh, params={**SMALL, "inject_bad_rows": True})["finance.fx_rates"]
    assert bad.status is Status.GATE_FAILED
    [run] = [r for r in run_records(mesh).for_asset("finance.fx_rates", limit=1)]
    assert run.ended_at is not None
    return good, run.ended_at


def test_a_failed_gate_is_run_again_after_its_back_off_and_publishes_once_the_data_passes(
        example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    good, failed_at = _gate_failed(mesh)
    [early] = by(heal(mesh, failed_at + RERUN_AFTER[0] - dt.timedelta(minutes=1), actor=PLATFORM), "failed gate")
    assert early.outcome == "left" and f"{good} stays current" in early.action and "run again at" in early.action
    assert mesh.store().current_version("finance.fx_rates") == good, "nothing is run before the back-off"
    [action] = by(heal(mesh, failed_at + RERUN_AFTER[0] + dt.timedelta(minutes=1), actor=PLATFORM, params=SMALL), "failed gate")
    assert action.outcome == "healed" and action.attempts == 1 and "passes its contract now" in action.result
    assert mesh.store().current_version("finance.fx_rates") != good, "the corrected data is published"
    assert by(heal(mesh, failed_at + RERUN_AFTER[0] + dt.timedelta(minutes=2), actor=PLATFORM), "failed gate") == []


def test_a_failed_gate_whose_data_is_still_bad_publishes_nothing_and_backs_off(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    good, failed_at = _gate_failed(mesh)
    still_bad = {**SMALL, "inject_bad_rows": True}
    [action] = by(heal(mesh, failed_at + RERUN_AFTER[0] + dt.timedelta(minutes=1), actor=PLATFORM, params=still_bad), "failed gate")
    assert action.outcome == "failed" and action.attempts == 1, "one re-run a pass: its back-off is between passes"
    assert "gate_failed" in (action.error or "")
    assert mesh.store().current_version("finance.fx_rates") == good, "the last good version stays current"
    [again] = by(heal(mesh, failed_at + RERUN_AFTER[1] - dt.timedelta(minutes=1), actor=PLATFORM, params=still_bad), "failed gate")
    assert again.outcome == "left" and "(2 in a row)" in again.found and f"re-run 2 of {len(RERUN_AFTER)}" in again.action
    [last] = by(heal(mesh, failed_at + dt.timedelta(days=1), dry_run=True), "failed gate")
    assert last.outcome == "would heal", "due again after the second wait"


class AlwaysFails:
    """A remediation whose fix never works (a backend that stays down)."""

    name = "always fails"

    def __init__(self) -> None:
        self.calls = 0

    def find(self, mesh: Mesh, now: dt.datetime) -> list[Finding]:
        return [Finding(remediation=self.name, subject="sales.products", found="a problem", action="try",
                        why="a test")]

    def fix(self, mesh: Mesh, finding: Finding, actor: Actor) -> str:
        self.calls += 1
        raise ConnectionError("the standby is unreachable")


def test_a_remediation_with_its_own_bound_opens_its_breaker_only_when_it_is_used_up(example_root: Path) -> None:
    mesh, step = waiting_on(example_root, []), AlwaysFails()
    step.open_after = 3  # type: ignore[attr-defined]  # as FailedGates: its back-off is its bound
    bounds = Bounds(attempts=1, open_after=1, cool_down=dt.timedelta(hours=1))
    outcomes = [heal(mesh, NOW + i * dt.timedelta(minutes=5), actor=PLATFORM, bounds=bounds, remediations=[step])
                .actions[0] for i in range(4)]
    assert [(a.outcome, a.breaker_opened) for a in outcomes] == [
        ("failed", False), ("failed", False), ("failed", True), ("breaker open", False)]
    assert FailedGates().open_after == len(RERUN_AFTER)


def test_the_breaker_opens_after_repeated_failures_and_says_so(example_root: Path) -> None:
    waits: list[float] = []
    mesh, step = waiting_on(example_root, waits), AlwaysFails()
    bounds = Bounds(attempts=3, backoff=Backoff(first=1, factor=2, cap=10), open_after=2,
                    cool_down=dt.timedelta(hours=1))

    def once(at: dt.datetime) -> Any:
        [action] = heal(mesh, at, actor=PLATFORM, bounds=bounds, remediations=[step]).actions
        return action

    first = once(NOW)
    assert (first.outcome, first.attempts, first.breaker_opened, step.calls) == ("failed", 3, False, 3)
    assert waits == [1, 2], "the back-off grows between attempts"
    second = once(NOW + dt.timedelta(minutes=5))
    assert second.outcome == "failed" and second.breaker_opened and "breaker opened after 2 failed passes" in second.error
    third = once(NOW + dt.timedelta(minutes=10))
    assert third.outcome == "breaker open" and third.attempts == 0 and step.calls == 6, "not tried while open"
    assert "needs a person" in third.error and "unreachable" in third.error
    fourth = once(NOW + dt.timedelta(hours=2))
    assert fourth.outcome == "failed" and step.calls == 9, "tried again after the cool-down"
    audited = governed(mesh).audit.query(action="heal")
    assert [(e.outcome, e.details["breaker_opened"]) for e in audited] == [
        ("failed", False), ("failed", True), ("failed", True)]
    assert all(e.details["attempts"] == 3 and "unreachable" in e.details["error"] for e in audited)


def test_the_lineage_outbox_is_flushed_once_the_backend_is_back(
        example_root: Path, lineage_server: Any) -> None:  # noqa: F811  (the fixture imported above)
    url, received, start = lineage_server
    with_lineage(example_root, transport="http", url=url, timeout_seconds=1)
    mesh = waiting_on(example_root, [])
    published(mesh, "sales.products")
    assert governed(mesh).lineage.outbox.status().pending == 2
    down = heal(mesh, NOW, actor=PLATFORM, bounds=Bounds(attempts=2))
    [failed] = by(down, "stuck lineage outbox")
    assert failed.outcome == "failed" and failed.attempts == 2 and "2 still pending" in (failed.error or "")
    start()
    [flushed] = by(heal(mesh, NOW, actor=PLATFORM), "stuck lineage outbox")
    assert flushed.outcome == "healed" and flushed.result == "2 event(s) sent"
    assert governed(mesh).lineage.outbox.status().pending == 0 and len(received) == 2


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the mesh's regions and state but caches, by content (a SQLite database by
    its rows: reading one rewrites its shared-memory index and may checkpoint its log)."""
    return {str(p.relative_to(root)): _content_hash(p) for p in sorted(root.joinpath(".mesh").rglob("*"))
            if p.is_file() and "verified-reads" not in p.name and not p.name.endswith((".lock", "-shm", "-wal"))}


def _content_hash(path: Path) -> str:
    if path.suffix != ".sqlite":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def test_a_dry_run_finds_and_changes_nothing(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    _first, second = published(mesh, "sales.products"), published(mesh, "sales.products")
    flip_a_byte(Path(mesh.store().data_path("sales.products", second)))
    shutil.rmtree(Path(mesh.store("us-west").data_path("sales.products", second)).parent)
    before = snapshot(example_root)
    report = heal(mesh, NOW, dry_run=True)
    assert report.dry_run and {(a.remediation, a.outcome) for a in report.actions} == {
        ("corrupt current version", "would heal"), ("missing or corrupt replica", "would heal")}
    assert snapshot(example_root) == before


def test_only_a_holder_of_operate_dr_heals_and_a_refusal_is_audited(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    _first, second = published(mesh, "sales.products"), published(mesh, "sales.products")
    flip_a_byte(Path(mesh.store().data_path("sales.products", second)))
    with pytest.raises(PermissionDeniedError, match="operate_dr"):
        heal(mesh, NOW, actor=person("analyst@acme.example"))
    assert mesh.store().current_version("sales.products") == second, "nothing was done"
    [denied] = governed(mesh).audit.query(action="heal")
    assert denied.outcome == "denied" and denied.actor == "analyst@acme.example"


def test_counts_of_passes_add_up() -> None:
    one, two = HealCounts(found=2, healed=1, failed=1, attempts=4), HealCounts(found=1, left=1)
    assert (one + two).to_dict() == {"found": 3, "healed": 1, "failed": 1, "would_heal": 0, "breaker_open": 0,
                                     "left": 1, "attempts": 4}
    assert [r.name for r in runbook()] == ["corrupt current version", "run that died", "missing or corrupt replica",
                                           "stuck lineage outbox", "stuck alert outbox", "failed gate"]


def test_a_corrupt_only_version_is_copied_back_from_the_standby(example_root: Path) -> None:
    mesh = waiting_on(example_root, [])
    only = published(mesh, "sales.products")
    assert mesh.standby_region is not None and mesh.store(mesh.standby_region).has_version("sales.products", only)
    flip_a_byte(Path(mesh.store().data_path("sales.products", only)))
    [action] = by(heal(mesh, NOW, actor=PLATFORM, params=SMALL), "corrupt current version")
    assert action.outcome == "healed" and f"copied sales.products {only} back from" in action.result
    current = mesh.store().current("sales.products")
    assert current is not None and mesh.store().verify(current)
