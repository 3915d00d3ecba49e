"""Load ``mesh.toml`` into a :class:`MeshPolicy`, reporting every problem at once.

Precedence: the file is the only source of policy. ``MESH_ROOT`` (environment) only says where
to find ``mesh.toml`` when no path is given; nothing in the environment overrides a policy.
Loading is an explicit call; nothing reads the file at import time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

from assets.emails import look_alikes, normalize_email
from assets.errors import ConfigError, MeshError, did_you_mean
from governance.policy.alerts import AlertsPolicy, read_alerts
from governance.policy.kinds import a_kind
from governance.policy.model import (
    AuditSettings,
    Classification,
    CouncilSettings,
    DomainPolicy,
    Grant,
    IdentitySettings,
    KeysPolicy,
    LineagePolicy,
    MeshPolicy,
    MeshSettings,
    Person,
    Region,
    Retention,
    Role,
    StateSettings,
    grant_id_of,
    new_grant_id,
)
from governance.policy.ops import read_ops
from governance.policy.reporting import RATES, BillingRates, SodPolicy, SodRule
from governance.policy.trust import Snapshot, Trust, snapshot_of

T = TypeVar("T")

_SECTIONS = ("mesh", "regions", "domains", "classification", "retention", "grants", "roles", "lineage", "keys",
             "people", "identity", "council", "audit", "state", "ops", "alerts", "sod", "billing")
_KEYS: dict[str, tuple[str, ...]] = {
    "mesh": ("name", "primary_region", "secondary_region"),
    "lineage": ("namespace", "transport", "file", "url", "endpoint", "timeout_seconds"),
    "regions": ("storage", "jurisdiction"),
    "domains": ("owners", "pool_slots", "max_assets", "max_storage_bytes", "residency", "retired"),
    "classification": ("protection",),
    "retention": ("default_days", "domains"),
    "grants": ("id", "nonce", "product", "consumer", "purpose", "approved_by", "signatures", "expires", "requested_by"),
    "roles": ("members", "permissions"),
    "keys": ("provider",),
    "people": ("public_key",),
    "identity": ("provider", "issuer", "audience", "jwks_url", "email_claim", "jwks_refetch_seconds"),
    "council": ("quorum",),
    "audit": ("key_fingerprint",),
    "state": ("url", "password_env"),
    "sod": ("rules",),
    "sod.rules": ("name", "incompatible", "reason"),
    "billing": ("currency", *RATES),
}
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


class PolicyErrors(ConfigError):
    """Several problems in one ``mesh.toml``; ``problems`` holds each as a ``ConfigError``."""

    problems: tuple[MeshError, ...]

    def __init__(self, path: Path, problems: list[MeshError]) -> None:
        super().__init__(f"{len(problems)} problem(s) in mesh.toml:", where=str(path), problems=problems)


def find_mesh_file(start: Path | None = None) -> Path:
    """Find ``mesh.toml`` in ``start`` (default ``$MESH_ROOT`` or the working folder) or a parent."""
    origin = (start or Path(os.environ.get("MESH_ROOT", "."))).resolve()
    for folder in (origin, *origin.parents):
        candidate = folder / "mesh.toml"
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no mesh.toml in {origin} or any parent folder", where=str(origin),
                      fix="run from the mesh's folder, set MESH_ROOT, or create mesh.toml (see the README)")


def load_policy(path: Path | str | None = None) -> MeshPolicy:
    """Read and validate ``mesh.toml``. Raises :class:`PolicyErrors` listing every problem.

    A file already loaded and unchanged since (same size and modification time) is not read
    again: each Airflow DAG file of a domain loads the same policy.
    """
    file = Path(path) if path is not None else find_mesh_file()
    if file.is_dir():
        file = file / "mesh.toml"
    if not file.is_file():
        raise ConfigError(f"{file} does not exist", where=str(file),
                          fix="create mesh.toml (see the README), or pass the right folder")
    stat = file.stat()
    return _load_unchanged(file.resolve(), stat.st_mtime_ns, stat.st_size)


def read_trust(file: Path, snapshot: Snapshot) -> Trust:
    """Read a snapshot of ``file``'s trust sections (``governance.policy.trust``) into policy
    types, validated as the file's own sections are. Raises :class:`PolicyErrors`."""
    return _Reader(file).trust(snapshot)


