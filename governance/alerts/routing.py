"""Which route takes a signal: the first of ``[[alerts.routes]]`` whose domains, kinds, minimum
severity and asset selection all match it."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from assets.partition_reads import split_label
from governance.alerts.signals import Signal
from governance.policy.alerts import AlertsPolicy, Route

#: The keys an asset selection names (empty when it names none in the loaded graph).
Selector = Callable[[str], Collection[str]]


@dataclass(frozen=True, slots=True)
class Router:
    """Routes signals by ``policy``; ``selector`` evaluates a route's ``select``."""

    policy: AlertsPolicy
    selector: Selector

    def route_for(self, signal: Signal) -> Route | None:
        """The first route that matches ``signal``; ``None`` when none does (the incident is kept,
        nobody is told)."""
        return next((r for r in self.policy.routes if self.matches(r, signal)), None)

    def matches(self, route: Route, signal: Signal) -> bool:
        if route.kinds and signal.kind not in route.kinds:
            return False
        if route.domains and signal.domain not in route.domains:
            return False
        if not route.at_least(signal.severity):
            return False
        # a partition's subject (``key/partition``) is selected by its asset's key
        return route.select is None or split_label(signal.subject)[0] in self.selector(route.select)
