"""Attacks on the signed scan marks of the revoked grants and on `[state]` as council-approved
trust: what an insider who edits the repo, `.mesh/` or the state database (without the audit
signing key or other people's keys), or a careless operator, can do."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from typer.testing import CliRunner

from meshctl.cli import app

from governance.access.revocations import MARK, forget_revocations, mark_omissions
from assets.stored_json import load_json
from governance.audit.marks import ScanMark, write_mark
from governance.audit.storage import mark_file
from governance.policy import load_policy
from governance.wiring import load_policy_mesh
from tests.conftest import approve_example_trust, name_state
from tests.governance.test_revocation_marks import (
    GRANT,
    SHARED,
    mark_with_revocations,
    revoke,
    sql,
    still_revoked,
    the_log,
)


@pytest.mark.parametrize("value", ["text", "integer", "huge-integer", "real"])
def test_a_mark_row_of_another_sqlite_type_is_a_warning_never_a_traceback_or_a_huge_allocation(
        example_root: Path, value: str, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite keeps what it is given in a BLOB column: an insider with the state database can
    store text or an integer as the mark's value."""
    name_state(example_root, SHARED)
    revoke(example_root, GRANT)
    stored = {"text": '{"name": "revocations"}', "integer": 12, "huge-integer": 1 << 40, "real": 1.5}[value]
    if sql(example_root, "UPDATE audit_meta SET value = ? WHERE name = ? RETURNING name", stored,
           f"mark:{MARK}") == []:
        sql(example_root, "INSERT INTO audit_meta (name, value) VALUES (?, ?)", f"mark:{MARK}", stored)
    sql(example_root, "DELETE FROM revoked_grants")
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(example_root)


# -- [state] is council-approved trust ------------------------------------------------------------------

ELSEWHERE = "sqlite:///elsewhere.sqlite"


