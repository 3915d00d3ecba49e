"""The JSON columns of the state database are read with the hardened parser: a row that is not
JSON the mesh wrote (malformed, nested past Python's stack, huge, the wrong shape) stops its
reader with one StateError naming the row and the fix, never a RecursionError or a traceback."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, update

from assets.errors import MeshError
from governance.access.requests import PENDING, GrantRequests
from governance.alerts.incidents import IncidentStore
from governance.history import RunHistory
from governance.lineage.delivery import LineageOutbox
from governance.state import StateDatabase, StateError
from governance.state.schema import events, grant_requests, incidents, updates
from governance.state.stored import MAX_COLUMN_BYTES, column_json

DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE = [DEEP, "{" * 50_000, "not json", '{"a": ', "1" * 5_000, '"a string"', "[1, 2]", "",
           " " * (MAX_COLUMN_BYTES + 1)]
_ids = itertools.count(1)


def _database(tmp_path: Path) -> StateDatabase:
    path = tmp_path / f"state-{next(_ids)}.db"
    return StateDatabase(f"sqlite:///{path}", str(path))


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), st.sampled_from(HOSTILE)))
@settings(max_examples=200)
def test_a_column_is_parsed_or_refused_with_a_state_error(raw: str | bytes) -> None:
    try:
        column_json(raw, what="a value", where="state.db")
    except StateError as exc:
        assert exc.where == "state.db" and "restore" in exc.fix and "\n" not in str(exc)


def test_deep_nesting_is_a_state_error_not_a_recursion_error() -> None:
    with pytest.raises(StateError, match="not JSON the mesh wrote"):
        column_json(DEEP, what="the details of incident 1", where="state.db")


def test_a_huge_column_is_refused_unparsed() -> None:
    with pytest.raises(StateError, match="more than 16 MB"):
        column_json("[" + "0," * (MAX_COLUMN_BYTES // 2) + "0]", what="a value", where="state.db")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _incident(database: StateDatabase, details: str, routes: str = "[]") -> None:
    with database.write() as conn:
        conn.execute(insert(incidents).values(
            key="stale:sales.orders", kind="stale", subject="sales.orders", domain="sales", severity="warning",
            summary="stale", details=details, state="open", route=None, routes=routes, opened_at=_now(),
            updated_at=_now(), notified_at=_now()))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(HOSTILE[:-1]), st.booleans())
def test_a_hostile_incident_row_is_one_state_error(tmp_path: Path, text: str, in_routes: bool) -> None:
    database = _database(tmp_path)
    _incident(database, "{}" if in_routes else text, text if in_routes else "[]")
    with pytest.raises(StateError, match="incident 1") as refused:
        IncidentStore(database, "acme").incidents()
    assert isinstance(refused.value, MeshError) and "Fix:" in str(refused.value)


def test_an_incident_the_mesh_wrote_still_reads(tmp_path: Path) -> None:
    database = _database(tmp_path)
    _incident(database, '{"partition": "2026-11-01"}', '["ops"]')
    [incident] = IncidentStore(database, "acme").incidents()
    assert incident.details == {"partition": "2026-11-01"} and incident.routes == ("ops",)


def test_a_hostile_run_summary_is_one_state_error(tmp_path: Path) -> None:
    database = _database(tmp_path)
    history = RunHistory(database)
    history.published()  # creates the tables
    with database.write() as conn:
        conn.execute(insert(updates).values(key="sales.orders", version="v1", run_id="r", source="engine", rows=1,
                                            summary=DEEP, recorded_at=_now()))
    with pytest.raises(StateError, match="the summary of sales.orders version v1"):
        history.for_asset("sales.orders")


def test_a_hostile_grant_request_is_one_state_error(tmp_path: Path) -> None:
    database = _database(tmp_path)
    with database.write() as conn:
        conn.execute(insert(grant_requests).values(
            id="g-12345678", product="sales.orders", consumer="finance", purpose="p", requested_by="a@acme.example",
            expires=dt.date(2030, 1, 1), approvals=DEEP, state=PENDING, created_at=_now(), updated_at=_now()))
    with pytest.raises(StateError, match="grant request g-12345678"):
        GrantRequests(database).pending()
    with database.write() as conn:
        conn.execute(update(grant_requests).values(approvals='["not", "an object"]'))
    with pytest.raises(StateError, match="not a JSON object of signatures"):
        GrantRequests(database).pending()


def test_a_hostile_lineage_event_is_one_state_error_and_stays_pending(tmp_path: Path) -> None:
    database = _database(tmp_path)
    outbox = LineageOutbox(database, {"type": "console"})
    outbox.status()  # creates the tables
    with database.write() as conn:
        conn.execute(insert(events).values(id="e1", body=DEEP, created_at=_now()))
    with pytest.raises(StateError, match="lineage event 1"):
        outbox.events()
    delivery = outbox.flush()
    assert delivery.pending == 1 and "StateError" in (delivery.error or "")


_RUN_VALUE = st.none() | st.integers(-2**63, 2**63 - 1) | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["", "x", "[]", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2026-11-29T20:08:37", "sales", "Sales.X"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(["key", "run_id", "source", "status", "started_at", "ended_at", "version", "error",
                               "worker", "partition"]), value=_RUN_VALUE)
def test_a_hostile_run_row_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """The runs table feeds `mesh ops status/report/check/heal` and the dashboard: a row edited to
    hold a time that is none (or out of any run's range), a key that is no asset's or a number
    where text belongs reads as what the mesh wrote or is one StateError naming the run; its
    fields are then what the readers compute with."""
    from governance.runs.records import RunRecords
    from governance.state.schema import runs

    database = _database(tmp_path / str(next(_count)))
    records = RunRecords(database)
    at = dt.datetime.now(dt.UTC)
    records.started("sales.orders", "r1", "engine", at, worker="vm:1:2")
    records.ended("sales.orders", "r1", "engine", at, at, "gate_failed", error="contract gate failed")
    try:
        with database.write() as conn:
            conn.execute(update(runs).values({column: value}))
    except MeshError:
        return  # the database's own constraints refused it (NOT NULL)
    try:
        found = records.for_asset("sales.orders") + records.ended_between(at - dt.timedelta(days=1),
                                                                          at + dt.timedelta(days=1))
    except StateError as exc:
        assert "the run record" in str(exc) and "Fix:" in str(exc)
    else:
        for record in found:
            assert isinstance(record.key, str) and record.started_at.year < 9000
            assert record.seconds is None or isinstance(record.seconds, float)


_count = itertools.count()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(["key", "version", "rows"]), value=_RUN_VALUE)
def test_a_hostile_update_row_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """The updates table feeds `mesh history`, `mesh usage` (each published version's folder) and
    the dashboard: a key that is no asset's, an empty version or a row count that is no number is
    one StateError, never a ValueError where storage makes a folder of the key."""
    database = _database(tmp_path / str(next(_count)))
    history = RunHistory(database)
    history.published()  # creates the tables
    with database.write() as conn:
        conn.execute(insert(updates).values(key="sales.orders", version="v1", run_id="r", source="engine", rows=1,
                                            summary='{"version": "v1"}', recorded_at=_now()))
    try:
        with database.write() as conn:
            conn.execute(update(updates).values({column: value}))
    except MeshError:
        return  # the database's own constraints refused it (NOT NULL)
    try:
        published, rows = history.published(), history.for_asset(str(value) if column == "key" else "sales.orders")
    except StateError as exc:
        assert "is not one the mesh recorded" in str(exc) and "Fix:" in str(exc)
    else:
        assert all(key.count(".") == 1 and all(versions) for key, versions in published.items())
        assert all(r["rows"] is None or isinstance(r["rows"], int) for r in rows)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(["id", "key", "kind", "subject", "domain", "severity", "summary", "state", "route",
                               "fired", "opened_at", "updated_at", "notified_at", "acked_at", "acked_by",
                               "resolved_at"]), value=_RUN_VALUE)
def test_a_hostile_incident_column_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """The incidents table feeds `mesh ops incidents/ack` and the dashboard, which compares an
    incident's opening with aware times: a row edited to hold a time without a zone, a number
    where text belongs or an unknown state is one StateError naming the incident, never a
    ValueError or TypeError in a reader."""
    database = _database(tmp_path / str(next(_count)))
    _incident(database, "{}")
    try:
        with database.write() as conn:
            conn.execute(update(incidents).values({column: value}))
    except MeshError:
        return  # the database's own constraints refused it (NOT NULL, the primary key)
    try:
        found = IncidentStore(database, "acme").incidents(everything=True)
    except StateError as exc:
        assert "incident" in str(exc) and "Fix:" in str(exc)
    else:
        for incident in found:
            opened = dt.datetime.fromisoformat(incident.opened_at)
            assert opened.tzinfo is not None and opened < dt.datetime.now(dt.UTC) + dt.timedelta(days=10**6)
            assert incident.state in {"open", "acknowledged", "resolved"} and isinstance(incident.fired, int)
            assert all(isinstance(getattr(incident, c), str) for c in ("key", "kind", "subject", "summary"))
