"""Appends are all or nothing; a crash's torn line is set aside, not taken for tampering; damaged
files of the log give one line with the file and the fix, and never block reading data."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governance.audit import AuditEvent, AuditLog
from governance.keys import LocalKeyStore
from meshctl.cli import app

runner = CliRunner()


def event(i: int) -> AuditEvent:
    return AuditEvent(actor="alice@acme.example", action="read", target="sales.orders", outcome="allowed",
                      source="cli", details={"i": i, "pad": "x" * 200})


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"), checkpoint_every=5)


_FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from governance.audit import AuditEvent, AuditLog
    from governance.keys import LocalKeyStore
    from assets.errors import MeshError
    root = Path(sys.argv[1])
    log = AuditLog(root / "audit", LocalKeyStore(root / "keys").signing_key("audit.pem"), checkpoint_every=5)
    size = (root / "audit" / "audit.jsonl").stat().st_size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))  # the disk fills mid-line
    try:
        log.append(AuditEvent(actor="bob", action="read", target="t", outcome="allowed", source="cli",
                              details={"pad": "y" * 500}))
    except MeshError as exc:
        print(exc)
        sys.exit(3)
""")


def test_a_full_disk_leaves_no_torn_line_and_nothing_recorded(log: AuditLog, tmp_path: Path) -> None:
    for i in range(3):
        log.append(event(i))
    before = (log.folder / "audit.jsonl").read_bytes()
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3, done.stderr
    assert "could not be written" in done.stdout and "free space" in done.stdout
    assert (log.folder / "audit.jsonl").read_bytes() == before
    log.append(event(3))
    assert log.verify().ok and log.verify().records == 4


def test_a_torn_final_line_from_a_crash_is_set_aside_and_recorded(log: AuditLog) -> None:
    for i in range(7):
        log.append(event(i))
    log.seal()
    with open(log.folder / "audit.jsonl", "ab") as fh:  # what a crash mid-write leaves
        fh.write(b'{"action":"read","actor":"bob","at":"2026-')
    report = log.verify()
    assert report.ok, report.problem
    torn = list(log.folder.glob("torn-*.jsonl"))
    assert len(torn) == 1 and torn[0].read_bytes() == b'{"action":"read","actor":"bob","at":"2026-'
    last = list(log.records())[-1]
    assert last.action == "audit_torn_line" and last.details["file"] == torn[0].name
    log.append(event(8))
    assert log.verify().ok and log.verify().records == 9


def test_a_cut_line_a_signed_head_covered_is_tampering(log: AuditLog) -> None:
    for i in range(5):
        log.append(event(i))  # checkpoint at 5
    path = log.folder / "audit.jsonl"
    path.write_bytes(path.read_bytes()[:-10])
    report = log.verify()
    assert not report.ok and "tampered" in (report.problem or "")
    assert not list(log.folder.glob("torn-*.jsonl"))


@pytest.mark.parametrize(("name", "garbage", "message"), [
    ("checkpoints.jsonl", b"not json\n", "line 1 of checkpoints.jsonl is not a signed tree head"),
    ("audit.ed25519.pub", b"garbage", "audit.ed25519.pub is not an Ed25519 public key"),
    ("audit.ed25519.pub",  # a key on secp112r1: UnsupportedAlgorithm, which is no ValueError
     b"-----BEGIN PUBLIC KEY-----\nMDIwEAYHKoZIzj0CAQYFK4EEAAYDHgAEqHxFm/hquLT9oJtGW0iSPhOzli48UosG\n"
     b"v2B5Ew==\n-----END PUBLIC KEY-----\n",
     "audit.ed25519.pub is not an Ed25519 public key (PEM): not an Ed25519 key (Curve 1.3.132.0.6 is not supported)"),
])
def test_a_damaged_file_of_the_log_is_one_line_naming_it(used_root: Path, name: str, garbage: bytes,
                                                         message: str) -> None:
    (used_root / ".mesh" / "audit" / name).write_bytes(garbage)
    result = runner.invoke(app, ["audit", "verify", "--root", str(used_root)])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output
    assert str(used_root / ".mesh" / "audit" / name) in result.stderr.replace("\n", "")


@pytest.fixture
def used_root(example_root: Path) -> Path:
    assert runner.invoke(app, ["materialize", "finance.fx_rates", "--root", str(example_root)]).exit_code == 0
    return example_root


def test_garbage_in_head_json_does_not_block_reading_or_materializing(used_root: Path) -> None:
    (used_root / ".mesh" / "audit" / "head.json").write_bytes(b"\x00garbage{")
    read = runner.invoke(app, ["read", "finance.fx_rates", "--root", str(used_root), "--as", "council@acme.example"])
    assert read.exit_code == 0, read.output
    assert runner.invoke(app, ["materialize", "finance.fx_rates", "--root", str(used_root)]).exit_code == 0
    verified = runner.invoke(app, ["audit", "verify", "--root", str(used_root)])
    assert verified.exit_code == 0, verified.output


def test_a_damaged_signing_key_is_one_line_and_data_is_still_read(used_root: Path) -> None:
    key = used_root / ".mesh" / "keys" / "audit.ed25519.pem"
    key.write_bytes(b"garbage")
    read = runner.invoke(app, ["read", "finance.fx_rates", "--root", str(used_root), "--as", "council@acme.example"])
    assert read.exit_code == 0, read.output
    result = runner.invoke(app, ["audit", "checkpoint", "--root", str(used_root), "--as", "council@acme.example"])
    assert result.exit_code == 1 and "is not a PEM private key" in result.stderr and str(key) in result.stderr
    assert "Traceback" not in result.output


def test_a_batch_is_chained_record_by_record(log: AuditLog) -> None:
    records = log.append_many([event(i) for i in range(12)])
    assert [r.seq for r in records] == list(range(12)) and records[1].prev == records[0].hash
    report = log.verify()
    assert report.ok and report.records == 12, report.problem


def test_a_head_cache_torn_into_other_valid_json_is_rebuilt_not_trusted(log: AuditLog) -> None:
    log.append_many([event(i) for i in range(3)])
    head = log.storage.folder / "head.json"  # type: ignore[attr-defined]
    raw = head.read_bytes()
    forged = raw.replace(b'"count": 3', b'"count": 7', 1)  # still JSON, the length unchanged: a torn page
    assert forged != raw
    head.write_bytes(forged)
    assert log.storage.head() is None
    record = log.append(event(3))
    assert record.seq == 3 and log.verify().ok
    assert log.storage.head() is not None and b'"count": 4' in head.read_bytes()


def test_a_shorter_head_cache_overwrites_the_longer_one_whole(log: AuditLog) -> None:
    log.append(event(0))
    log.storage.save_head(b'{"long": "' + b"x" * 500 + b'"}')
    log.storage.save_head(b'{"short": 1}')
    assert log.storage.head() == b'{"short": 1}'
