"""The revoked set's scan of the audit log starts from a signed mark and reads only the log's new
tail, yet every attack on the revoked set is still refused: a row deleted from `revoked_grants`,
a mark edited, forged, replaced by an older one or of garbage bytes, the log rewritten under the
mark. And a revoked set read in a long-running process expires, so a revocation recorded
elsewhere counts there. Each on the folder store and on a `[state] url` database."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from typer.testing import CliRunner

from governance.access import active_grant
from governance.access import revocations
from governance.access.revocations import MARK, forget_revocations, revocations as revoked_set
from governance.audit import AuditEvent, AuditLog, audit_log_at
from governance.audit.lines import canonical
from governance.audit.marks import ScanMark, write_mark
from governance.audit.storage import MAX_MARK_BYTES, mark_file
from governance.ops.checks import check_mesh
from governance.policy import MeshPolicy, load_policy
from governance.state import state_database
from governance.wiring import load_policy_mesh
from meshctl.cli import app
from tests.conftest import name_state

TODAY = dt.date.today()
COUNCIL = "council@acme.example"
#: The example's grant of customers.customers to sales, and of sales.customer_orders to marketing.
GRANT, OTHER = "g-f7420363", "g-eb22fd87"
SHARED = 'sqlite:///shared/state.sqlite'


@pytest.fixture(params=["folder", "database"])
def root(request: pytest.FixtureRequest, example_root: Path) -> Path:
    """The example mesh, its audit log and state in its folder, or in a `[state] url` database."""
    if request.param == "database":
        name_state(example_root, SHARED)  # [state] is trust: the council approves it
    return example_root


def mesh(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--root", str(root)])
    assert result.exit_code == 0, result.output
    return result.output


def shared(root: Path) -> bool:
    return SHARED in (root / "mesh.toml").read_text()


def the_log(root: Path) -> AuditLog:
    policy = load_policy(root)
    return audit_log_at(root / ".mesh", database=state_database(policy) if policy.state.shared else None)


def pad(root: Path, mib: float = 1.2) -> None:
    """Append records of other actions, ``mib`` MiB of them: a scan that reads them leaves a mark."""
    count = int(mib * (1 << 20) / 7200) + 1
    the_log(root).append_many([AuditEvent(actor="service:test", action="read", target="sales.orders",
                                          outcome="allowed", source="test", details={"i": i, "pad": "x" * 7000})
                               for i in range(count)])


def revoke(root: Path, grant_id: str) -> None:
    """The council revokes ``grant_id``; its signed entry is pasted back into mesh.toml."""
    signed = (root / "mesh.toml").read_text()
    mesh(root, "access", "revoke", grant_id, "--as", COUNCIL)
    (root / "mesh.toml").write_text(signed)


def sql(root: Path, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
    """What an insider with the state database can do: run SQL on it."""
    path = root / ("shared/state.sqlite" if shared(root) else ".mesh/state/mesh.sqlite")
    with sqlite3.connect(path) as db:
        return db.execute(statement, parameters).fetchall()


def stored_mark(root: Path) -> bytes | None:
    if shared(root):
        rows = sql(root, "SELECT value FROM audit_meta WHERE name = ?", f"mark:{MARK}")
        return bytes(rows[0][0]) if rows else None
    path = root / ".mesh" / "audit" / mark_file(MARK)
    return path.read_bytes() if path.exists() else None


def put_mark(root: Path, data: bytes) -> None:
    """What an insider with the audit folder or the state database can do: write the mark."""
    if shared(root):
        if sql(root, "UPDATE audit_meta SET value = ? WHERE name = ? RETURNING name", data, f"mark:{MARK}") == []:
            sql(root, "INSERT INTO audit_meta (name, value) VALUES (?, ?)", f"mark:{MARK}", data)
    else:
        (root / ".mesh" / "audit" / mark_file(MARK)).write_bytes(data)


def read_now(root: Path) -> MeshPolicy:
    """A new process's policy, its revoked set read."""
    forget_revocations()
    policy = load_policy(root)
    revoked_set(policy)
    return policy


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Where each scan of the audit log for records of some actions started, in order."""
    found: list[int] = []
    scan = AuditLog.records_of

    def spied(self: AuditLog, *actions: str, start: int = 0, end: int | None = None) -> Iterator[Any]:
        found.append(start)
        return scan(self, *actions, start=start, end=end)

    monkeypatch.setattr(AuditLog, "records_of", spied)
    return found


def mark_with_revocations(root: Path) -> dict[str, Any]:
    """Revoke the example's grant, pad the log and read: a mark that holds the revocation."""
    revoke(root, GRANT)
    pad(root)
    read_now(root)
    raw = stored_mark(root)
    assert raw is not None, "a scan of over 1 MiB leaves a mark"
    mark = json.loads(raw)
    assert [row[0] for row in mark["found"]["revoked"]] == [GRANT]
    return mark


