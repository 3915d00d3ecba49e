"""Consumer subscriptions: a person who may read an asset subscribes to it with a notifier (or
route) of ``[alerts]``, and is told of each new version, of a breaking contract change before
it is published, and of the asset's deprecation (once, with its end date and replacement).

Subscribing needs the read access ``mesh read`` needs, checked here and audited either way
(``subscribe``, ``unsubscribe``). The notices go through the alert outbox and its notifiers
(:mod:`governance.subscriptions.store`), sent by the runs' observer
(:mod:`governance.subscriptions.observer`), which both runners tell.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from assets.errors import MeshError
from assets.ports import AuditEvent
from governance.access import AccessDeniedError, how_to_read, identity_details, user_may_read
from governance.services import governed
from governance.state import state_database
from governance.subscriptions.store import Subscription, SubscriptionStore, notifiers_of

if TYPE_CHECKING:
    from assets.mesh import Mesh
    from governance.identity import Actor


class SubscriptionError(MeshError):
    """A subscription that cannot be made or removed as asked."""


def subscription_store(mesh: Mesh) -> SubscriptionStore:
    """The subscriptions of ``mesh``, in its state database."""
    policy = mesh.policy
    return SubscriptionStore(state_database(policy), policy.settings.name, policy.alerts)


def subscribe(mesh: Mesh, asset: str, *, actor: Actor, route: str) -> Subscription:
    """Subscribe ``actor`` to ``asset``, told through ``route`` (a notifier or a route of
    ``[alerts]``). Refused, and audited as denied, when they may not read the asset."""
    _require_asset(mesh, asset)
    if not notifiers_of(mesh.policy.alerts, route):
        known = sorted([*mesh.policy.alerts.notifiers, *(r.name for r in mesh.policy.alerts.routes)])
        raise SubscriptionError(f"no notifier or route '{route}' in [alerts]", where="mesh.toml [alerts]",
                                fix=f"name one of: {', '.join(known) or 'none declared; add [alerts.notifiers.<name>]'}")
    decision = user_may_read(mesh.policy, actor.id, mesh.graph[asset].spec, dt.date.today())
    governed(mesh).audit.append(AuditEvent(
        actor=actor.id, action="subscribe", target=asset, outcome="allowed" if decision.allowed else "denied",
        source="cli", details={"route": route, "reason": decision.reason, **identity_details(actor)}))
    if not decision.allowed:
        raise AccessDeniedError(f"'{actor.id}' may not subscribe to '{asset}': {decision.reason}",
                                where=f"subscribe {asset}",
                                fix=how_to_read(mesh, asset, actor.id))
    return subscription_store(mesh).add(asset, actor.id, route, mesh.services.clock())


def unsubscribe(mesh: Mesh, asset: str, *, actor: Actor) -> None:
    """Stop telling ``actor`` about ``asset``. Audited."""
    removed = subscription_store(mesh).remove(asset, actor.id)
    governed(mesh).audit.append(AuditEvent(
        actor=actor.id, action="unsubscribe", target=asset, outcome="removed" if removed else "not_subscribed",
        source="cli", details=identity_details(actor)))
    if not removed:
        raise SubscriptionError(f"'{actor.id}' is not subscribed to '{asset}'", where=f"unsubscribe {asset}",
                                fix=f"list the subscribers: mesh subscribers {asset}")


def subscribers(mesh: Mesh, asset: str) -> list[Subscription]:
    """Who is subscribed to ``asset``, by consumer."""
    return subscription_store(mesh).of(asset)


def _require_asset(mesh: Mesh, asset: str) -> None:
    if asset not in mesh.graph:
        raise SubscriptionError(f"no asset '{asset}' in the mesh", where="subscribe",
                                fix="name an asset key as mesh list shows it, like sales.orders")


__all__ = ["Subscription", "SubscriptionError", "SubscriptionStore", "notifiers_of", "subscribe", "subscribers",
           "subscription_store", "unsubscribe"]
