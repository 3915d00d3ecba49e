"""The tables of the state database, as SQLAlchemy Core objects the stores query.

They are the shape the migrations (``governance/state/migrations/versions``) build, at the head
revision; a migration never imports this module (it states its own step), and a test checks
that a database migrated to head matches these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: The run history (governance.history): one row per published asset version.
updates = Table(
    "updates", metadata,
    Column("key", String(255), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("run_id", String(255), nullable=False),
    Column("source", String(32), nullable=False),
    Column("rows", BigInteger),
    Column("summary", Text, nullable=False),
    Column("recorded_at", String(40), nullable=False),
)

#: The lineage outbox (governance.lineage.delivery): every event, sent or not.
events = Table(
    "events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(255), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("sent_at", String(40)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
)
Index("pending", events.c.seq, sqlite_where=events.c.sent_at.is_(None), postgresql_where=events.c.sent_at.is_(None))

#: The audit log's records (governance.audit.database): the exact line bytes, in order; ``start``
#: is the line's first byte in the log's byte stream (what block roots are computed over).
audit_lines = Table(
    "audit_lines", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("start", BigInteger, nullable=False, unique=True),
    Column("line", LargeBinary, nullable=False),
    Column("hash", String(64), nullable=False),
)

#: The audit log's signed tree heads, one canonical JSON line each, in order.
audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("line", LargeBinary, nullable=False),
)

#: Small named values of the audit log: ``head`` (the cache ``head.json`` is in a folder) and
#: ``public_key`` (``audit.ed25519.pub``).
audit_meta = Table(
    "audit_meta", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

#: Every switch of the active region (assets.regions); the last one is in force.
region_switches = Table(
    "region_switches", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("region", String(255), nullable=False),
    Column("previous", String(255), nullable=False),
    Column("at", String(40), nullable=False),
    Column("reason", Text, nullable=False),
)

#: Grant requests waiting for approvals (governance.access.requests); ``approvals`` is a JSON
#: object of approver to signature; ``state`` is ``pending``, ``granted`` or ``withdrawn``;
#: ``nonce`` is the random nonce the approvals are signed over.
grant_requests = Table(
    "grant_requests", metadata,
    Column("id", String(32), primary_key=True),
    Column("product", String(255), nullable=False),
    Column("consumer", String(255), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("requested_by", String(320), nullable=False),
    Column("expires", Date, nullable=False),
    Column("approvals", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("nonce", String(64), nullable=False, server_default=""),
)

#: Revoked grants (governance.access.revocations): a grant is its id and nonce; one revoked is
#: never active again, whatever mesh.toml says (an entry pasted back, a ``git revert``).
#: ``revoked_at`` is a UTC ISO time, ``revoked_by`` the actor who revoked it.
revoked_grants = Table(
    "revoked_grants", metadata,
    Column("id", String(32), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("product", String(255), nullable=False),
    Column("consumer", String(255), nullable=False),
    Column("revoked_at", String(40), nullable=False),
    Column("revoked_by", String(320), nullable=False),
)

#: Files of an older mesh imported into this database, each once.
legacy_imports = Table(
    "legacy_imports", metadata,
    Column("name", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("at", String(40), nullable=False),
)

#: Every run of an asset (governance.runs.records): ``status`` is ``running`` from its start until it
#: ends (``materialized``, ``gate_failed``, ``error``, ``skipped``); times are UTC ISO strings;
#: ``partition`` is the partition a run of a partitioned asset ran (``None`` otherwise).
runs = Table(
    "runs", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False),
    Column("run_id", String(255), nullable=False),
    Column("source", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", String(64)),
    Column("error", Text),
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40)),
    Column("worker", String(255)),
    Column("partition", String(255)),
)
Index("runs_by_asset", runs.c.key, runs.c.started_at)
Index("runs_by_status", runs.c.status, runs.c.started_at)
Index("runs_by_end", runs.c.ended_at)
Index("runs_by_partition", runs.c.partition, runs.c.key, runs.c.ended_at)

#: The operational state each asset was last seen in (governance.ops.monitor): a change of
#: state is signalled once, by whichever runner evaluates first.
ops_states = Table(
    "ops_states", metadata,
    Column("key", String(255), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("predicted", Boolean, nullable=False),
    Column("since", String(40), nullable=False),
)

#: Incidents (governance.alerts.incidents): one per condition of one subject while it lasts
#: (``key`` is the signal's ``incident_key``; at most one row per key is not resolved);
#: ``state`` is ``open``, ``acknowledged`` or ``resolved``; ``route`` the route alerted last,
#: ``routes`` (JSON) every route alerted, in order; ``notified_at`` starts the ack window.
incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("domain", String(255)),
    Column("severity", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("route", String(255)),
    Column("routes", Text, nullable=False),
    Column("fired", Integer, nullable=False, server_default="1"),
    Column("opened_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("notified_at", String(40), nullable=False),
    Column("acked_at", String(40)),
    Column("acked_by", String(320)),
    Column("resolved_at", String(40)),
)
Index("open_incident", incidents.c.key, unique=True, sqlite_where=incidents.c.resolved_at.is_(None),
      postgresql_where=incidents.c.resolved_at.is_(None))

#: The alert outbox (governance.alerts.sink): one row per message to one notifier; a row that
#: failed waits until ``next_attempt_at`` (exponential back-off) before it is tried again.
notifications = Table(
    "notifications", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("incident", Integer, nullable=False),
    Column("notifier", String(255), nullable=False),
    Column("event", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("sent_at", String(40)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("next_attempt_at", String(40)),
)

#: Consumer subscriptions (governance.subscriptions): who is told of an asset's new versions,
#: breaking contract changes and deprecation, through which notifier of ``[alerts]``.
#: ``deprecation_notified`` is the end date last announced, ``breaking_notified`` the contract
#: change last announced, so each is told once, not once per run.
subscriptions = Table(
    "subscriptions", metadata,
    Column("asset", String(255), primary_key=True),
    Column("consumer", String(320), primary_key=True),
    Column("notifier", String(255), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("deprecation_notified", String(40)),
    Column("breaking_notified", Text),
)
