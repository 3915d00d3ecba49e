"""The audit log: hash chain, signed RFC 6962 checkpoints, tamper detection, concurrent writers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assets import Mesh, materialize
from governance.audit import AuditEvent, AuditLog
from governance.audit.log import encode_line
from governance.audit.merkle import leaf_hash, node_hash, tree_head
from governance.audit.storage import MAX_RECORD_BYTES, AuditError
from governance.keys import KeyError_, LocalKeyStore
from governance.services import governed
from governance.wiring import load_mesh
from meshctl.cli import app


def reference_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written as the RFC defines it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(reference_mth(leaves[:k]), reference_mth(leaves[k:]))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_incremental_tree_head_matches_rfc_6962(n: int) -> None:
    leaves = [f"leaf-{i}".encode() for i in range(n)]
    assert tree_head(leaves) == reference_mth(leaves)


def event(i: int, actor: str = "alice@acme.example") -> AuditEvent:
    return AuditEvent(actor=actor, action="read", target="sales.orders", outcome="allowed", source="cli",
                      details={"i": i})


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"), checkpoint_every=5)


def filled(log: AuditLog, n: int = 12) -> list[str]:
    for i in range(n):
        log.append(event(i))
    return (log.folder / "audit.jsonl").read_text().splitlines(keepends=True)


def test_a_record_larger_than_any_line_a_reader_takes_is_refused_and_nothing_is_written(log: AuditLog) -> None:
    """Readers stop at a line of more than MAX_RECORD_BYTES (a 10 GB line is never read whole),
    so an append refuses such a record, with the rest of its batch, instead of writing a log that
    no reader could read back."""
    filled(log, 3)
    before = (log.folder / "audit.jsonl").read_bytes()
    huge = AuditEvent(actor="x", action="materialize", target="sales.orders", outcome="ok", source="test",
                      details={"blob": "a" * MAX_RECORD_BYTES})
    with pytest.raises(AuditError, match=r"sales\.orders would take .* bytes, more than the .*nothing was recorded"):
        log.append_many([event(3), huge])
    assert (log.folder / "audit.jsonl").read_bytes() == before
    log.append(event(3))
    assert log.verify().ok and [r.seq for r in log.records()] == [0, 1, 2, 3]


def test_an_untouched_log_verifies_with_its_checkpoints(log: AuditLog) -> None:
    filled(log)
    report = log.verify()
    assert report.ok and report.records == 12 and report.checkpoints == 2
    records = list(log.records())
    assert [r.seq for r in records] == list(range(12)) and records[1].prev == records[0].hash
    for field in ("actor", "action", "target", "outcome", "source", "where", "at"):
        assert getattr(records[0], field), field


def rewrite(log: AuditLog, lines: list[str]) -> None:
    (log.folder / "audit.jsonl").write_text("".join(lines))


@pytest.mark.parametrize(("tamper", "message"), [
    pytest.param(lambda ls: ls[:3] + [ls[3].replace('"allowed"', '"denied"')] + ls[4:],
                 "record 3 at line 4 was modified", id="modified"),
    pytest.param(lambda ls: ls[:6] + [ls[5]] + ls[6:], "the chain breaks at line 7", id="inserted"),
    pytest.param(lambda ls: ls[:4] + ls[5:], "the chain breaks at line 5", id="deleted"),
    pytest.param(lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:], "the chain breaks at line 3", id="reordered"),
    pytest.param(lambda ls: ls[:8], "truncated: checkpoint 1 covers 10 records, the log has 8", id="truncated"),
    pytest.param(lambda ls: ls[:11], "truncated: 12 records were written, 11 remain", id="truncated-tail"),
])
def test_tampering_is_detected_and_the_first_bad_record_named(log: AuditLog, tamper, message: str) -> None:
    rewrite(log, tamper(filled(log)))
    report = log.verify()
    assert not report.ok
    assert message in (report.problem or "")


@pytest.mark.parametrize("line", ["garbage\n", '{"action":"materialize", broken\n', '{"action":"read"}\n',
                                  '{"at":"\udcff"}\n', "[1, 2]\n"],
                         ids=["not json", "cut json", "missing fields", "lone surrogate", "not an object"])
def test_reading_a_line_that_is_not_a_record_names_it_not_a_traceback(log: AuditLog, line: str) -> None:
    lines = filled(log, 3)
    (log.folder / "audit.jsonl").write_bytes("".join([*lines[:2], line, lines[2]]).encode("utf-8", "surrogateescape"))
    with pytest.raises(AuditError, match="line 3 of the audit log is not a valid audit record") as damaged:
        list(log.records())
    assert damaged.value.where.endswith("audit.jsonl") and "mesh audit verify" in damaged.value.fix


def rehashed(line: str, after: str, **fields: Any) -> str:
    """``line`` with ``fields`` changed and its hash computed again, chained after the record whose
    hash is ``after``: what someone who edits the log by hand and knows its format writes."""
    body = json.loads(line)
    body.pop("hash")
    return encode_line({**body, "prev": after, **fields})[0].decode()


_WRONG_TYPES = [
    pytest.param("details", 5, id="details-a-number"),
    pytest.param("details", ["rows", 1], id="details-a-list"),
    pytest.param("details", None, id="details-null"),
    pytest.param("actor", ["alice@acme.example"], id="actor-a-list"),
    pytest.param("action", 7, id="action-a-number"),
    pytest.param("target", {"key": "sales.orders"}, id="target-an-object"),
    pytest.param("outcome", True, id="outcome-a-bool"),
    pytest.param("source", None, id="source-null"),
    pytest.param("where", 1.5, id="where-a-float"),
    pytest.param("at", "yesterday", id="at-not-a-time"),
    pytest.param("at", "2026-11-29T10:00:00", id="at-without-offset"),
    pytest.param("at", 1764410400, id="at-a-number"),
    pytest.param("seq", "2", id="seq-text"),
    pytest.param("seq", True, id="seq-a-bool"),
    pytest.param("prev", 5, id="prev-a-number"),
]


@pytest.mark.parametrize(("field", "value"), _WRONG_TYPES)
def test_a_rehashed_record_with_a_field_of_the_wrong_type_is_a_damaged_line(log: AuditLog, field: str,
                                                                            value: Any) -> None:
    """A hand-edited record whose hash and chain were computed again is read like a line that is not
    JSON: the reader names the file, the line and the fix; verification names the line too."""
    lines = filled(log, 3)
    prev = json.loads(lines[1])["hash"]
    rewrite(log, [*lines[:2], rehashed(lines[2], prev, **{field: value})])
    with pytest.raises(AuditError, match="line 3 of the audit log is not a valid audit record") as damaged:
        list(log.records())
    assert damaged.value.where.endswith("audit.jsonl") and "mesh audit verify" in damaged.value.fix
    with pytest.raises(AuditError, match="line 3 of the audit log"):
        list(log.records_of("read")) if field != "action" else list(log.query(actor="alice@acme.example"))
    report = log.verify()
    assert not report.ok and "at line 3 is not a valid audit record" in (report.problem or "")
    assert field in (report.problem or "") or field in ("prev", "seq")  # the chain fields break the chain first


def test_a_rehashed_record_of_valid_types_still_reads(log: AuditLog) -> None:
    """Validation refuses wrong types, not unusual values: any text, any mapping of details."""
    lines = filled(log, 3)
    prev = json.loads(lines[1])["hash"]
    rewrite(log, [*lines[:2], rehashed(lines[2], prev, actor="", details={"nested": [1, {"x": None}]},
                                       at="2026-11-29T10:00:00Z")])
    assert [r.actor for r in log.records()][-1] == "" and log.verify().ok


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=6)
_FIELDS = ("seq", "at", "actor", "action", "target", "outcome", "source", "where", "details", "prev", "hash")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(field=st.sampled_from(_FIELDS), value=_JSON)
def test_any_json_value_in_any_field_is_read_or_named_never_a_traceback(log: AuditLog, field: str,
                                                                        value: Any) -> None:
    """Whatever JSON a hand edit puts in a field of the last record (hash and chain computed again,
    or the hash itself replaced), reading the log yields records or raises the one error naming
    line 3; querying does the same; verification returns a report, and fails whenever reading does."""
    if not (log.folder / "audit.jsonl").exists():
        filled(log, 3)
    lines = (log.folder / "audit.jsonl").read_text().splitlines(keepends=True)[:3]
    original = [*lines[:2], rehashed(lines[2], json.loads(lines[1])["hash"])]
    if field == "hash":
        body = json.loads(original[2])
        edited = json.dumps({**body, "hash": value}) + "\n"
    else:
        edited = rehashed(original[2], json.loads(lines[1])["hash"], **{field: value})
    rewrite(log, [*original[:2], edited])
    try:
        records = list(log.records())
    except AuditError as damaged:
        assert "line 3 of the audit log is not a valid audit record" in str(damaged)
        assert damaged.where.endswith("audit.jsonl") and damaged.fix
        readable = False
    else:  # what the reports rely on: each field of its type
        last = records[-1]
        assert len(records) == 3 and isinstance(last.details, Mapping) and isinstance(last.seq, int)
        assert all(isinstance(getattr(last, name), str) for name in _FIELDS if name not in ("seq", "details"))
        assert dt.datetime.fromisoformat(last.at).tzinfo is not None
        readable = True
    try:
        log.query(actor="alice@acme.example", since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    except AuditError as damaged:
        assert not readable and "line 3" in str(damaged)
    report = log.verify()
    if not readable:
        assert not report.ok and "line 3" in (report.problem or ""), report
    elif field not in ("seq", "prev", "hash"):  # those three are the chain's: a new value breaks it
        assert report.ok, report


def test_a_rewritten_chain_does_not_match_the_signed_checkpoints(log: AuditLog, tmp_path: Path) -> None:
    """Rehashing every record after an edit keeps the chain valid, but not the signed tree heads."""
    lines = filled(log)
    forged, prev = [], "0" * 64
    for line in lines:
        data = json.loads(line)
        data.pop("hash")
        data["prev"] = prev
        if data["seq"] == 2:
            data["outcome"] = "denied"
        encoded, prev = encode_line(data)
        forged.append(encoded.decode())
    rewrite(log, forged)
    assert "do not match signed checkpoint 0" in (log.verify().problem or "")


def test_a_forged_checkpoint_signature_is_detected(log: AuditLog) -> None:
    filled(log)
    path = log.folder / "checkpoints.jsonl"
    first = json.loads(path.read_text().splitlines()[0])
    first["signature"] = "00" * 64
    path.write_text(json.dumps(first) + "\n")
    assert "checkpoint 0 (size 5) has an invalid signature" in (log.verify().problem or "")


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from governance.audit import AuditEvent, AuditLog
    from governance.keys import LocalKeyStore
    root = Path(sys.argv[1])
    log = AuditLog(root / "audit", LocalKeyStore(root / "keys").signing_key("audit.pem"), checkpoint_every=50)
    for i in range(150):
        log.append(AuditEvent(actor=sys.argv[2], action="read", target="sales.orders", outcome="allowed",
                              source="cli", details={"i": i}))
""")


