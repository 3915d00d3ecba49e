"""Attacks on the signed scan marks of the revoked grants and on `[state]` as council-approved
trust: what an insider who edits the repo, `.mesh/` or the state database (without the audit
signing key or other people's keys), or a careless operator, can do."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from governance.access.revocations import MARK, forget_revocations
from tests.conftest import name_state
from tests.governance.test_revocation_marks import GRANT, SHARED, revoke, sql, still_revoked


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