def cli(root: Path, *args: str) -> tuple[int, str]:
    """Run the CLI; an exception other than the exit it ends with (an unhandled error: a traceback
    for the user) fails the test."""
    result = CliRunner().invoke(app, [*args, "--root", str(root)], env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize("approvals", ["damaged", "deleted"])
def test_an_edited_state_with_the_approvals_file_broken_is_never_opened_by_verify_or_recover(
        example_root: Path, approvals: str) -> None:
    """The insider points [state] at a database of their own and breaks mesh.approvals.jsonl (one
    byte of a signature flipped, or the file deleted): the commands that load with council=False
    (`mesh audit verify`, `mesh policy recover`) must not then act on the database the edit names."""
    with open(example_root / "mesh.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\n[state]\nurl = "{ELSEWHERE}"\n')
    path = example_root / "mesh.approvals.jsonl"
    if approvals == "deleted":
        path.unlink()
    else:
        text = path.read_text()
        at = text.rindex('"signatures"') + 40
        path.write_text(text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:])
    for command in (("audit", "verify"), ("policy", "recover", "--as", "council@acme.example")):
        code, out = cli(example_root, *command)
        assert "Traceback" not in out, (command, out)
        assert not (example_root / "elsewhere.sqlite").exists(), (command, code, out)
        assert code != 0 and "is not opened" in out and "git checkout -- mesh.approvals.jsonl" in out, (command, out)


def test_an_empty_state_table_changes_nothing(example_root: Path) -> None:
    with open(example_root / "mesh.toml", "a", encoding="utf-8") as fh:
        fh.write("\n[state]\n")
    code, out = cli(example_root, "policy", "status")
    assert code == 0 and "Traceback" not in out and "changes pending" not in out, out
    assert load_policy_mesh(example_root).policy.state.url is None


def test_a_state_with_only_password_env_is_a_config_error_never_a_traceback(example_root: Path) -> None:
    with open(example_root / "mesh.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[state]\npassword_env = "MESH_STATE_PASSWORD"\n')
    for command in (("check",), ("policy", "status"), ("audit", "verify")):
        code, out = cli(example_root, *command)
        assert code != 0 and "Traceback" not in out and "password_env is set but url is not" in out, (command, out)


def test_the_default_database_named_in_another_spelling_keeps_the_revoked_grant_revoked(example_root: Path) -> None:
    """A careless operator names the default database in [state], spelled another way: nothing runs
    until the council approves; once it has, the revocation recorded before still counts."""
    revoke(example_root, GRANT)
    with open(example_root / "mesh.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[state]\nurl = "sqlite:///./.mesh/state/../state/mesh.sqlite"\n')
    code, out = cli(example_root, "access", "list", "--json")
    assert code != 0 and "Traceback" not in out and "which the council has not approved" in out, out
    code, out = cli(example_root, "policy", "status")
    assert code == 0 and "Traceback" not in out, out
    approve_example_trust(example_root)
    forget_revocations()
    assert load_policy_mesh(example_root).policy.state.shared
    assert still_revoked(example_root)
    sql_path = example_root / ".mesh" / "state" / "mesh.sqlite"
    with sqlite3.connect(sql_path) as db:
        db.execute("DELETE FROM revoked_grants")
    forget_revocations()
    assert still_revoked(example_root), "the audit log (now in the database) still holds the revocation"
    code, out = cli(example_root, "access", "list", "--json")
    assert code == 0 and {g["id"]: g["status"] for g in json.loads(out)}[GRANT] == "revoked", out


# -- marks signed with the audit key (a key holder, or a bug) -------------------------------------------

@pytest.mark.parametrize("offset", [1 << 70, (1 << 63) - 1, 1 << 62])
def test_a_signed_mark_whose_offset_is_far_beyond_the_log_is_a_whole_scan_never_a_traceback(
        example_root: Path, offset: int, caplog: pytest.LogCaptureFixture) -> None:
    """Only a holder of the audit key can sign it; `seek` to such an offset raises OverflowError (or
    seeks somewhere absurd): the mark must still be refused as naming no record of the log."""
    revoke(example_root, GRANT)
    key = load_pem_private_key((example_root / ".mesh" / "keys" / "audit.ed25519.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    write_mark(the_log(example_root), ScanMark(name=MARK, offset=offset, hash="0" * 64,
                                               found={"revoked": [], "requesters": {}}), key)
    sql(example_root, "DELETE FROM revoked_grants")
    forget_revocations()
    with caplog.at_level(logging.WARNING):
        assert still_revoked(example_root)
    for command in (("check",), ("audit", "verify")):
        code, out = cli(example_root, *command)
        assert "Traceback" not in out, (command, out)


def test_a_revoked_grant_stays_revoked_after_the_council_moves_state_to_a_new_database(example_root: Path) -> None:
    """The council approves moving [state] to a fresh database after a grant was revoked (its entry
    pasted back into mesh.toml): the revocation was recorded in the old state's table and log."""
    revoke(example_root, GRANT)
    name_state(example_root, SHARED)
    forget_revocations()
    assert load_policy_mesh(example_root).policy.state.shared
    assert still_revoked(example_root)


def test_a_signed_mark_that_adds_a_requester_or_revocation_the_log_lacks_is_named(example_root: Path) -> None:
    """A holder of the audit key signs a mark that says someone else requested a grant (so its real
    requester may approve it) or names a revocation the log never recorded: `mesh check` and `mesh
    audit verify` name it, as they name one that leaves a record out."""
    mark = mark_with_revocations(example_root)
    key = load_pem_private_key((example_root / ".mesh" / "keys" / "audit.ed25519.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    found = {"revoked": [*mark["found"]["revoked"], ["g-00000000", "n", "p.q", "c", "2020-01-01", "x@acme.example"]],
             "requesters": {**mark["found"]["requesters"], "g-feedface": "someone-else@acme.example"}}
    write_mark(the_log(example_root), ScanMark(name=MARK, offset=mark["offset"], hash=mark["hash"], found=found), key)
    forget_revocations()
    omitted = " ".join(mark_omissions(load_policy(example_root)))
    assert "g-feedface" in omitted and "g-00000000" in omitted, omitted
    code, out = cli(example_root, "audit", "verify")
    assert code != 0 and "g-feedface" in out, out


@pytest.mark.parametrize("row", ["public_key", "head"])
def test_an_audit_meta_row_of_text_is_reported_never_a_traceback(example_root: Path, row: str) -> None:
    name_state(example_root, SHARED)
    revoke(example_root, GRANT)
    cli(example_root, "audit", "checkpoint")
    if sql(example_root, "UPDATE audit_meta SET value = ? WHERE name = ? RETURNING name", "not bytes", row) == []:
        sql(example_root, "INSERT INTO audit_meta (name, value) VALUES (?, ?)", row, "not bytes")
    forget_revocations()
    for command in (("audit", "verify"), ("check",), ("access", "list")):
        code, out = cli(example_root, *command)
        assert "Traceback" not in out and "TypeError" not in out, (command, out)


def test_a_mark_nested_as_deep_as_json_reads_is_a_warning_never_a_recursion_error(
        example_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An insider without the key puts a mark nested just short of what `json.loads` refuses in the
    audit folder: `json.dumps`, run to rebuild the signed bytes, must not then overflow the stack
    (it runs at about the depth the parse ran at, so it holds; this keeps it so)."""
    depth = 1
    while True:  # the deepest nesting json reads here (load_json refuses deeper: a damaged mark)
        try:
            load_json("[" * (depth * 2) + "]" * (depth * 2))
        except ValueError:
            break
        depth *= 2
    low, high = depth, depth * 2
    while high - low > 1:
        mid = (low + high) // 2
        try:
            load_json("[" * mid + "]" * mid)
            low = mid
        except ValueError:
            high = mid
    revoke(example_root, GRANT)
    sql(example_root, "DELETE FROM revoked_grants")
    for nested in range(low - 120, low, 30):
        found = '{"revoked":' + "[" * nested + "]" * nested + "}"
        (example_root / ".mesh" / "audit" / mark_file(MARK)).write_text(
            f'{{"name":"revocations","offset":0,"hash":"{"0" * 64}","found":{found},"signature":"00"}}')
        forget_revocations()
        with caplog.at_level(logging.WARNING):
            assert still_revoked(example_root), nested
