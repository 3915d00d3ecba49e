"""Rows of the state database edited by hand (or restored from elsewhere) in the tables the
outboxes, subscriptions, grant requests, revocations, region switches and the operations monitor
keep: each reader reads what the mesh wrote or stops with one StateError naming the row and the
fix, never a TypeError, ValueError or OverflowError from deep inside."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, insert, select, text

from assets.errors import MeshError
from governance.state import StateDatabase, StateError

_count = itertools.count()
NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
#: A value of the wrong type or shape for a column: what a hand edit (or SQLite's loose typing) leaves.
HOSTILE = st.none() | st.integers(-2**63, 2**63 - 1) | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["", "x", "[]", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2026-11-29T20:08:37", "sales",
     "Sales.X", "2026-13-45", "ops", "2**70"]) | st.sampled_from([2**62, -1, 0, True, b"\xff\xfe"])
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _database(tmp_path: Path) -> StateDatabase:
    path = tmp_path / f"state-{next(_count)}.db"
    return StateDatabase(f"sqlite:///{path}", str(path))


def _edited(database: StateDatabase, table: Table, column: str, value: object) -> bool:
    """Set ``column`` of every row of ``table`` to ``value``; ``False`` when the database refuses."""
    try:
        with database.write() as conn:  # as text: SQLAlchemy's types would refuse to bind a date's or a flag's
            conn.execute(text(f"UPDATE {table.name} SET {column} = :value"), {"value": value})
    except MeshError:
        return False  # the database's own constraints refused it (NOT NULL, the primary key)
    return True


def _refused(exc: StateError, *names: str) -> None:
    message = str(exc)
    assert "Fix:" in message and "\n" not in message and any(n in message for n in names), message


def _read_or_refused(read: Callable[[], Any], *names: str) -> Any:
    try:
        return read()
    except StateError as exc:
        _refused(exc, *names)
        return None


# -- notifications: the alert outbox ---------------------------------------------------------------

class _Notifier:
    name, kind = "ops", "test"

    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        if self.fails:
            from governance.alerts.notifiers import NotifierError

            raise NotifierError("down", where="test", fix="none")
        self.sent.append(message)


class _Audit:
    def append(self, event: Any) -> None:
        pass


def _sink(database: StateDatabase, fails: bool) -> Any:
    from governance.alerts.sink import AlertSink
    from governance.policy.alerts import AlertsPolicy

    return AlertSink(mesh="acme", root=Path("."), policy=AlertsPolicy(), access=None,  # type: ignore[arg-type]
                     database=database, audit=_Audit(), selector=lambda *a: True,  # type: ignore[arg-type]
                     clock=lambda: NOW, notifiers={"ops": _Notifier(fails)})  # type: ignore[dict-item]


def _notification(database: StateDatabase) -> None:
    from governance.alerts.message import AlertMessage
    from governance.state.schema import incidents, notifications

    message = AlertMessage(mesh="acme", incident=1, event="alert", kind="stale", subject="sales.orders",
                           domain="sales", severity="warning", summary="stale", route="ops", level=0,
                           at=NOW.isoformat())
    with database.write() as conn:
        conn.execute(insert(incidents).values(
            key="stale:sales.orders", kind="stale", subject="sales.orders", domain="sales", severity="warning",
            summary="stale", details="{}", state="open", route="ops", routes='["ops"]', opened_at=NOW.isoformat(),
            updated_at=NOW.isoformat(), notified_at=NOW.isoformat()))
        conn.execute(insert(notifications).values(incident=1, notifier="ops", event="alert", body=message.to_json(),
                                                  created_at=NOW.isoformat(), attempts=1, last_error="down",
                                                  next_attempt_at=NOW.isoformat()))


@SETTINGS
@given(column=st.sampled_from(["incident", "notifier", "event", "body", "created_at", "sent_at", "attempts",
                               "last_error", "next_attempt_at"]), value=HOSTILE, fails=st.booleans())
def test_a_hostile_notification_is_read_or_one_state_error(tmp_path: Path, column: str, value: object,
                                                           fails: bool) -> None:
    """The alert outbox feeds `mesh ops incidents` (its pending list), `mesh ops alerts flush`,
    `mesh ops heal` (a stuck outbox) and every run's alerts: a row edited to hold a number for a
    time, text for a count or a count past any back-off is one StateError naming the message,
    never a TypeError or an OverflowError (the back-off of a huge count of attempts)."""
    from governance.state.schema import notifications

    database = _database(tmp_path)
    sink = _sink(database, fails)
    _notification(database)
    if not _edited(database, notifications, column, value):
        return
    pending = _read_or_refused(sink.pending, "message 1", "notification 1")
    for message in pending or ():
        assert message["incident"] is None or isinstance(message["incident"], int)
        assert isinstance(message["notifier"], str) and isinstance(message["attempts"], int)
        assert message["next_attempt_at"] is None or isinstance(message["next_attempt_at"], str)
        assert message["last_error"] is None or isinstance(message["last_error"], str)
        if message["next_attempt_at"] is not None:
            assert dt.datetime.fromisoformat(message["next_attempt_at"]).tzinfo is not None
    done = sink.flush(NOW + dt.timedelta(days=1))  # a row not the mesh's stays pending, its error kept
    assert done.error is None or "\n" not in done.error


_BODY_FIELDS = ["mesh", "incident", "event", "kind", "subject", "domain", "severity", "summary", "route", "level",
                "at", "details"]


@SETTINGS
@given(field=st.sampled_from(_BODY_FIELDS), value=st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
       | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12) | st.lists(st.integers(), max_size=2)
       | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
@example(field="incident", value="1")
@example(field="event", value="page")
@example(field="details", value=[1])
@example(field="level", value=False)
@example(field="level", value=0)
def test_a_notification_body_with_a_field_of_the_wrong_type_is_one_state_error(tmp_path: Path, field: str,
                                                                                value: object) -> None:
    """The body a sender hands a notifier: a field of the wrong type (a number for the summary, a
    list for the details) is refused when the row is read, naming the message, never a TypeError
    inside a notifier; a body the mesh wrote is read back equal."""
    import json

    from governance.alerts.outbox_rows import message_of
    from governance.state.schema import notifications

    database = _database(tmp_path)
    _notification(database)
    with database.read() as conn:
        row = conn.execute(select(notifications)).one()
    written = message_of(row)
    body = json.loads(row._mapping["body"])
    body[field] = value
    body = json.loads(json.dumps(body))
    with database.write() as conn:
        conn.execute(text("UPDATE notifications SET body = :body"), {"body": json.dumps(body)})
    with database.read() as conn:
        edited = conn.execute(select(notifications)).one()
    try:
        message = message_of(edited)
    except StateError as exc:
        _refused(exc, "alert message 1")
    else:  # the value was one a message may hold
        assert json.loads(message.to_json()) == body
        assert "\n".join([message.title, *message.lines()])  # what the e-mail and chat notifiers send
        assert type(message.incident) is int and type(message.level) is int
    if json.dumps(json.loads(written.to_json())[field]) == json.dumps(value):  # False is no 0 here
        assert message_of(edited) == written


# -- events: the lineage outbox ----------------------------------------------------------------------

@SETTINGS
@given(column=st.sampled_from(["id", "body", "created_at", "sent_at", "attempts", "last_error"]), value=HOSTILE)
@example(column="created_at", value=b"\xff\xfe")
@example(column="last_error", value=b"\xff\xfe")
def test_a_hostile_lineage_event_row_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """The lineage outbox feeds `mesh lineage --status/--flush`, `mesh ops heal` and every run."""
    from governance.lineage.delivery import LineageOutbox
    from governance.lineage.events import EventJSON
    from governance.state.schema import events

    database = _database(tmp_path)
    outbox = LineageOutbox(database, {"type": "console"})
    outbox.record(EventJSON(id="r1:START", body='{"eventType": "START", "run": {"runId": "r1"}}'))
    if not _edited(database, events, column, value):
        return
    status = _read_or_refused(outbox.status, "lineage event 1")
    if status is not None:
        assert isinstance(status.pending, int) and isinstance(status.sent, int)
        assert status.oldest_pending is None or isinstance(status.oldest_pending, str)
        assert status.last_error is None or isinstance(status.last_error, str)
    _read_or_refused(outbox.events, "lineage event 1")
    delivery = outbox.flush()
    assert delivery.error is None or "\n" not in delivery.error


# -- subscriptions ----------------------------------------------------------------------------------

@SETTINGS
@given(column=st.sampled_from(["asset", "consumer", "notifier", "created_at", "breaking_notified",
                               "deprecation_notified"]), value=HOSTILE)
def test_a_hostile_subscription_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """Subscriptions feed `mesh subscribers`, the breaking-change check and every run's notices."""
    from governance.policy.alerts import AlertsPolicy, FileNotifierConfig
    from governance.state.schema import notifications, subscriptions
    from governance.subscriptions.store import SubscriptionStore

    database = _database(tmp_path)
    policy = AlertsPolicy(notifiers={"ops": FileNotifierConfig(name="ops")})
    store = SubscriptionStore(database, "acme", policy)
    store.add("sales.orders", "ana@acme.example", "ops", NOW)
    if not _edited(database, subscriptions, column, value):
        return
    found = _read_or_refused(lambda: store.of("sales.orders"), "subscription")
    for s in found or ():
        assert all(isinstance(v, str) for v in (s.asset, s.consumer, s.route, s.created_at))
        assert dt.datetime.fromisoformat(s.created_at).tzinfo is not None
    told = _read_or_refused(lambda: store.notify("sales.orders", "deprecation", "going", NOW, once="2027-01-01"),
                            "subscription")
    if told:
        with database.read() as conn:
            assert all(isinstance(n, str) for n in conn.execute(select(notifications.c.notifier)).scalars())


