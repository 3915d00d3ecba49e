"""``[alerts]`` of ``mesh.toml``: where incidents are sent, and when they escalate.

.. code-block:: toml

    [alerts]
    key_rotation_days = 90                  # a key-encryption key older than this raises key_rotation_due
    rpo_minutes = { default = 60, sales = 15 }   # or one number: the standby may lag this far behind

    [alerts.notifiers.ops_file]
    kind = "file"                           # JSON lines
    path = ".mesh/alerts/alerts.jsonl"

    [alerts.notifiers.slack]
    kind = "webhook"                        # JSON with `text` and `blocks` (Slack-compatible)
    url_env = "MESH_SLACK_WEBHOOK"          # the URL, token included, is read from this variable

    [alerts.notifiers.oncall]
    kind = "email"
    host = "smtp.acme.example"
    port = 587
    starttls = true
    username = "mesh"
    password_env = "MESH_SMTP_PASSWORD"
    sender = "mesh@acme.example"
    to = ["oncall@acme.example"]

    [[alerts.routes]]                       # tried in order: the first that matches takes the incident
    name = "sales"
    domains = ["sales"]                     # any domain when left out
    select = "tag:tier=gold"                # an asset selection (see `mesh list`); any subject when left out
    kinds = ["run_failed", "gate_failed"]   # any kind when left out
    min_severity = "warning"                # info < warning < critical
    notify = ["slack"]
    ack_minutes = 30                        # not acknowledged in 30 minutes: escalate to
    escalate_to = "oncall"                  # ... this route

Secrets never go in ``mesh.toml``: a webhook's URL and an SMTP password are named by the
environment variable that holds them (``url_env``, ``password_env``), read when an alert is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assets.emails import is_email
from assets.errors import ConfigError, did_you_mean
from governance.policy.kinds import a_kind
from governance.policy.signal_kinds import KINDS, SEVERITIES

NOTIFIER_KINDS = ("file", "webhook", "email")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*\Z")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*\Z")
_NOTIFIER_KEYS: dict[str, tuple[str, ...]] = {
    "file": ("kind", "path"),
    "webhook": ("kind", "url_env", "timeout_seconds"),
    "email": ("kind", "host", "port", "starttls", "ssl", "username", "password_env", "sender", "to",
              "timeout_seconds"),
}
_ROUTE_KEYS = ("name", "domains", "select", "kinds", "min_severity", "notify", "ack_minutes", "escalate_to")
_ALERT_KEYS = ("notifiers", "routes", "key_rotation_days", "rpo_minutes")


def _require(ok: bool, where: str, what: str, fix: str) -> None:
    if not ok:
        raise ConfigError(what, where=where, fix=fix)


def _name(name: str, where: str) -> None:
    _require(bool(_NAME.match(name)) and len(name) <= 63, where, f"'{name}' is not a valid name",
             "use lower-case letters, digits, '_' and '-', starting with a letter")


def _env(name: str | None, where: str, example: str) -> None:
    _require(name is None or bool(_ENV.match(name)), where, f"'{name}' is not an environment variable name",
             f'write the name of the variable that holds the secret, e.g. "{example}" (never the secret itself)')


@dataclass(frozen=True, slots=True, kw_only=True)
class FileNotifierConfig:
    """``kind = "file"``: each alert one JSON line appended to ``path`` (relative to mesh.toml)."""

    name: str
    path: str = ".mesh/alerts/alerts.jsonl"
    kind: str = "file"

    def __post_init__(self) -> None:
        _name(self.name, f"[alerts.notifiers.{self.name}]")
        _require(bool(self.path) and "\x00" not in self.path, f"[alerts.notifiers.{self.name}].path",
                 "the path is empty or holds a NUL character", 'write path = ".mesh/alerts/alerts.jsonl"')


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookNotifierConfig:
    """``kind = "webhook"``: a JSON POST (Slack-compatible ``text`` and ``blocks``) to the URL the
    environment variable ``url_env`` holds."""

    name: str
    url_env: str
    timeout_seconds: float = 5.0
    kind: str = "webhook"

    def __post_init__(self) -> None:
        where = f"[alerts.notifiers.{self.name}]"
        _name(self.name, where)
        _env(self.url_env, f"{where}.url_env", "MESH_SLACK_WEBHOOK")
        _require(0 < self.timeout_seconds <= 120, f"{where}.timeout_seconds",
                 f"{self.timeout_seconds} is not between 0 and 120 seconds", "write timeout_seconds = 5")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailNotifierConfig:
    """``kind = "email"``: a message over SMTP to ``to``; STARTTLS with ``starttls``, TLS from
    the first byte with ``ssl``; a login with ``username`` and the password in ``password_env``."""

    name: str
    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout_seconds: float = 10.0
    kind: str = "email"

    def __post_init__(self) -> None:
        where = f"[alerts.notifiers.{self.name}]"
        _name(self.name, where)
        _require(bool(self.host), f"{where}.host", "the SMTP host is empty", 'write host = "smtp.acme.example"')
        _require(0 < self.port < 65536, f"{where}.port", f"{self.port} is not a port", "write port = 587")
        _require(not (self.starttls and self.ssl), f"{where}.ssl", "starttls and ssl are both set",
                 "use starttls = true (port 587) or ssl = true (port 465), not both")
        _require(bool(self.to), f"{where}.to", "no recipient", 'write to = ["oncall@acme.example"]')
        for address in (self.sender, *self.to):
            _require(is_email(address), where, f"'{address}' is not an e-mail address",
                     "write sender and to as addresses, like 'oncall@acme.example'")
        _env(self.password_env, f"{where}.password_env", "MESH_SMTP_PASSWORD")
        _require(self.password_env is None or self.username is not None, f"{where}.username",
                 "password_env is set but username is not", 'add username = "mesh" (the SMTP login)')
        _require(0 < self.timeout_seconds <= 120, f"{where}.timeout_seconds",
                 f"{self.timeout_seconds} is not between 0 and 120 seconds", "write timeout_seconds = 10")


NotifierConfig = FileNotifierConfig | WebhookNotifierConfig | EmailNotifierConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """``[[alerts.routes]]``: which incidents (``domains``, asset selection ``select``, ``kinds``,
    at least ``min_severity``) go to which notifiers, and where one escalates to when nobody
    acknowledges it within ``ack_minutes``."""

    name: str
    notify: tuple[str, ...]
    domains: tuple[str, ...] = ()
    select: str | None = None
    kinds: tuple[str, ...] = ()
    min_severity: str = "info"
    ack_minutes: float | None = None
    escalate_to: str | None = None

    def __post_init__(self) -> None:
        where = f"[[alerts.routes]] '{self.name}'"
        _name(self.name, f"{where}.name")
        _require(bool(self.notify), f"{where}.notify", "the route notifies nobody",
                 'write notify = ["<a notifier of [alerts.notifiers]>"]')
        _require(self.min_severity in SEVERITIES, f"{where}.min_severity", f"unknown severity '{self.min_severity}'",
                 f"use one of {', '.join(SEVERITIES)}. " + did_you_mean(self.min_severity, SEVERITIES))
        for kind in self.kinds:
            _require(kind in KINDS, f"{where}.kinds", f"unknown kind '{kind}'",
                     f"use some of {', '.join(KINDS)}. " + did_you_mean(kind, KINDS))
        _require(self.select is None or bool(self.select.strip()), f"{where}.select", "the selection is empty",
                 "remove select (every subject) or write one, such as 'domain:sales' or 'tag:tier=gold'")
        _require(self.ack_minutes is None or self.ack_minutes > 0, f"{where}.ack_minutes",
                 f"{self.ack_minutes} is not a positive number of minutes", "write ack_minutes = 30")
        _require((self.ack_minutes is None) == (self.escalate_to is None), f"{where}.escalate_to",
                 "ack_minutes and escalate_to go together", 'write both (ack_minutes = 30, escalate_to = "<route>"), '
                 "or neither")

    def at_least(self, severity: str) -> bool:
        """Whether ``severity`` reaches this route's minimum."""
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsPolicy:
    """``[alerts]``: the notifiers, the routes (tried in order), and the thresholds of the checks
    (``key_rotation_days``; ``rpo_minutes`` per domain, ``default`` for the rest)."""

    notifiers: Mapping[str, NotifierConfig] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    key_rotation_days: int = 90
    rpo_minutes: Mapping[str, float] = field(default_factory=lambda: {"default": 60.0})

    def __post_init__(self) -> None:
        names = [r.name for r in self.routes]
        for route in self.routes:
            where = f"[[alerts.routes]] '{route.name}'"
            _require(names.count(route.name) == 1, f"{where}.name", f"two routes are named '{route.name}'",
                     "give each route its own name")
            for notifier in route.notify:
                _require(notifier in self.notifiers, f"{where}.notify", f"no notifier '{notifier}'",
                         f"declare [alerts.notifiers.{notifier}] or fix the name. "
                         + did_you_mean(notifier, self.notifiers))
            if route.escalate_to is not None:
                _require(route.escalate_to in names, f"{where}.escalate_to", f"no route '{route.escalate_to}'",
                         "name another route of [[alerts.routes]]. " + did_you_mean(route.escalate_to, names))
        by_name = {r.name: r for r in self.routes}
        for route in self.routes:  # an escalation chain ends
            seen, step = [route.name], by_name[route.name].escalate_to
            while step is not None and step in by_name:
                _require(step not in seen, f"[[alerts.routes]] '{route.name}'.escalate_to",
                         f"escalation goes round in a circle: {' -> '.join([*seen, step])}",
                         "end the chain with a route that has no escalate_to")
                seen.append(step)
                step = by_name[step].escalate_to
        _require(self.key_rotation_days > 0, "[alerts].key_rotation_days",
                 f"{self.key_rotation_days} is not a positive number of days", "write key_rotation_days = 90")
        for domain, minutes in self.rpo_minutes.items():
            _require(minutes > 0, f"[alerts].rpo_minutes.{domain}", f"{minutes} is not a positive number of minutes",
                     "write rpo_minutes = 60")

    def route(self, name: str) -> Route:
        return next(r for r in self.routes if r.name == name)

    def rpo_for(self, domain: str) -> float:
        """The RPO target of ``domain``, in minutes."""
        return self.rpo_minutes.get(domain, self.rpo_minutes.get("default", 60.0))


