"""``[ops]``: the operating targets of the mesh, and of each domain (``[ops.domains.<name>]``).

::

    [ops]                         # defaults for every domain (these are the defaults when absent)
    allowed_lag = "1h"            # a cron root's data is due this long after its scheduled time
    grace = "30m"                 # past its deadline an asset is 'late' this long, then 'breached'
    sla_target = 99.5             # % of the time each asset must be fresh
    availability_target = 99.9    # % of the time its current version must be readable
    mttr_target = "15m"           # mean time from a failed run to the next good version

    [ops.domains.marketing]       # any of the keys above, for one domain; the rest inherited
    allowed_lag = "3h"

The default figures are the enterprise's (``shared/seed/enterprise-patterns.md``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.errors import ConfigError
from assets.schedule import parse_duration

#: The keys of ``[ops]`` and of each ``[ops.domains.<name>]``.
TARGET_KEYS = ("allowed_lag", "grace", "sla_target", "availability_target", "mttr_target")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpsTargets:
    """The operating targets of one domain (or the defaults), checked on construction."""

    allowed_lag: dt.timedelta = dt.timedelta(hours=1)
    grace: dt.timedelta = dt.timedelta(minutes=30)
    sla_target: float = 99.5
    availability_target: float = 99.9
    mttr_target: dt.timedelta = dt.timedelta(minutes=15)
    where: str = "[ops]"

    def __post_init__(self) -> None:
        for name in ("allowed_lag", "grace", "mttr_target"):
            value = getattr(self, name)
            if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
                raise ConfigError(f"{name} must be a duration of zero or more, not {value!r}",
                                  where=f"{self.where}.{name}", fix=f'write {name} = "30m" (s, m, h, d or w)')
        for name in ("sla_target", "availability_target"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
                raise ConfigError(f"{name} must be a percentage above 0 and at most 100, not {value!r}",
                                  where=f"{self.where}.{name}", fix=f"write {name} = 99.5")

    def to_dict(self) -> dict[str, Any]:
        return {"allowed_lag_seconds": self.allowed_lag.total_seconds(), "grace_seconds": self.grace.total_seconds(),
                "sla_target": self.sla_target, "availability_target": self.availability_target,
                "mttr_target_seconds": self.mttr_target.total_seconds()}


@dataclass(frozen=True, slots=True, kw_only=True)
class OpsPolicy:
    """``[ops]``: the default targets and each domain's own."""

    defaults: OpsTargets = field(default_factory=OpsTargets)
    domains: Mapping[str, OpsTargets] = field(default_factory=dict)

    def for_domain(self, domain: str) -> OpsTargets:
        """The targets of ``domain``: its own table's, else the defaults."""
        return self.domains.get(domain, self.defaults)


def read_ops(table: Mapping[str, Any]) -> OpsPolicy:
    """``[ops]`` as written in ``mesh.toml`` (the loader checks the domain names against
    ``[domains]``). Raises :class:`ConfigError` naming the key."""
    defaults = _targets(OpsTargets(), {k: v for k, v in table.items() if k != "domains"}, "[ops]")
    per_domain = table.get("domains", {})
    if not isinstance(per_domain, dict):
        raise ConfigError("'domains' must be tables", where="[ops].domains",
                          fix="write [ops.domains.<name>] tables with the keys of [ops]")
    domains: dict[str, OpsTargets] = {}
    for name, sub in per_domain.items():
        where = f"[ops.domains.{name}]"
        if not isinstance(sub, dict):
            raise ConfigError("is not a table", where=where, fix=f"write it as [ops.domains.{name}]")
        domains[name] = _targets(defaults, sub, where)
    return OpsPolicy(defaults=defaults, domains=domains)


def _targets(base: OpsTargets, table: Mapping[str, Any], where: str) -> OpsTargets:
    from assets.errors import did_you_mean

    changes: dict[str, Any] = {"where": where}
    for key, value in table.items():
        if key not in TARGET_KEYS:
            raise ConfigError(f"unknown key '{key}'", where=f"{where}.{key}",
                              fix=f"use one of {', '.join(TARGET_KEYS)}. " + did_you_mean(key, TARGET_KEYS))
        if key in ("allowed_lag", "grace", "mttr_target"):
            if not isinstance(value, str):
                raise ConfigError(f"'{key}' must be a duration string, not {type(value).__name__} ({value!r})",
                                  where=f"{where}.{key}", fix=f'write {key} = "30m" (s, m, h, d or w)')
            try:
                changes[key] = parse_duration(value)
            except ValueError as exc:
                raise ConfigError(f"bad duration {value!r} for '{key}': {exc}", where=f"{where}.{key}",
                                  fix=f'write {key} = "30m" (s, m, h, d or w)') from None
        else:
            changes[key] = value
    return dataclasses.replace(base, **changes)