def test_two_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    LocalKeyStore(tmp_path / "keys").signing_key("audit.pem")
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), f"writer-{n}"]) for n in (1, 2)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    log = AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"))
    report = log.verify()
    assert report.ok and report.records == 300 and report.checkpoints == 6
    per_actor = [len(log.query(actor=f"writer-{n}")) for n in (1, 2)]
    assert per_actor == [150, 150]


def test_two_logs_on_one_folder_see_each_others_appends_and_heads(log: AuditLog, tmp_path: Path) -> None:
    """A log keeps the head it last read or saved (not parsed again while the stored head is the
    same): another writer's append, or its signed head, is still seen at once."""
    other = AuditLog(tmp_path / "audit", LocalKeyStore(tmp_path / "keys").signing_key("audit.pem"), checkpoint_every=5)
    for i in range(7):
        (log if i % 2 else other).append(event(i))
    assert other.checkpoint()["size"] == 7
    assert log.seal() is None  # the other's signed head of all 7 is seen: nothing to sign
    log.append(event(7))
    assert log.seal() is not None
    report = log.verify()
    assert report.ok and report.records == 8
    assert [r.seq for r in log.query()] == list(range(8))


def test_a_key_file_others_can_read_is_refused_without_showing_the_key(tmp_path: Path) -> None:
    store = LocalKeyStore(tmp_path / "keys")
    store.signing_key("audit.pem")
    secret = (tmp_path / "keys" / "audit.pem").read_bytes()
    os.chmod(tmp_path / "keys" / "audit.pem", 0o644)
    with pytest.raises(KeyError_) as caught:
        store.signing_key("audit.pem")
    assert "readable by group or others" in str(caught.value) and "chmod 600" in str(caught.value)
    assert secret.decode() not in str(caught.value)
    with pytest.raises(KeyError_, match="key 'missing.pem' does not exist"):
        store.read_secret("missing.pem")