def still_revoked(root: Path) -> bool:
    return active_grant(load_policy(root), "customers.customers", "sales", TODAY) is None


# -- the hot path reads the tail ----------------------------------------------------------------------

def test_after_a_mark_the_revoked_set_reads_only_the_log_appended_since(root: Path, starts: list[int]) -> None:
    mark = mark_with_revocations(root)
    size = the_log(root).storage.size()
    assert mark["offset"] == size > 1 << 20
    revoke(root, OTHER)  # after the mark: in the tail
    starts.clear()
    policy = read_now(root)
    assert starts == [mark["offset"]], "the scan starts at the mark"
    assert {g for g, _ in revoked_set(policy)} == {GRANT, OTHER}
    assert still_revoked(root)
    assert active_grant(policy, "sales.customer_orders", "marketing", TODAY) is None


def test_a_short_tail_leaves_no_new_mark_and_a_scan_from_the_mark_finds_what_a_whole_scan_does(
        root: Path, starts: list[int]) -> None:
    mark = mark_with_revocations(root)
    revoke(root, OTHER)
    assert json.loads(stored_mark(root) or b"")["offset"] == mark["offset"], "a short tail writes no mark"
    from_mark = revocations._audited(load_policy(root))
    whole = revocations._audited(load_policy(root), from_mark=False)
    assert from_mark == whole and starts[-2:] == [mark["offset"], 0]