# -- grant requests and revoked grants ------------------------------------------------------------------

@SETTINGS
@given(column=st.sampled_from(["id", "product", "consumer", "purpose", "requested_by", "expires", "state",
                               "created_at", "updated_at", "nonce"]), value=HOSTILE)
def test_a_hostile_grant_request_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """Grant requests feed `mesh access list/approve/revoke` of a mesh whose [state] is shared."""
    from governance.access.requests import PENDING, GrantRequests
    from governance.state.schema import grant_requests

    database = _database(tmp_path)
    with database.write() as conn:
        conn.execute(insert(grant_requests).values(
            id="g-12345678", product="sales.orders", consumer="finance", purpose="p", requested_by="a@acme.example",
            expires=dt.date(2030, 1, 1), approvals="{}", state=PENDING, created_at=NOW.isoformat(),
            updated_at=NOW.isoformat(), nonce="0" * 32))
    if not _edited(database, grant_requests, column, value):
        return
    requests = GrantRequests(database)
    found = _read_or_refused(requests.pending, "grant request")
    for grant in found or ():
        assert isinstance(grant.expires, dt.date) and all(
            isinstance(v, str) for v in (grant.id, grant.product, grant.consumer, grant.nonce, grant.requested_by))
    _read_or_refused(lambda: requests.find("g-12345678"), "grant request")