def test_every_materialization_and_gate_failure_is_audited(example_mesh: Mesh) -> None:
    materialize("finance.fx_rates", mesh=example_mesh)
    materialize("finance.fx_rates", mesh=example_mesh, params={"inject_bad_rows": True})
    log = governed(example_mesh).audit
    records = log.query(target="finance.fx_rates", action="materialize")
    assert [r.outcome for r in records] == ["materialized", "gate_failed"]
    assert records[0].actor == "service:finance" and records[0].source == "engine" and records[0].details["version"]
    assert "rate_to_usd:in_range(0.001, 10.0)" in records[1].details["failed_checks"]
    assert log.verify().ok


def test_mesh_audit_verify_names_the_first_bad_record(example_root: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["materialize", "+finance.revenue", "--scale", "100", "--root", str(example_root)]).exit_code == 0
    path = example_root / ".mesh" / "audit" / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    ok = runner.invoke(app, ["audit", "verify", "--root", str(example_root)])
    assert ok.exit_code == 0 and f"{len(lines)} records checked by the block roots" in ok.stdout
    path.write_text(lines[0] + lines[1].replace("service:", "service-x:") + "".join(lines[2:]))
    bad = runner.invoke(app, ["audit", "verify", "--root", str(example_root)])
    assert bad.exit_code == 1 and "record 1 at line 2 was modified" in bad.stderr
    found = runner.invoke(app, ["audit", "query", "--asset", "finance", "--action", "materialize", "--json", "--as", "council@acme.example",
                                "--root", str(example_root)])
    assert [r["target"] for r in json.loads(found.stdout)] == ["finance.fx_rates", "finance.revenue"]


def test_mesh_audit_query_prints_key_paths_verbatim(example_root: Path) -> None:
    mesh = load_mesh(example_root)
    governed(mesh).audit.append(AuditEvent(actor="council@acme.example", action="policy_edit",
                                                   target="[domains.sales]", outcome="ok", source="cli",
                                                   where="mesh.toml [domains.sales].owners"))
    result = CliRunner().invoke(app, ["audit", "query", "--action", "policy_edit", "--root", str(example_root),
                                      "--as", "council@acme.example"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "[domains.sales].owners" in result.stdout and "[domains.sales]" in result.stdout


def test_a_key_in_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    store = LocalKeyStore(tmp_path / "keys")
    store.signing_key("audit.pem")
    os.chmod(tmp_path / "keys", 0o777)
    with pytest.raises(KeyError_, match=r"folder of key 'audit.pem' is writable by group or others \(mode 0o777\)"):
        store.signing_key("audit.pem")
    os.chmod(tmp_path / "keys", 0o700)
    assert store.signing_key("audit.pem")
