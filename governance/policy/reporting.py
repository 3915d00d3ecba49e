"""What the reports apply from ``mesh.toml``: segregation-of-duties rules and billing rates.

``[sod]`` lists permissions no one person may hold together::

    [[sod.rules]]
    name = "approve_and_read_all"
    incompatible = ["approve_grant", "read_all"]
    reason = "who approves access must not hold blanket access"

``[billing]`` turns metered usage into a cost per domain (``mesh usage``)::

    [billing]
    currency = "USD"
    per_gb_month_stored = 0.023
    per_task_hour = 0.40
    per_gb_replicated = 0.02
    per_1000_reads = 0.005
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assets.errors import ConfigError

#: Permissions a role may hold; ``decrypt:<classification>`` and ``read:<domain>`` are checked separately.
PERMISSIONS = frozenset({"approve_grant", "approve_policy", "read_audit", "read_all", "rotate_keys", "operate_dr",
                         "manage_domains"})
_CURRENCY = re.compile(r"^[A-Z]{3}\Z")
_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")


def is_permission(permission: str) -> bool:
    """Whether ``permission`` is one a role may hold."""
    return permission in PERMISSIONS or permission.startswith(("decrypt:", "read:"))


def permission_fix() -> str:
    return f"use {', '.join(sorted(PERMISSIONS))}, 'decrypt:<classification>' or 'read:<domain>'"


@dataclass(frozen=True, slots=True, kw_only=True)
class SodRule:
    """``[[sod.rules]]``: permissions that one person must not hold together."""

    name: str
    incompatible: tuple[str, ...]
    reason: str = ""
    index: int = 0

    def __post_init__(self) -> None:
        where = f"[[sod.rules]][{self.index}]"
        if not _NAME.match(self.name):
            raise ConfigError(f"'{self.name}' is not a valid rule name", where=f"{where}.name",
                              fix="use lower-case letters, digits and '_', starting with a letter")
        for p in self.incompatible:
            if not is_permission(p):
                raise ConfigError(f"unknown permission '{p}'", where=f"{where}.incompatible", fix=permission_fix())
        if len(set(self.incompatible)) < 2:
            raise ConfigError(f"rule '{self.name}' names {len(set(self.incompatible))} distinct permission(s); "
                              "a conflict needs two or more", where=f"{where}.incompatible",
                              fix='list the permissions that conflict, e.g. incompatible = ["approve_grant", "read_all"]')


@dataclass(frozen=True, slots=True, kw_only=True)
class SodPolicy:
    """``[sod]``: the segregation-of-duties rules, each name once."""

    rules: tuple[SodRule, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, int] = {}
        for rule in self.rules:
            if rule.name in seen:
                raise ConfigError(f"rule name '{rule.name}' is also the name of [[sod.rules]][{seen[rule.name]}]",
                                  where=f"[[sod.rules]][{rule.index}].name", fix="give each rule its own name")
            seen[rule.name] = rule.index


#: The rates of ``[billing]``, each a price per unit in ``currency``.
RATES = ("per_gb_month_stored", "per_task_hour", "per_gb_replicated", "per_1000_reads")


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingRates:
    """``[billing]``: the price of each metered unit (zero when not set)."""

    currency: str = "USD"
    per_gb_month_stored: float = 0.0
    per_task_hour: float = 0.0
    per_gb_replicated: float = 0.0
    per_1000_reads: float = 0.0

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise ConfigError(f"'{self.currency}' is not a currency code", where="[billing].currency",
                              fix='write an ISO 4217 code in capitals, e.g. currency = "USD"')
        for name in RATES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 \
                    or value == float("inf"):
                raise ConfigError(f"{name} must be a number of zero or more, not {value!r}",
                                  where=f"[billing].{name}", fix=f"write {name} = 0.02 (a price per unit)")

    def to_dict(self) -> dict[str, object]:
        return {"currency": self.currency, **{name: getattr(self, name) for name in RATES}}