@SETTINGS
@given(column=st.sampled_from(["id", "nonce", "product", "consumer", "revoked_at", "revoked_by"]), value=HOSTILE)
def test_a_hostile_revoked_grant_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """Revoked grants feed every access decision, `mesh access list` and `mesh check`; two
    revocations are sorted by time (the first of an id counts)."""
    from governance.access.revocations import _revocation_of_row
    from governance.state.schema import revoked_grants

    database = _database(tmp_path)
    with database.write() as conn:
        conn.execute(insert(revoked_grants).values(id="g-12345678", nonce="n" * 32, product="sales.orders",
                                                   consumer="finance", revoked_at=NOW.isoformat(timespec="seconds"),
                                                   revoked_by="council@acme.example"))
    if not _edited(database, revoked_grants, column, value):
        return
    with database.read() as conn:
        rows = conn.execute(select(revoked_grants)).mappings().all()
    for row in rows:
        revocation = _read_or_refused(lambda: _revocation_of_row(row), "the revocation of grant")
        if revocation is not None:
            assert all(isinstance(v, str) for v in (revocation.grant_id, revocation.nonce, revocation.revoked_at,
                                                    revocation.revoked_by, revocation.product))
            sorted([revocation, revocation], key=lambda r: r.revoked_at)
            assert dt.datetime.fromisoformat(revocation.revoked_at).tzinfo is not None


