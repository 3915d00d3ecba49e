"""Partitioned assets in the standby region: `mesh dr replicate` (with and without ``--verify``)
and the self-healing runbook cover every partition, each on its own, as `mesh dr status` and
each publish do, and failback catches the primary up on them. Before, the sweep looked for a
partitioned asset's versions in the asset's own folder (the DR commands load no domain code),
found none (they live in its partitions' folders) and said ``0 copied, 0 repaired, 0 already
there`` or ``nothing to heal`` while `mesh dr status` reported the partition behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from assets.backfill import backfill
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app
from tests.assets.test_verified_reads import flip_a_byte

DAYS = ["2026-11-16", "2026-11-17", "2026-11-18"]  # one week: sales.weekly_orders has one partition
LOST = DAYS[1]
DAILY = "sales.daily_orders"
OPERATOR = "platform@acme.example"


def _backfilled(root: Path) -> str:
    """Backfill three days of ``sales.daily_orders`` (and its week); the version of :data:`LOST`."""
    mesh = load_mesh(root)
    assert backfill(f"{DAILY}+", mesh=mesh, first=DAYS[0], last=DAYS[-1]).ok
    version = mesh.store().current_version(DAILY, LOST)
    assert version is not None and mesh.store("us-west").has_version(DAILY, version, LOST), "replicated on publish"
    return version


def _standby_version(root: Path, version: str) -> Path:
    return Path(load_mesh(root).store("us-west").data_path(DAILY, version, LOST)).parent


def _mesh(root: Path, *args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, [*args, "--root", str(root)], terminal_width=400)
    assert "Traceback" not in done.stderr, done.stderr
    return done.exit_code, " ".join((done.stdout + done.stderr).split())


def _lag(root: Path, *args: str) -> dict[str, dict[str, object]]:
    code, out = _mesh(root, "dr", "status", "--json", *args)
    report = json.loads(out)
    assert code == 0 and report["ready"] is True, out
    return {a["key"]: a for a in report["assets"]}


def test_replicate_copies_a_partitions_version_missing_from_the_standby_back(example_root: Path) -> None:
    version = _backfilled(example_root)
    shutil.rmtree(_standby_version(example_root, version))
    code, out = _mesh(example_root, "dr", "status")
    assert f"{DAILY}/{LOST} │ behind │ 1" in out and "not ready" in out
    code, out = _mesh(example_root, "dr", "replicate")
    assert code == 0, out
    assert f"{DAILY}: us-east -> us-west: 1 copied, 0 repaired, 2 already there" in out
    assert f"in 3 partitions; copied: {DAILY}/{LOST}" in out
    assert _lag(example_root)[f"{DAILY}/{LOST}"]["state"] == "in sync"
    [copy] = governed(load_mesh(example_root)).audit.query(action="replicate", actor="operator")
    assert (copy.target, copy.outcome, copy.details["version"], copy.details["partition"]) == \
        (DAILY, "copied", version, LOST)


def test_replicate_verify_repairs_a_corrupt_partition_replica(example_root: Path) -> None:
    version = _backfilled(example_root)
    flip_a_byte(Path(load_mesh(example_root).store("us-west").data_path(DAILY, version, LOST)))
    assert _mesh(example_root, "dr", "status", "--verify")[0] == 1, "the corrupt replica is reported"
    code, out = _mesh(example_root, "dr", "replicate")
    assert code == 0 and f"{DAILY}: us-east -> us-west: 0 copied, 0 repaired, 3 already there" in out, \
        "without --verify a replica present is not hashed again"
    code, out = _mesh(example_root, "dr", "replicate", "--verify")
    assert code == 0, out
    assert f"{DAILY}: us-east -> us-west: 0 copied, 1 repaired, 2 already there" in out
    assert f"in 3 partitions; repaired: {DAILY}/{LOST}" in out
    assert _lag(example_root, "--verify")[f"{DAILY}/{LOST}"]["state"] == "in sync"


def test_the_runbook_copies_a_partitions_missing_replica_again(example_root: Path) -> None:
    version = _backfilled(example_root)
    shutil.rmtree(_standby_version(example_root, version))
    code, out = _mesh(example_root, "ops", "heal", "--as", OPERATOR)
    assert code == 0, out
    assert "nothing to heal" not in out and f"{DAILY}/{LOST}" in out and "1 version(s) missing" in out
    assert f"{DAILY}/{LOST}: us-east -> us-west: 1 copied, 0 repaired, 0 already there" in out
    assert _lag(example_root)[f"{DAILY}/{LOST}"]["state"] == "in sync"
    [copy] = governed(load_mesh(example_root)).audit.query(action="replicate", actor=OPERATOR)
    assert (copy.outcome, copy.details["version"], copy.details["partition"]) == ("copied", version, LOST)
    code, out = _mesh(example_root, "ops", "heal", "--as", OPERATOR)
    assert code == 0 and "nothing to heal" in out


def test_a_healthy_partitioned_asset_counts_its_partitions_versions_as_already_there(example_root: Path) -> None:
    _backfilled(example_root)
    code, out = _mesh(example_root, "dr", "replicate", "--verify")
    assert code == 0, out
    assert f"{DAILY}: us-east -> us-west: 0 copied, 0 repaired, 3 already there (0 bytes) in 3 partitions" in out
    assert "sales.weekly_orders/2026-11-16-W47: us-east -> us-west: 0 copied, 0 repaired, 1 already there" in out


def test_failback_copies_a_partitions_version_missing_from_the_primary_back_first(example_root: Path) -> None:
    """Failback catches the primary up with the same sweep: it refused before, the partition's
    version "not replicated to us-east", since the sweep copied no partition back."""
    version = _backfilled(example_root)
    code, out = _mesh(example_root, "dr", "failover", "--to", "us-west", "--as", OPERATOR)
    assert code == 0, out
    shutil.rmtree(Path(load_mesh(example_root).store("us-east").data_path(DAILY, version, LOST)).parent)
    code, out = _mesh(example_root, "dr", "failback", "--as", OPERATOR)
    assert code == 0, out
    assert "active region is now us-east" in out and "1 version(s) copied back first" in out
    assert load_mesh(example_root).store("us-east").has_version(DAILY, version, LOST)
