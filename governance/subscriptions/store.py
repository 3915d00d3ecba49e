"""The subscriptions of the state database, and the notices they receive: each notice is one
row per notifier in the alert outbox (``notifications``, event ``notice``), written in the
transaction that records it was told, and sent by the alert sink's one sender with its
retries (:meth:`governance.alerts.AlertSink.flush`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, select, update

from assets.names import is_asset_key
from governance.alerts.message import AlertMessage
from governance.policy.alerts import AlertsPolicy
from governance.state import StateDatabase
from governance.state.outbox import stamp
from governance.state.prepared import Prepared
from governance.state.rows import checked, require_texts, stored_time
from governance.state.schema import notifications, subscriptions

#: What a notice tells: a version was published, a breaking contract change comes, the asset
#: is deprecated.
NoticeKind = Literal["new_version", "breaking_change", "deprecation"]
#: Which column of a subscription remembers the last notice of a kind told once.
_ONCE = {"breaking_change": subscriptions.c.breaking_notified, "deprecation": subscriptions.c.deprecation_notified}
#: The subscriptions of one asset (``b_asset``), by consumer: read at every run's start and end, so prepared once.
_OF_COLUMNS = (subscriptions.c.asset, subscriptions.c.consumer, subscriptions.c.notifier, subscriptions.c.created_at)
_OF = Prepared(select(*_OF_COLUMNS).where(subscriptions.c.asset == bindparam("b_asset"))
               .order_by(subscriptions.c.consumer))


@dataclass(frozen=True, slots=True)
class Subscription:
    """``consumer`` (a person's e-mail) is told of ``asset`` through ``route`` (a notifier, or a
    route, of ``[alerts]``) since ``created_at``."""

    asset: str
    consumer: str
    route: str
    created_at: str


#: Where a subscription's row is.
WHERE = "the state database's subscriptions table"


def _subscription(r: Mapping[Any, Any]) -> Subscription:
    """The subscription a row of ``subscriptions`` records; :class:`StateError` naming it unless the
    row holds what the mesh writes (its asset an asset key, its texts text, its time zoned)."""
    with checked(f"the subscription of {str(r['consumer'])[:80]!r} to {str(r['asset'])[:200]!r}", WHERE):
        require_texts(r, ("asset", "consumer", "notifier", "created_at"))
        if not is_asset_key(r["asset"]):
            raise ValueError("its asset is not an asset key (domain.name)")
        stored_time(r["created_at"], "created_at")
    return Subscription(r["asset"], r["consumer"], r["notifier"], r["created_at"])


def notifiers_of(policy: AlertsPolicy, route: str) -> tuple[str, ...]:
    """The notifiers ``route`` names: a notifier of ``[alerts.notifiers]`` itself, or the
    ``notify`` list of the ``[[alerts.routes]]`` of that name; empty when it names neither."""
    if route in policy.notifiers:
        return (route,)
    return next((r.notify for r in policy.routes if r.name == route), ())


class SubscriptionStore:
    """The subscriptions of the mesh ``mesh`` kept in ``database``; notices go to the notifiers
    of ``policy``."""

    def __init__(self, database: StateDatabase, mesh: str, policy: AlertsPolicy) -> None:
        self.database = database
        self.mesh = mesh
        self.policy = policy

    def add(self, asset: str, consumer: str, route: str, at: dt.datetime) -> Subscription:
        """Subscribe ``consumer`` to ``asset`` (again: its route is replaced)."""
        with self.database.write() as conn:
            conn.execute(delete(subscriptions).where(subscriptions.c.asset == asset,
                                                     subscriptions.c.consumer == consumer))
            conn.execute(insert(subscriptions).values(asset=asset, consumer=consumer, notifier=route,
                                                      created_at=stamp(at)))
        return Subscription(asset, consumer, route, stamp(at))

    def remove(self, asset: str, consumer: str) -> bool:
        """Unsubscribe; ``False`` when ``consumer`` was not subscribed."""
        with self.database.write() as conn:
            gone = conn.execute(delete(subscriptions).where(subscriptions.c.asset == asset,
                                                            subscriptions.c.consumer == consumer))
        return bool(gone.rowcount)

    def of(self, asset: str) -> list[Subscription]:
        """The subscriptions of ``asset``, by consumer."""
        with self.database.read() as conn:
            rows = _OF.execute(conn, {"b_asset": asset}).rows
        return [_subscription(dict(zip((c.name for c in _OF_COLUMNS), row, strict=True))) for row in rows]

    def notify(self, asset: str, kind: NoticeKind, summary: str, at: dt.datetime, *,
               details: Mapping[str, Any] | None = None, once: str | None = None,
               may_read: Callable[[str], bool] = lambda consumer: True) -> int:
        """Queue a notice for every subscriber of ``asset`` who ``may_read`` it now (access
        lost since subscribing stops the notices); with ``once`` (what the notice is about, such
        as the end date) a subscriber already told that ``once`` is skipped. Returns how many
        subscribers were told. The caller flushes the outbox."""
        told = 0
        marker = _ONCE.get(kind)
        if not self.of(asset):  # the common case: no write transaction for an asset nobody follows
            return 0
        with self.database.write(durable=False) as conn:
            for row in conn.execute(select(subscriptions).where(subscriptions.c.asset == asset)).all():
                _subscription(row._mapping)
                if once is not None and marker is not None and row._mapping[marker.name] == once:
                    continue
                if not may_read(row.consumer):
                    continue
                message = AlertMessage(mesh=self.mesh, incident=0, event="notice", kind=kind, subject=asset,
                                       domain=asset.split(".", 1)[0], severity="info", summary=summary,
                                       route=f"subscription of {row.consumer} ({row.notifier})", level=0,
                                       at=stamp(at), details=dict(details or {}))
                rows = [{"incident": 0, "notifier": n, "event": "notice", "body": message.to_json(),
                         "created_at": stamp(at)} for n in notifiers_of(self.policy, row.notifier)]
                if rows:
                    conn.execute(insert(notifications), rows)
                if once is not None and marker is not None:
                    conn.execute(update(subscriptions).where(subscriptions.c.asset == asset,
                                                             subscriptions.c.consumer == row.consumer)
                                 .values({marker.name: once}))
                told += 1
        return told