# -- region switches and operational states ----------------------------------------------------------

@SETTINGS
@given(column=st.sampled_from(["region", "previous", "at", "reason"]), value=HOSTILE)
@example(column="region", value=b"\xff\xfe")
def test_a_hostile_region_switch_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """The last switch decides the active region of every process (`mesh dr status`, reads)."""
    from assets.regions import RegionSwitch
    from governance.state.regions import DatabaseSwitches
    from governance.state.schema import region_switches

    database = _database(tmp_path)
    switches = DatabaseSwitches(database)
    switches.write(RegionSwitch.now(region="us-west", previous="us-east", reason="failover"))
    if not _edited(database, region_switches, column, value):
        return
    switch = _read_or_refused(switches.read, "region switch")
    if switch is not None:  # the one reader (Mesh.active_region) takes a region it does not know for none
        assert switch.region in {"us-west"} or switch.region not in {"us-east": "", "us-west": ""}


@SETTINGS
@given(column=st.sampled_from(["key", "state", "predicted", "since"]), value=HOSTILE)
@example(column="key", value=b"\xff\xfe")
def test_a_hostile_ops_state_is_read_or_one_state_error(tmp_path: Path, column: str, value: object) -> None:
    """The states last seen decide which changes `mesh ops check` and the ops DAG signal: they
    are only compared with the states evaluated now (a value no state has is a change, signalled
    again), and the flag is made a bool, so any value reads."""
    from governance.ops.monitor import _last_states, _save_states
    from governance.state.schema import ops_states

    database = _database(tmp_path)
    _save_states(database, {"sales.orders": ("late", True)}, NOW)
    if not _edited(database, ops_states, column, value):
        return
    states = _read_or_refused(lambda: _last_states(database), "operational state")
    for key, (state, predicted) in (states or {}).items():
        assert isinstance(predicted, bool) and {key: state}.get("sales.orders", "late") in {"late", state}


def test_a_message_that_failed_more_often_than_a_float_counts_waits_the_longest_pause(tmp_path: Path) -> None:
    """A notifier down for weeks counts its messages' attempts past 2.0 ** 1024: the back-off
    of the next failure is its cap, not an OverflowError out of `mesh ops alerts flush`."""
    from governance.state.schema import notifications

    database = _database(tmp_path)
    sink = _sink(database, fails=True)
    _notification(database)
    _edited(database, notifications, "attempts", 5000)
    done = sink.flush(NOW + dt.timedelta(days=1))
    assert done.pending == 1 and done.error == "test: down. Fix: none"
    [message] = sink.pending()
    assert message["attempts"] == 5001 and message["next_attempt_at"] == "2026-11-30T13:00:00.000+00:00"


def test_a_message_the_mesh_did_not_write_stays_pending_with_an_error_naming_it(tmp_path: Path) -> None:
    from governance.state.schema import notifications

    database = _database(tmp_path)
    _notification(database)
    _edited(database, notifications, "body", '{"mesh": "acme"}')
    done = _sink(database, fails=False).flush(NOW + dt.timedelta(days=1))
    assert done.sent == 0 and done.pending == 1
    assert done.error is not None and done.error.startswith("the state database's notifications table: the body of "
                                                            "alert message 1 is not a message the mesh wrote")
