"""A publish or a rollback whose audit record cannot be written takes no effect: ``CURRENT`` is
put back as it was and the run (or the rollback) is an error naming the audit log and the fix.

The audit log really cannot grow: the run is a subprocess whose files may not grow past the audit
log's size plus a few bytes (RLIMIT_FSIZE, as ``prlimit --fsize``; the write fails with EFBIG as
on a full disk). The log is padded with real records first, so that it is the one file that
large: the data, manifests and run history are written as usual.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assets import materialize
from assets.backfill import backfill
from assets.step import _unrecorded
from governance.audit import AuditEvent
from governance.runs.records import run_records
from governance.services import governed
from governance.wiring import load_mesh
_NO_ROOM_FOR_AUDIT = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from assets.step import run_asset
    from governance.rollback import rollback
    from governance.services import governed
    from governance.wiring import load_mesh
    from tests.conftest import person
    root, what, key, arg = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] or None
    mesh = load_mesh(root)
    audit = governed(mesh).audit
    size = (root / ".mesh" / "audit" / "audit.jsonl").stat().st_size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))  # the record does not fit
    if what == "materialize":
        print(json.dumps(run_asset(mesh, key, run_id="full-audit", partition=arg).to_dict()))
    else:
        try:
            rollback(mesh, key, arg, audit, actor=person("sales-data@acme.example"))
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
""")


def _without_room_for_audit(root: Path, what: str, key: str, arg: str | None = None) -> dict[str, Any]:
    """Run ``what`` (materialize, rollback) on ``key`` in a process that cannot grow the audit log."""
    pad = governed(load_mesh(root)).audit
    pad.append_many([AuditEvent(actor="test", action="pad", target=key, outcome="ok", source="cli",
                                details={"pad": "x" * 2000}) for _ in range(400)])  # ~1 MB: the largest file
    done = subprocess.run([sys.executable, "-c", _NO_ROOM_FOR_AUDIT, str(root), what, key, arg or ""],
                          capture_output=True, text=True, timeout=300, check=False, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _audited_versions(root: Path, action: str) -> list[Any]:
    return [r.details.get("version") or r.details.get("to") for r in governed(load_mesh(root)).audit.query(action=action)]


def test_a_publish_whose_audit_record_cannot_be_written_is_withdrawn(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None
    result = _without_room_for_audit(example_root, "materialize", "sales.products")
    assert result["status"] == "error" and result["version"] is None, result
    error = result["error"]
    assert "the audit record of this run could not be written" in error and "was withdrawn" in error, error
    assert f"CURRENT is back at {first.version}" in error and "audit.jsonl" in error, error
    assert "Fix: free space on that disk" in error, error
    after = load_mesh(example_root)
    assert after.store().current_version("sales.products") == first.version, "CURRENT moved back"
    assert after.store().versions("sales.products") == [first.version], "the withdrawn version is gone"
    assert _audited_versions(example_root, "materialize") == [first.version]
    [run] = [r for r in run_records(after).for_asset("sales.products") if r.run_id == "full-audit"]
    assert run.status == "error" and run.ended_at is not None and run.version is None, "the run history has its end"
    assert "could not be written" in (run.error or ""), run.error


def test_a_first_publish_whose_audit_record_cannot_be_written_leaves_no_current(example_root: Path) -> None:
    result = _without_room_for_audit(example_root, "materialize", "sales.products")
    assert result["status"] == "error" and "CURRENT is back at no version" in result["error"], result
    store = load_mesh(example_root).store()
    assert store.current_version("sales.products") is None and store.versions("sales.products") == []


def test_a_partitions_publish_whose_audit_record_cannot_be_written_is_withdrawn_from_that_partition(
        example_root: Path) -> None:
    mesh = load_mesh(example_root)
    assert backfill("sales.daily_orders", first="2026-11-16", last="2026-11-17", mesh=mesh).ok
    store = mesh.store()
    before = {day: store.current_version("sales.daily_orders", day) for day in ("2026-11-16", "2026-11-17")}
    result = _without_room_for_audit(example_root, "materialize", "sales.daily_orders", "2026-11-17")
    assert result["status"] == "error" and result["partition"] == "2026-11-17", result
    assert f"CURRENT is back at {before['2026-11-17']}" in result["error"], result
    store = load_mesh(example_root).store()
    assert {day: store.current_version("sales.daily_orders", day) for day in before} == before
    assert store.versions("sales.daily_orders", "2026-11-17") == [before["2026-11-17"]]


def test_a_rollback_whose_audit_record_cannot_be_written_is_undone(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    second = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None and second is not None
    result = _without_room_for_audit(example_root, "rollback", "sales.products", first.version)
    error = result["error"]
    assert error.startswith("RollbackRefusedError") and "audit.jsonl" in error, error
    assert "was undone, as its audit record could not be written" in error, error
    assert f"CURRENT names {second.version} again" in error and "Fix: free space on that disk" in error, error
    after = load_mesh(example_root)
    assert after.store().current_version("sales.products") == second.version
    assert after.standby_region is not None
    assert after.store(after.standby_region).current_version("sales.products") == second.version, "standby as it was"
    assert not [r for r in governed(after).audit.query(action="rollback") if r.outcome == "rolled back"]
    report = governed(after).audit.verify()
    assert report.ok, report.problem


def test_withdrawing_leaves_a_current_that_moved_on_and_removes_the_version(example_root: Path) -> None:
    """A newer publish that moved CURRENT past the withdrawn version stays current."""
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    second = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first is not None and second is not None
    store = mesh.store()
    assert store.withdraw("sales.products", first.version, None)
    assert store.current_version("sales.products") == second.version
    assert store.versions("sales.products") == [second.version]
    store.reset_current("sales.products", None, only_from=first.version)  # not what CURRENT names: no change
    assert store.current_version("sales.products") == second.version


def test_a_retry_whose_audit_record_cannot_be_written_is_not_tried(fixture_mesh: Callable[[str], Path]) -> None:
    """A transient failure is retried only once the retry is audited: without room, the run
    stops after its first attempt, an error that says why, its end in the run history."""
    root = fixture_mesh("flaky")
    result = _without_room_for_audit(root, "materialize", "alpha.flaky")
    assert result["status"] == "error" and result["attempts"] == 1, result
    assert "503" in result["error"] and "not tried again, as the audit record of the retry could not be written" \
        in result["error"] and "nothing was published" in result["error"], result["error"]
    assert (root / "flaky.calls").read_text() == "1", "not tried again"
    mesh = load_mesh(root)
    assert mesh.store().current_version("alpha.flaky") is None
    [run] = [r for r in run_records(mesh).for_asset("alpha.flaky") if r.run_id == "full-audit"]
    assert run.status == "error" and run.ended_at is not None


def test_the_withdrawal_message_names_the_newer_current_another_run_published(example_root: Path) -> None:
    """A run's version withdrawn after another run published a newer one: the error names what
    CURRENT names (the newer version), not the version the withdrawn one replaced."""
    mesh = load_mesh(example_root)
    first = materialize("sales.products", mesh=mesh)["sales.products"]
    second = materialize("sales.products", mesh=mesh)["sales.products"].manifest
    assert first.manifest is not None and second is not None and first.replaced is None
    error = _unrecorded(mesh.store(), first, OSError("no room for the record"))
    assert f"its version {first.manifest.version} was withdrawn" in error, error
    assert f"CURRENT names {second.version}, published by another run meanwhile" in error, error
    assert "back at no version" not in error, error
    assert mesh.store().current_version("sales.products") == second.version