def read_alerts(t: Mapping[str, Any]) -> AlertsPolicy:
    """``[alerts]`` as the loader hands it over (a table, maybe empty). Raises
    :class:`ConfigError` naming the key and the fix."""
    _unknown(t, _ALERT_KEYS, "[alerts]")
    notifiers: dict[str, NotifierConfig] = {}
    for name, table in _get(t, "notifiers", dict, "[alerts]", {}).items():
        notifiers[name] = _notifier(name, table)
    routes = tuple(_route(i, table) for i, table in enumerate(_get(t, "routes", list, "[alerts]", [])))
    rpo = _get(t, "rpo_minutes", (int, float, dict), "[alerts]", 60)
    if isinstance(rpo, dict):
        for domain, minutes in rpo.items():
            _require(isinstance(minutes, int | float) and not isinstance(minutes, bool),
                     f"[alerts].rpo_minutes.{domain}", f"must be a number of minutes, not {minutes!r}",
                     f"write rpo_minutes = {{ {domain} = 15 }}")
        rpo = {"default": 60.0, **{d: float(m) for d, m in rpo.items()}}
    else:
        rpo = {"default": float(rpo)}
    return AlertsPolicy(notifiers=notifiers, routes=routes, rpo_minutes=rpo,
                        key_rotation_days=_get(t, "key_rotation_days", int, "[alerts]", 90))