def trust_snapshot(policy: MeshPolicy) -> dict[str, Any]:
    """The trust sections of the ``mesh.toml`` that ``policy`` was loaded from, read again."""
    stat = policy.path.stat()
    return snapshot_of(_raw_unchanged(policy.path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=16)
def _load_unchanged(file: Path, _mtime_ns: int, _size: int) -> MeshPolicy:
    return _Reader(file).policy(_raw_unchanged(file, _mtime_ns, _size))


@lru_cache(maxsize=16)
def _raw_unchanged(file: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    data = file.read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConfigError(f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read",
                          where=f"{file}:{line}:{column}",
                          fix="save mesh.toml as UTF-8 (TOML must be UTF-8) and retype that character") from None
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        where = f"{file}:{match.group(1)}:{match.group(2)}" if match else str(file)
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        if reason == "Illegal character '\\n'":  # tomllib's words for a string the line ends inside
            reason += " (a string not closed before the end of its line: a missing quote?)"
        raise ConfigError(f"invalid TOML: {reason}", where=where,
                          fix="correct the syntax at that line and column") from None
    except RecursionError:
        raise ConfigError("arrays or inline tables are nested too deeply to read", where=str(file),
                          fix="nest values at most a few levels deep; no key of mesh.toml needs more than two") \
            from None
    return raw


@dataclass
class _Reader:
    file: Path

    def __post_init__(self) -> None:
        self.problems: list[MeshError] = []

    def policy(self, raw: dict[str, Any]) -> MeshPolicy:
        self._unknown_keys(raw, _SECTIONS, "")
        settings = self._build("[mesh]", lambda: self._settings(self._table(raw, "mesh", required=True)))
        regions = self._named(raw, "regions", lambda n, t: Region(
            name=n, storage=self._get(t, "storage", str, f"[regions.{n}]"),
            jurisdiction=self._get(t, "jurisdiction", str, f"[regions.{n}]")))
        domains = self._named(raw, "domains", self._domain)
        classes = self._named(raw, "classification", lambda n, t: Classification(
            name=n, protection=self._get(t, "protection", str, f"[classification.{n}]")))
        retention = self._build("[retention]", lambda: self._retention(self._table(raw, "retention")))
        lineage = self._build("[lineage]", lambda: self._lineage(self._table(raw, "lineage")))
        keys = self._build("[keys]", lambda: self._keys(self._table(raw, "keys")))
        roles = self._named(raw, "roles", self._role)
        people = self._people(self._table(raw, "people"))
        identity = self._build("[identity]", lambda: self._identity(self._table(raw, "identity")))
        council = self._build("[council]", lambda: self._council(self._table(raw, "council")))
        audit = self._build("[audit]", lambda: AuditSettings(key_fingerprint=self._get(
            self._table(raw, "audit"), "key_fingerprint", str, "[audit]", default=None)))
        state = self._build("[state]", lambda: self._state(self._table(raw, "state")))
        ops = self._build("[ops]", lambda: read_ops(self._table(raw, "ops")))
        for name in ops.domains if ops else ():
            if name not in domains:
                self._problem(f"[ops.domains.{name}]", f"domain '{name}' is not declared",
                              "remove it or fix the name. " + did_you_mean(name, domains))
        alerts = self._build("[alerts]", lambda: read_alerts(self._table(raw, "alerts")))
        sod = self._build("[sod]", lambda: self._sod(self._table(raw, "sod")))
        billing = self._build("[billing]", lambda: self._billing(self._table(raw, "billing")))
        grants = tuple(g for i, t in enumerate(self._list(raw, "grants"))
                       if (g := self._build(f"[[grants]][{i}]", partial(self._grant, i, t))))
        if settings is not None:
            self._cross_check(settings, regions, domains, grants, declared=set(self._table(raw, "regions")),
                              retention_domains=retention.per_domain if retention else ())
            self._alert_domains(alerts, domains)
        self._look_alikes(people, domains, roles, grants)
        if self.problems or settings is None or retention is None or lineage is None or keys is None \
                or identity is None or council is None or audit is None or state is None or ops is None or alerts is None \
                or sod is None or billing is None:
            raise PolicyErrors(self.file, self.problems)
        return MeshPolicy(path=self.file, settings=settings, regions=regions, domains=domains,
                          classifications=classes, retention=retention, grants=grants, roles=roles,
                          lineage=lineage, keys=keys, people=people, identity=identity, council=council, audit=audit,
                          state=state, ops=ops, alerts=alerts, sod=sod, billing=billing)

    def trust(self, snapshot: Snapshot) -> Trust:
        """A council-approved snapshot of the trust sections, read as the file's are."""
        raw = dict(snapshot)
        owners = raw.get("owners")
        people = self._people(self._table(raw, "people"))
        roles = self._named(raw, "roles", self._role)
        identity = self._build("[identity]", lambda: self._identity(self._table(raw, "identity")))
        council = self._build("[council]", lambda: self._council(self._table(raw, "council")))
        owned = {name: emails for name, table in (owners.items() if isinstance(owners, dict) else ())
                 if (emails := self._build(f"[domains.{name}]", partial(
                     self._emails, {"owners": table}, "owners", f"[domains.{name}]")))}
        state = self._build("[state]", lambda: self._state(self._table(raw, "state")))
        if self.problems or identity is None or council is None or state is None:
            raise PolicyErrors(self.file, self.problems)
        return Trust(people=people, roles=roles, identity=identity, council=council, owners=owned, state=state)

    # -- sections -------------------------------------------------------------------------------
    def _role(self, name: str, t: dict[str, Any]) -> Role:
        return Role(name=name, members=self._emails(t, "members", f"[roles.{name}]"),
                    permissions=self._strings(t, "permissions", f"[roles.{name}]"))

    def _settings(self, t: dict[str, Any]) -> MeshSettings:
        self._unknown_keys(t, _KEYS["mesh"], "[mesh]")
        return MeshSettings(
            name=self._get(t, "name", str, "[mesh]"),
            primary_region=self._get(t, "primary_region", str, "[mesh]"),
            secondary_region=self._get(t, "secondary_region", str, "[mesh]", default=None))

    def _keys(self, t: dict[str, Any]) -> KeysPolicy:
        self._unknown_keys(t, _KEYS["keys"], "[keys]")
        return KeysPolicy(provider=self._get(t, "provider", str, "[keys]", default="local"))

    def _lineage(self, t: dict[str, Any]) -> LineagePolicy:
        self._unknown_keys(t, _KEYS["lineage"], "[lineage]")
        timeout = t.get("timeout_seconds", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ConfigError(f"'timeout_seconds' must be a number, not {type(timeout).__name__} ({timeout!r})",
                              where="[lineage].timeout_seconds", fix="write timeout_seconds = 5")
        return LineagePolicy(
            namespace=self._get(t, "namespace", str, "[lineage]", default=""),
            transport=self._get(t, "transport", str, "[lineage]", default=None),
            file=self._get(t, "file", str, "[lineage]", default=".mesh/lineage/events.jsonl"),
            url=self._get(t, "url", str, "[lineage]", default=None),
            endpoint=self._get(t, "endpoint", str, "[lineage]", default="api/v1/lineage"),
            timeout_seconds=float(timeout))

    def _state(self, t: dict[str, Any]) -> StateSettings:
        self._unknown_keys(t, _KEYS["state"], "[state]")
        return StateSettings(url=self._get(t, "url", str, "[state]", default=None),
                             password_env=self._get(t, "password_env", str, "[state]", default=None))

    def _sod(self, t: dict[str, Any]) -> SodPolicy:
        self._unknown_keys(t, _KEYS["sod"], "[sod]")
        rules = []
        for i, rule in enumerate(self._list(t, "rules", where="[[sod.rules]]")):
            where = f"[[sod.rules]][{i}]"
            self._unknown_keys(rule, _KEYS["sod.rules"], where)
            built = self._build(where, partial(
                lambda i, rule, where: SodRule(index=i, name=self._get(rule, "name", str, where),
                                               incompatible=self._strings(rule, "incompatible", where),
                                               reason=self._get(rule, "reason", str, where, default="")),
                i, rule, where))
            if built is not None:
                rules.append(built)
        return SodPolicy(rules=tuple(rules))

    def _billing(self, t: dict[str, Any]) -> BillingRates:
        self._unknown_keys(t, _KEYS["billing"], "[billing]")
        rates = {}
        for name in RATES:
            value = t.get(name, 0.0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"'{name}' must be a number, not {type(value).__name__} ({_cut(value)})",
                                  where=f"[billing].{name}", fix=f"write {name} = 0.02 (a price per unit)")
            rates[name] = float(value)
        return BillingRates(currency=self._get(t, "currency", str, "[billing]", default="USD"), **rates)

    def _identity(self, t: dict[str, Any]) -> IdentitySettings:
        self._unknown_keys(t, _KEYS["identity"], "[identity]")
        refetch = t.get("jwks_refetch_seconds", 60.0)
        if isinstance(refetch, bool) or not isinstance(refetch, int | float):
            raise ConfigError(f"'jwks_refetch_seconds' must be a number, not {type(refetch).__name__} ({_cut(refetch)})",
                              where="[identity].jwks_refetch_seconds", fix="write jwks_refetch_seconds = 60")
        return IdentitySettings(
            provider=self._get(t, "provider", str, "[identity]", default="local"),
            issuer=self._get(t, "issuer", str, "[identity]", default=None),
            audience=self._get(t, "audience", str, "[identity]", default=None),
            jwks_url=self._get(t, "jwks_url", str, "[identity]", default=None),
            email_claim=self._get(t, "email_claim", str, "[identity]", default="email"),
            jwks_refetch_seconds=float(refetch))

    def _council(self, t: dict[str, Any]) -> CouncilSettings:
        self._unknown_keys(t, _KEYS["council"], "[council]")
        return CouncilSettings(quorum=self._get(t, "quorum", int, "[council]", default=1))

    def _people(self, t: dict[str, Any]) -> dict[str, Person]:
        """``[people."<email>"]``, keyed by the normalised address; two spellings of one are refused."""
        people: dict[str, Person] = {}
        for name, table in t.items():
            where = f'[people."{name}"]'
            if not isinstance(table, dict):
                self._problem(where, "is not a table", f'write it as [people."{name}"] with public_key below it')
                continue
            self._unknown_keys(table, _KEYS["people"], where)
            email = normalize_email(name)
            if email in people:
                self._problem(where, f"'{name}' is registered twice (addresses are compared in lower case)",
                              f'keep one [people."{email}"] table')
                continue
            person = self._build(where, partial(self._person, email, table, where))
            if person is not None:
                people[email] = person
        return people

    def _look_alikes(self, people: Mapping[str, Person], domains: Mapping[str, DomainPolicy],
                     roles: Mapping[str, Role], grants: Sequence[Grant]) -> None:
        """Refuse two addresses that read as each other (``аре@`` beside ``ape@``): a reviewer of
        owners, members or approvals would take one person for the other."""
        cited: dict[str, str] = {}
        for email in people:
            cited.setdefault(email, f'[people."{email}"]')
        for name, domain in domains.items():
            for email in domain.owners:
                cited.setdefault(email, f"[domains.{name}].owners")
        for name, role in roles.items():
            for email in role.members:
                cited.setdefault(email, f"[roles.{name}].members")
        for grant in grants:
            for email in (*grant.approved_by, *((grant.requested_by,) if grant.requested_by else ())):
                cited.setdefault(email, f"[[grants]][{grant.index}]")
        for email, twin in look_alikes(cited).items():
            self._problem(cited[email], f"'{email}' reads as '{twin}' ({cited[twin]}): one can be taken for the other",
                              "register each person under an address no other one's letters can be mistaken for "
                              "(write it in Latin letters, or choose another)")

    def _person(self, email: str, t: dict[str, Any], where: str) -> Person:
        return Person(email=email, public_key=self._get(t, "public_key", str, where))

    def _domain(self, name: str, t: dict[str, Any]) -> DomainPolicy:
        where = f"[domains.{name}]"
        return DomainPolicy(
            name=name, owners=self._emails(t, "owners", where),
            pool_slots=self._get(t, "pool_slots", int, where, default=4),
            max_assets=self._get(t, "max_assets", int, where, default=100),
            max_storage_bytes=self._get(t, "max_storage_bytes", int, where, default=None),
            residency=self._strings(t, "residency", where, default=()),
            retired=self._get(t, "retired", bool, where, default=False))

    def _retention(self, t: dict[str, Any]) -> Retention:
        self._unknown_keys(t, _KEYS["retention"], "[retention]")
        per_domain = self._get(t, "domains", dict, "[retention]", default={})
        days: dict[str, int] = {}
        for name, value in per_domain.items():
            if isinstance(value, bool) or not isinstance(value, int):
                self._problem(f"[retention].domains.{name}",
                              f"must be a whole number of days, not {type(value).__name__} ({_cut(value)})",
                              f"write domains = {{ {name} = 365 }}, a positive whole number of days")
                continue
            days[name] = value
        return Retention(default_days=self._get(t, "default_days", int, "[retention]", default=2555),
                         per_domain=days)

    def _grant(self, i: int, t: dict[str, Any]) -> Grant:

        where = f"[[grants]][{i}]"
        self._unknown_keys(t, _KEYS["grants"], where)
        return Grant(
            index=i, id=self._get(t, "id", str, where, default=""), nonce=self._get(t, "nonce", str, where, default=""),
            product=self._get(t, "product", str, where),
            consumer=self._get(t, "consumer", str, where), purpose=self._get(t, "purpose", str, where),
            approved_by=self._emails(t, "approved_by", where, default=()),
            signatures=self._signatures(t, where, grant_id_of(t)),
            expires=self._get(t, "expires", dt.date, where, default=None),
            requested_by=normalize_email(self._get(t, "requested_by", str, where, default="")))

    def _signatures(self, t: dict[str, Any], where: str, grant_id: str) -> dict[str, str]:

        raw = self._get(t, "signatures", dict, where, default={})
        signatures: dict[str, str] = {}
        for name, value in raw.items():
            email = normalize_email(name)
            if not isinstance(value, str):
                raise ConfigError(f"the signature of '{name}' must be a string", where=f'{where}.signatures."{name}"',
                                  fix='write signatures = { "<email>" = "ed25519:..." }')
            if signatures.get(email, value) != value:
                raise ConfigError(f"two different signatures of '{email}'", where=f"{where}.signatures",
                                  fix=f"keep one; {email} signs again with `mesh access approve {grant_id} --as {email}`")
            signatures[email] = value
        return signatures

    def _cross_check(self, settings: MeshSettings, regions: Mapping[str, Region],
                     domains: Mapping[str, DomainPolicy], grants: tuple[Grant, ...], *,
                     declared: set[str], retention_domains: Collection[str]) -> None:
        """Checks across sections. A table that failed its own checks is not reported again."""
        for key in ("primary_region", "secondary_region"):
            name = getattr(settings, key)
            if name is not None and name not in declared:
                self._problem(f"[mesh].{key}", f"region '{name}' is not declared",
                              f"add [regions.{name}] or name one of {sorted(declared)}. "
                              + did_you_mean(name, declared))
        self._distinct_storage(settings, regions)
        for name in retention_domains:
            if name not in domains:
                self._problem(f"[retention].domains.{name}", f"domain '{name}' is not declared",
                              "remove it or fix the name. " + did_you_mean(name, domains))
        jurisdictions = {r.jurisdiction for r in regions.values()}
        for d in domains.values():
            if d.residency and settings.primary_region in regions \
                    and regions[settings.primary_region].jurisdiction not in d.residency:
                self._problem(f"[domains.{d.name}].residency",
                              f"the primary region '{settings.primary_region}' is outside residency {list(d.residency)}",
                              f"add '{regions[settings.primary_region].jurisdiction}' or choose another primary region")
            for j in d.residency:
                if j not in jurisdictions:
                    self._problem(f"[domains.{d.name}].residency", f"no region is in jurisdiction '{j}'",
                                  "add a region there or remove it from residency")
        first: dict[str, int] = {}
        for g in grants:
            if g.id in first:
                self._problem(f"[[grants]][{g.index}].id",
                              f"grant id '{g.id}' is also the id of [[grants]][{first[g.id]}]",
                              f'give one of them its own id = "{new_grant_id(first)}", or remove the duplicate grant')
            first.setdefault(g.id, g.index)
        for g in grants:
            where = f"[[grants]][{g.index}]"
            # Whether each approver is an owner or a role member is judged against the trust the
            # council approved, grant by grant (``governance.check.grant_problems``), never here:
            # an edit of owners would otherwise refuse the whole file, and every run with it.
            for signer in g.signatures:
                if signer not in g.approved_by:
                    self._problem(f'{where}.signatures."{signer}"', f"'{signer}' signed but is not in approved_by",
                                  f"remove the signature, or have {signer} approve: "
                                  f"`mesh access approve {g.id} --as {signer}`")
            if g.requested_by and g.requested_by in g.approved_by:
                self._problem(f"{where}.approved_by", f"'{g.requested_by}' approved their own request",
                              "remove the self-approval; another owner or the council must approve")
            for key, domain in (("product", g.producer), ("consumer", g.consumer)):
                if domain not in domains:
                    self._problem(f"{where}.{key}", f"domain '{domain}' is not declared",
                                  f"declare [domains.{domain}] or fix the name. " + did_you_mean(domain, domains))
        if not domains:
            self._problem("[domains]", "no domain is declared", "add a [domains.<name>] table with owners")

    def _alert_domains(self, alerts: AlertsPolicy | None, domains: Mapping[str, DomainPolicy]) -> None:
        """Routes and RPO targets of ``[alerts]`` name declared domains."""
        if alerts is None:
            return
        for route in alerts.routes:
            for name in route.domains:
                if name not in domains:
                    self._problem(f"[[alerts.routes]] '{route.name}'.domains", f"domain '{name}' is not declared",
                                  "remove it or fix the name. " + did_you_mean(name, domains))
        for name in alerts.rpo_minutes:
            if name != "default" and name not in domains:
                self._problem(f"[alerts].rpo_minutes.{name}", f"domain '{name}' is not declared",
                              "remove it, fix the name, or write default = ... " + did_you_mean(name, domains))

    def _distinct_storage(self, settings: MeshSettings, regions: Mapping[str, Region]) -> None:
        """The secondary region is a copy for disaster recovery: never the primary's folder or
        inside it (or around it), else replication and retention would act on one store twice."""
        primary, secondary = regions.get(settings.primary_region), regions.get(settings.secondary_region or "")
        if primary is None or secondary is None:
            return
        a, b = (r.storage_url(self.file.parent).rstrip("/") for r in (primary, secondary))
        if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
            self._problem(f"[regions.{secondary.name}].storage",
                          f"'{secondary.storage}' is the folder of the primary region '{primary.name}' "
                          f"('{primary.storage}') or overlaps it",
                          f"give [regions.{secondary.name}] a different folder, outside the primary's")

    # -- helpers --------------------------------------------------------------------------------
    def _problem(self, where: str, what: str, fix: str) -> None:
        self.problems.append(ConfigError(what, where=f"{self.file.name} {where}", fix=fix.strip()))

    def _build(self, where: str, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except ConfigError as exc:
            self.problems.append(ConfigError(exc.what, where=f"{self.file.name} {exc.where or where}", fix=exc.fix))
            return None

    def _named(self, raw: dict[str, Any], section: str,
               make: Callable[[str, dict[str, Any]], T]) -> dict[str, T]:
        out: dict[str, T] = {}
        for name, table in self._table(raw, section).items():
            where = f"[{section}.{name}]"
            if not isinstance(table, dict):
                self._problem(where, "is not a table", f"write it as [{section}.{name}] with keys below it")
                continue
            self._unknown_keys(table, _KEYS[section], where)
            built = self._build(where, partial(make, name, table))
            if built is not None:
                out[name] = built
        return out

    def _table(self, raw: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
        value = raw.get(key)
        if value is None:
            if required:
                self._problem(f"[{key}]", f"the [{key}] table is missing", f"add a [{key}] table (see the README)")
            return {}
        if not isinstance(value, dict):
            self._problem(f"[{key}]", "is not a table", f"write it as a [{key}] table")
            return {}
        return value

    def _list(self, raw: dict[str, Any], key: str, *, where: str | None = None) -> list[dict[str, Any]]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            where = where or f"[[{key}]]"
            self._problem(where, "is not an array of tables", f"write each entry as {where}")
            return []
        return value

    def _unknown_keys(self, table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                self._problem(f"{where}.{key}" if where else f"[{key}]", f"unknown key '{key}'",
                              f"remove it or use one of {', '.join(allowed)}. " + did_you_mean(key, allowed))

    def _get(self, t: dict[str, Any], key: str, kind: type, where: str, **kw: Any) -> Any:
        if key not in t:
            if "default" in kw:
                return kw["default"]
            raise ConfigError(f"'{key}' is missing", where=f"{where}.{key}", fix=f"add {key} = ...")
        value = t[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind) \
                or kind is dt.date and isinstance(value, dt.datetime):
            raise ConfigError(f"'{key}' must be {a_kind(kind)}, not {type(value).__name__} ({value!r})",
                              where=f"{where}.{key}", fix=f"write {key} as {a_kind(kind)}")
        return value

    def _emails(self, t: dict[str, Any], key: str, where: str, **kw: Any) -> tuple[str, ...]:
        """A list of e-mail addresses, normalised, each once (two spellings are one person)."""

        return tuple(dict.fromkeys(normalize_email(e) for e in self._strings(t, key, where, **kw)))

    def _strings(self, t: dict[str, Any], key: str, where: str, **kw: Any) -> tuple[str, ...]:
        value = self._get(t, key, list, where, **kw)
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"'{key}' must be a list of strings", where=f"{where}.{key}",
                              fix=f'write {key} = ["..."]')
        return tuple(value)


def _cut(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
