"""The audit log's witness in a bucket with S3 Object Lock: each signed head is also its own
object, which nobody may delete or overwrite in compliance mode, so a writer that rewrites the
log and the witness's heads.jsonl together cannot take back what was witnessed. Against a real
S3 API (moto's server), which enforces the lock."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
import s3fs
from typer.testing import CliRunner

from assets.storage import StorageRoot
from assets.storage.object_lock import Retention, object_lock_retention
from governance.audit.witness import RegionWitness
from meshctl.cli import app
from tests.s3 import point_s3_at, standby_on_s3

runner = CliRunner()


def mesh(root: Path, *args: str):
    return runner.invoke(app, [*args, "--root", str(root)])


def locked_bucket(mode: str | None) -> str:
    """A new versioned bucket with Object Lock, and a default retention in ``mode`` (none if None)."""
    bucket = f"mesh-lock-{uuid.uuid4().hex[:10]}"
    fs = s3fs.S3FileSystem()
    fs.call_s3("create_bucket", Bucket=bucket, ObjectLockEnabledForBucket=True)
    if mode is not None:
        fs.call_s3("put_object_lock_configuration", Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, "Days": 30}}})
    return bucket


@pytest.fixture
def locked_standby(example_root: Path, s3_server: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The example mesh, its standby region in a compliance-locked bucket, after one materialization."""
    point_s3_at(monkeypatch, s3_server)
    bucket = locked_bucket("COMPLIANCE")
    standby_on_s3(example_root, bucket)
    done = mesh(example_root, "materialize", "finance.fx_rates")
    assert done.exit_code == 0, done.output
    return example_root, bucket


def test_a_log_started_again_is_caught_by_the_locked_head_objects(locked_standby: tuple[Path, str]) -> None:
    root, bucket = locked_standby
    fs = s3fs.S3FileSystem()
    folder = f"{bucket}/us-west/_witness/audit/heads.d"
    assert len(fs.ls(folder)) >= 1 and not fs.exists(f"{bucket}/us-west/_witness/audit/heads.jsonl")
    # the writer starts the log again and deletes what the witness holds
    shutil.rmtree(root / ".mesh" / "audit")
    for objects in fs.ls(folder):
        fs.rm(objects)  # only delete markers: the locked versions stay
    fs.invalidate_cache()
    assert not fs.find(folder)
    versions = fs.call_s3("list_object_versions", Bucket=bucket, Prefix="us-west/_witness/audit/heads.d/")
    with pytest.raises(PermissionError):  # and the versions themselves cannot go
        first = versions["Versions"][0]
        fs.call_s3("delete_object", Bucket=bucket, Key=first["Key"], VersionId=first["VersionId"])
    assert mesh(root, "materialize", "finance.fx_rates").exit_code == 0  # a new log, sealed and witnessed
    result = mesh(root, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert "witness in us-west" in result.stderr and "records" in result.stderr


def test_each_head_is_its_own_object_and_a_checked_one_is_not_read_again(locked_standby: tuple[Path, str]) -> None:
    """A bucket has no append: a heads.jsonl rewritten whole at every seal grew without end."""
    root, bucket = locked_standby
    fs = s3fs.S3FileSystem()
    before = len(fs.ls(f"{bucket}/us-west/_witness/audit/heads.d"))
    assert mesh(root, "materialize", "finance.fx_rates").exit_code == 0
    names = [p.rsplit("/", 1)[-1] for p in fs.ls(f"{bucket}/us-west/_witness/audit/heads.d", refresh=True)]
    assert len(names) > before
    checkpoints = [json.loads(line) for line in (root / ".mesh" / "audit" / "checkpoints.jsonl").read_text().splitlines()]
    assert {(int(n.split("-")[0]), n.split("-")[1]) for n in names} <= {(c["size"], c["root"]) for c in checkpoints}
    witness = RegionWitness("us-west", StorageRoot(f"s3://{bucket}/us-west"))
    claims = {(c["size"], c["root"]): c for c in checkpoints}
    assert all(any(h is c for c in checkpoints) for h in witness.heads(claims))  # none read
    assert sorted(h["size"] for h in witness.heads()) == sorted(c["size"] for c in checkpoints
                                                              if (c["size"], c["root"]) in
                                                              {(int(n.split("-")[0]), n.split("-")[1]) for n in names})


def test_verify_says_how_each_witness_keeps_the_heads(locked_standby: tuple[Path, str]) -> None:
    root, _ = locked_standby
    result = mesh(root, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "witness in us-west: write-once (S3 Object Lock, compliance mode, 30 days)" in result.stdout


def test_a_folder_or_a_bucket_without_a_default_retention_is_said_to_be_rewritable(
        example_root: Path, s3_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mesh(example_root, "materialize", "finance.fx_rates").exit_code == 0
    result = mesh(example_root, "audit", "verify")
    assert result.exit_code == 0 and "witness in us-west: rewritable" in result.stdout, result.output
    point_s3_at(monkeypatch, s3_server)
    assert object_lock_retention(StorageRoot(f"s3://{locked_bucket(None)}/us-west")) is None
    assert object_lock_retention(StorageRoot(f"s3://{locked_bucket('GOVERNANCE')}/x")) == Retention("GOVERNANCE", 30)
    assert not Retention("GOVERNANCE", 30).binding and Retention("COMPLIANCE", 1).binding
    with pytest.raises(ValueError, match="not an Object Lock retention"):
        Retention("LEGAL", 30)