def _notifier(name: str, t: Any) -> NotifierConfig:
    where = f"[alerts.notifiers.{name}]"
    _require(isinstance(t, dict), where, "is not a table", f'write it as {where} with kind = "file" below it')
    kind = _get(t, "kind", str, where)
    _require(kind in NOTIFIER_KINDS, f"{where}.kind", f"unknown notifier kind {kind!r}",
             f"write kind = one of {', '.join(NOTIFIER_KINDS)}. " + did_you_mean(str(kind), NOTIFIER_KINDS))
    _unknown(t, _NOTIFIER_KEYS[kind], where)
    if kind == "file":
        return FileNotifierConfig(name=name, path=_get(t, "path", str, where, ".mesh/alerts/alerts.jsonl"))
    if kind == "webhook":
        return WebhookNotifierConfig(name=name, url_env=_get(t, "url_env", str, where),
                                     timeout_seconds=float(_get(t, "timeout_seconds", (int, float), where, 5.0)))
    return EmailNotifierConfig(
        name=name, host=_get(t, "host", str, where), port=_get(t, "port", int, where, 25),
        starttls=_get(t, "starttls", bool, where, False), ssl=_get(t, "ssl", bool, where, False),
        username=_get(t, "username", str, where, None), password_env=_get(t, "password_env", str, where, None),
        sender=_get(t, "sender", str, where), to=tuple(_strings(t, "to", where)),
        timeout_seconds=float(_get(t, "timeout_seconds", (int, float), where, 10.0)))


def _route(i: int, t: Any) -> Route:
    where = f"[[alerts.routes]][{i}]"
    _require(isinstance(t, dict), where, "is not a table", "write each route as [[alerts.routes]]")
    _unknown(t, _ROUTE_KEYS, where)
    ack = _get(t, "ack_minutes", (int, float), where, None)
    return Route(name=_get(t, "name", str, where), notify=tuple(_strings(t, "notify", where)),
                 domains=tuple(_strings(t, "domains", where, ())), select=_get(t, "select", str, where, "") or None,
                 kinds=tuple(_strings(t, "kinds", where, ())), min_severity=_get(t, "min_severity", str, where, "info"),
                 ack_minutes=float(ack) if ack is not None else None,
                 escalate_to=_get(t, "escalate_to", str, where, None))


_MISSING = object()


def _get(t: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = _MISSING) -> Any:
    if key not in t:
        _require(default is not _MISSING, f"{where}.{key}", f"'{key}' is missing",
                 f"add {key} = ... (see the README, Operations)")
        return default
    value = t[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    _require(isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds), f"{where}.{key}",
             f"'{key}' must be {a_kind(*kinds)}, not {type(value).__name__} ({value!r})",
             f"write {key} as {a_kind(kinds[0])}")
    return value


def _strings(t: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> list[str]:
    value = _get(t, key, list, where, default)
    _require(all(isinstance(v, str) for v in value), f"{where}.{key}", f"'{key}' must be a list of strings",
             f'write {key} = ["..."]')
    return list(value)


def _unknown(t: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in t:
        _require(key in allowed, f"{where}.{key}", f"unknown key '{key}'",
                 f"remove it or use one of {', '.join(allowed)}. " + did_you_mean(key, allowed))