def test_records_of_scans_the_bytes_between_start_and_end(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit", Ed25519PrivateKey.generate())
    log.append_many([AuditEvent(actor="a@acme.example", action="grant_revoke", target="t", outcome="revoked",
                                source="cli", details={"i": i, "pad": "x" * (i * 997 % 5000)}) for i in range(600)])
    with log.storage.open() as fh:
        ends = [0, *accumulate(len(line) for line in fh)]
    for first, last in [(0, 600), (1, 600), (299, 300), (300, 300), (7, 412)]:
        found = [r.seq for r in log.records_of("grant_revoke", start=ends[first], end=ends[last])]
        assert found == list(range(first, last))
    assert [r.seq for r in log.records_of("grant_revoke", start=ends[598])] == [598, 599]
    assert [r.seq for r in log.records_of("grant_revoke", start=ends[2], end=ends[5] - 1)] == [2, 3], \
        "a line cut by the end is not read"


# -- attacks -----------------------------------------------------------------------------------------

def test_a_row_deleted_with_a_mark_present_does_not_bring_the_grant_back(root: Path, starts: list[int]) -> None:
    mark = mark_with_revocations(root)
    sql(root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    assert still_revoked(root)
    assert starts == [mark["offset"]]
    result = CliRunner().invoke(app, ["check", "--root", str(root)])
    text = " ".join(result.output.split())
    assert "the table lacks it" in text and "The grant stays revoked" in text and "scan mark" not in text, text


def test_a_mark_edited_to_drop_the_revocation_is_refused_and_the_whole_log_scanned(
        root: Path, starts: list[int], caplog: pytest.LogCaptureFixture) -> None:
    mark = mark_with_revocations(root)
    mark["found"]["revoked"] = []
    put_mark(root, canonical(mark))
    sql(root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(root)
    assert starts == [0]
    assert "does not carry a valid signature" in caplog.text and "mesh audit verify" in caplog.text
    assert "revocations.mark" in caplog.text or "mark:revocations" in caplog.text, caplog.text


def test_a_mark_signed_with_a_key_of_ones_own_is_refused(root: Path, starts: list[int],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    mark = mark_with_revocations(root)
    write_mark(the_log(root), ScanMark(name=MARK, offset=mark["offset"], hash=mark["hash"],
                                       found={"revoked": [], "requesters": {}}), Ed25519PrivateKey.generate())
    sql(root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(root)
    assert starts == [0] and "does not carry a valid signature" in caplog.text


def test_an_older_mark_put_back_still_leads_to_the_later_revocation(root: Path, starts: list[int]) -> None:
    pad(root)
    read_now(root)
    older = stored_mark(root)
    assert older is not None and json.loads(older)["found"]["revoked"] == []
    mark_with_revocations(root)
    put_mark(root, older)
    sql(root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    assert still_revoked(root)
    assert starts == [json.loads(older)["offset"]], "the older mark is true: the scan starts there"


def test_a_log_rewritten_under_the_mark_is_scanned_whole(root: Path, starts: list[int],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The line ending at the mark's offset changed (same length): the mark names another log."""
    mark = mark_with_revocations(root)
    if shared(root):
        [(seq, line)] = sql(root, "SELECT seq, line FROM audit_lines ORDER BY seq DESC LIMIT 1")
        sql(root, "UPDATE audit_lines SET line = ? WHERE seq = ?", bytes(line).replace(b"xxxx", b"yyyy", 1), seq)
    else:
        path = root / ".mesh" / "audit" / "audit.jsonl"
        data = path.read_bytes()
        at = data.rindex(b"xxxx")
        path.write_bytes(data[:at] + b"yyyy" + data[at + 4:])
    starts.clear()
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(root)
    assert starts == [0]
    assert f"ending at byte {mark['offset']}" in caplog.text and "mesh audit verify" in caplog.text


def test_a_log_shorter_than_the_mark_is_scanned_whole(example_root: Path, starts: list[int],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    mark = mark_with_revocations(example_root)
    path = example_root / ".mesh" / "audit" / "audit.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[:data.rindex(b"\n", 0, len(data) - 1) + 1])  # the last record cut
    starts.clear()
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(example_root)
    assert starts == [0] and f"ending at byte {mark['offset']}" in caplog.text


@pytest.mark.parametrize("garbage", [
    pytest.param(b"\xff\xfe\x00garbage", id="not-utf-8"),
    pytest.param(b"[" * 200_000, id="nested-deeply"),
    pytest.param(b"{}", id="empty-object"),
    pytest.param(b'{"name":"revocations","offset":' + b"9" * 5000 + b"}", id="huge-integer"),
    pytest.param(b'{"name":"revocations","offset":-5,"hash":"","found":{},"signature":""}', id="negative-offset"),
    pytest.param(b'{"name":"revocations","offset":10,"hash":"' + b"a" * 64 + b'","found":{},"signature":"zz"}',
                 id="signature-not-hex"),
    pytest.param(b'{"name":"revocations","offset":true,"hash":"' + b"a" * 64 + b'","found":[],"signature":""}',
                 id="wrong-types"),
])
def test_a_mark_of_garbage_is_a_warning_and_a_whole_scan_never_a_traceback(
        root: Path, garbage: bytes, starts: list[int], caplog: pytest.LogCaptureFixture) -> None:
    revoke(root, GRANT)
    put_mark(root, garbage)
    sql(root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(root)
    assert starts == [0] and "is not a scan mark" in caplog.text
    out = CliRunner().invoke(app, ["access", "list", "--json", "--root", str(root)]).output
    assert "Traceback" not in out and {g["id"]: g["status"] for g in json.loads(out)}[GRANT] == "revoked"


@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo", "folder", "too-large"])
def test_a_mark_file_that_is_no_regular_file_is_a_warning_never_a_hang(
        example_root: Path, kind: str, starts: list[int], caplog: pytest.LogCaptureFixture) -> None:
    revoke(example_root, GRANT)
    path = example_root / ".mesh" / "audit" / mark_file(MARK)
    if kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "too-large":  # a sparse file: read whole, it would fill the memory
        with open(path, "wb") as fh:
            fh.truncate(MAX_MARK_BYTES + 1)
    else:
        path.mkdir()
    sql(example_root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(example_root)
    assert starts == [0] and "is not a scan mark" in caplog.text


def test_a_mark_signed_with_a_stolen_key_that_drops_a_revocation_is_named_by_check_verify_and_ops(
        root: Path) -> None:
    """The limit of marks: whoever holds the audit signing key can sign one that leaves a revocation
    (or a request) out, and with the table's row deleted too the access decision trusts it. `mesh
    check`, `mesh audit verify` and the ops pass scan the log, so they name what the mark leaves
    out (the ops pass as a critical audit alert), as they would a cut log."""
    out = mesh(root, "access", "request", "customers.customers", "--consumer", "marketing", "--purpose", "loyalty",
               "--as", "marketing-data@acme.example")
    requested = out.split()[1]
    mark = mark_with_revocations(root)
    assert mark["found"]["requesters"] == {requested: "marketing-data@acme.example"}
    key = load_pem_private_key((root / ".mesh" / "keys" / "audit.ed25519.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    write_mark(the_log(root), ScanMark(name=MARK, offset=mark["offset"], hash=mark["hash"],
                                       found={"revoked": [], "requesters": {}}), key)
    sql(root, "DELETE FROM revoked_grants")
    forget_revocations()
    assert not still_revoked(root), "the limit: a mark signed with the audit key is trusted"
    result = CliRunner().invoke(app, ["check", "--root", str(root)])
    text = " ".join(result.output.split())
    assert result.exit_code != 0 and "the table lacks it" in text and "Access decisions miss it too" in text, text
    assert f"the signed scan mark of the revoked grants leaves out that grant {GRANT} was revoked" in text, text
    assert f"does not say that marketing-data@acme.example requested grant {requested}" in text, text
    assert "mesh audit pin --replace" in text

    result = CliRunner().invoke(app, ["audit", "verify", "--root", str(root)])
    text = " ".join(result.output.split())
    assert result.exit_code != 0 and "revoked grants' scan mark" in text, text
    assert f"leaves out that grant {GRANT} was revoked" in text, text
    result = CliRunner().invoke(app, ["audit", "verify", "--json", "--root", str(root)])
    verdict = json.loads(result.stdout)
    assert verdict["ok"] is False and len(verdict["scan_mark"]) == 2, verdict

    findings = {f.kind: f for f in check_mesh(load_policy_mesh(root)).findings}
    assert findings["audit_unverified"].firing and f"grant {GRANT} was revoked" in findings["audit_unverified"].summary


# -- who may write and trust marks -------------------------------------------------------------------

def test_a_host_without_the_audit_key_writes_no_mark_creates_no_key_and_trusts_the_pinned_one(
        root: Path, starts: list[int], tmp_path: Path) -> None:
    key = root / ".mesh" / "keys" / "audit.ed25519.pem"
    revoke(root, GRANT)
    pad(root)
    kept = key.rename(tmp_path / "audit.ed25519.pem")
    read_now(root)
    assert stored_mark(root) is None and not key.exists(), "no key, no mark; and no key made"
    kept.rename(key)
    read_now(root)
    offset = json.loads(stored_mark(root) or b"")["offset"]
    key.rename(kept)
    starts.clear()
    read_now(root)
    assert starts == [offset], "the mark verifies with the key mesh.toml pins, stored beside the log"
    assert still_revoked(root)


def test_on_a_mesh_that_pins_no_audit_key_marks_verify_with_the_held_key_only(
        example_root: Path, starts: list[int], tmp_path: Path) -> None:
    """Without `[audit].key_fingerprint`, the public key stored beside the log could be anyone's: a
    mark signed by a key of one's own, stored there too, is refused; a host without the audit
    key trusts no mark."""
    text = (example_root / "mesh.toml").read_text()
    (example_root / "mesh.toml").write_text(re.sub(r'(?m)^key_fingerprint = "sha256:[0-9a-f]+"\n', "", text))
    assert load_policy(example_root).audit.key_fingerprint is None
    mark = mark_with_revocations(example_root)
    starts.clear()
    read_now(example_root)
    assert starts == [mark["offset"]], "the held key verifies the mark"
    forged = Ed25519PrivateKey.generate()
    (example_root / ".mesh" / "audit" / "audit.ed25519.pub").write_bytes(forged.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    write_mark(the_log(example_root), ScanMark(name=MARK, offset=mark["offset"], hash=mark["hash"],
                                               found={"revoked": [], "requesters": {}}), forged)
    sql(example_root, "DELETE FROM revoked_grants")
    starts.clear()
    forget_revocations()
    assert still_revoked(example_root) and starts == [0]
    key = example_root / ".mesh" / "keys" / "audit.ed25519.pem"
    key.rename(tmp_path / "audit.ed25519.pem")
    starts.clear()
    read_now(example_root)
    assert starts == [0] and still_revoked(example_root) and not key.exists()


def test_a_mark_write_that_fails_is_a_warning_and_the_decision_stands(
        example_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    revoke(example_root, GRANT)
    pad(example_root)

    def refuse(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("governance.audit.storage.FileLogStorage.save_mark", refuse)
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(example_root)
    assert "was not written" in caplog.text and stored_mark(example_root) is None


# -- a read revoked set expires ----------------------------------------------------------------------

def test_a_revocation_recorded_elsewhere_counts_after_the_reread_time_without_a_new_policy(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(revocations, "monotonic", lambda: now[0])
    forget_revocations()
    policy = load_policy(root)
    assert active_grant(policy, "customers.customers", "sales", TODAY) is not None
    grant = next(g for g in policy.grants if g.id == GRANT)
    sql(root, "INSERT INTO revoked_grants (id, nonce, product, consumer, revoked_at, revoked_by) "
              "VALUES (?, ?, ?, ?, ?, ?)", grant.id, grant.nonce, grant.product, grant.consumer,
        "2026-01-01T00:00:00+00:00", COUNCIL)  # another host's `mesh access revoke`
    now[0] += revocations.REREAD_AFTER - 1
    assert active_grant(policy, "customers.customers", "sales", TODAY) is not None, "read once, kept a while"
    now[0] += 2
    assert active_grant(policy, "customers.customers", "sales", TODAY) is None
