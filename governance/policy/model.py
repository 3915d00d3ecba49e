"""The typed policy objects that ``mesh.toml`` is loaded into.

Each class is a frozen dataclass that checks its own invariants on construction and raises
:class:`~assets.errors.ConfigError` naming the key path (``[domains.sales].max_assets``) and
what is allowed. Cross-references between sections are checked by the loader, which reports
every problem at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import keyword
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assets.check_failure import cut
from assets.emails import is_email, normalize_email
from assets.errors import ConfigError
from governance.policy.alerts import AlertsPolicy
from governance.policy.key_texts import is_public_key_text, is_signature_text
from governance.policy.ops import OpsPolicy
from governance.policy.reporting import (
    BillingRates,
    SodPolicy,
    is_permission,
    permission_fix,
)

#: Jurisdictions a region may be placed in. Residency rules speak this vocabulary.
JURISDICTIONS = frozenset({"us", "ca", "eu", "uk", "ch", "jp", "sg", "au", "in", "br"})
#: How a classified column is protected at rest.
PROTECTIONS = frozenset({"tokenize", "encrypt", "redact", "none"})

_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
#: The longest name of a domain (or other table): names become folder and module names.
MAX_NAME_LENGTH = 63


def _require(ok: bool, where: str, what: str, fix: str) -> None:
    if not ok:
        raise ConfigError(what, where=where, fix=fix)


def check_name(name: str, where: str) -> None:
    """Refuse (:class:`ConfigError`) a name the mesh cannot use for a domain, role or region."""
    _require(len(name) <= MAX_NAME_LENGTH, where, f"the name is {len(name)} characters long",
             f"use a name of at most {MAX_NAME_LENGTH} characters")
    _require(bool(_NAME.match(name)), where, f"'{name}' is not a valid name",
             "use lower-case letters, digits and '_', starting with a letter")
    _require(not keyword.iskeyword(name) and not keyword.issoftkeyword(name), where,
             f"'{name}' is a Python keyword: a domain's code is the package domains/{name}, which Python cannot "
             "import by that name", f"choose another name, such as '{name}_data'")


def _check_path(path: str, where: str) -> None:
    _require("\x00" not in path, where, "the path holds a NUL character (\\u0000)",
             "remove the NUL character; no file system accepts it in a path")


def _check_emails(emails: tuple[str, ...], where: str) -> None:
    for email in emails:
        _require(is_email(email), where, f"'{email}' is not an e-mail address",
                 "write owners and members as e-mail addresses, like 'team@acme.example'")


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshSettings:
    """``[mesh]``: the mesh's name and its primary and secondary regions."""

    name: str
    primary_region: str
    secondary_region: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.name), "[mesh].name", "the mesh has no name", 'write name = "acme"')
        _require(self.secondary_region != self.primary_region, "[mesh].secondary_region",
                 "the secondary region is the primary region", "name a different region, or remove it")


@dataclass(frozen=True, slots=True, kw_only=True)
class Region:
    """``[regions.<name>]``: a storage root (local folder or fsspec URL) in a jurisdiction."""

    name: str
    storage: str
    jurisdiction: str

    def __post_init__(self) -> None:
        where = f"[regions.{self.name}]"
        _require(bool(self.storage), f"{where}.storage", "the region has no storage",
                 'write storage = ".mesh/regions/<name>" or an s3:// URL')
        _check_path(self.storage, f"{where}.storage")
        _require(self.jurisdiction in JURISDICTIONS, f"{where}.jurisdiction",
                 f"unknown jurisdiction '{self.jurisdiction}'",
                 f"use one of {', '.join(sorted(JURISDICTIONS))}")

    def storage_url(self, root: Path) -> str:
        """The storage root as an fsspec URL; relative folders are taken from ``root``."""
        if "://" in self.storage:
            return self.storage
        path = Path(self.storage)
        return str(path if path.is_absolute() else (root / path).resolve())


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainPolicy:
    """``[domains.<name>]``: a tenant with owners, a pool, quotas and residency. A ``retired``
    domain is kept for the record; its code is no longer loaded."""

    name: str
    owners: tuple[str, ...]
    pool_slots: int = 4
    max_assets: int = 100
    max_storage_bytes: int | None = None
    residency: tuple[str, ...] = ()
    retired: bool = False

    def __post_init__(self) -> None:
        where = f"[domains.{self.name}]"
        check_name(self.name, where)
        _require(bool(self.owners), f"{where}.owners", "the domain has no owners",
                 'write owners = ["team@acme.example"]')
        _check_emails(self.owners, f"{where}.owners")
        _require(self.pool_slots >= 1, f"{where}.pool_slots", "pool_slots must be at least 1",
                 "write a positive number of slots")
        _require(self.max_assets >= 1, f"{where}.max_assets", "max_assets must be at least 1",
                 "write a positive number")
        _require(self.max_storage_bytes is None or self.max_storage_bytes >= 1,
                 f"{where}.max_storage_bytes", "max_storage_bytes must be positive", "write a byte count")
        for j in self.residency:
            _require(j in JURISDICTIONS, f"{where}.residency", f"unknown jurisdiction '{j}'",
                     f"use some of {', '.join(sorted(JURISDICTIONS))}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """``[classification.<name>]``: how columns of this class are protected at rest."""

    name: str
    protection: str

    def __post_init__(self) -> None:
        _require(self.protection in PROTECTIONS, f"[classification.{self.name}].protection",
                 f"unknown protection '{self.protection}'", f"use one of {', '.join(sorted(PROTECTIONS))}")


#: The longest retention: ``now - days`` must stay a date (Python's dates start at the year 1).
MAX_RETENTION_DAYS = 365_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """``[retention]``: how long non-current versions are kept, by default and per domain."""

    default_days: int = 2555
    per_domain: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self.default_days >= 1, "[retention].default_days", "retention must be at least 1 day",
                 "write a positive number of days")
        _require(self.default_days <= MAX_RETENTION_DAYS, "[retention].default_days",
                 f"retention of {self.default_days} days reaches before the year 1, where no date is",
                 f"write at most {MAX_RETENTION_DAYS} days (1,000 years: every version is kept)")
        for name, days in self.per_domain.items():
            _require(days >= 1, f"[retention].domains.{name}",
                     f"retention must be at least 1 day, not {days}: every non-current version would be removed",
                     "write a positive number of days")
            _require(days <= MAX_RETENTION_DAYS, f"[retention].domains.{name}",
                     f"retention of {days} days reaches before the year 1, where no date is",
                     f"write at most {MAX_RETENTION_DAYS} days (1,000 years: every version is kept)")

    def days_for(self, domain: str) -> int:
        return self.per_domain.get(domain, self.default_days)


#: Lineage transports ``[lineage].transport`` may name.
TRANSPORTS = frozenset({"file", "http", "composite", "console", "none"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LineagePolicy:
    """``[lineage]``: where OpenLineage events go. ``namespace`` defaults to the mesh's name;
    ``transport`` is ``file`` (``file``, default ``.mesh/lineage/events.jsonl``), ``http``
    (``url`` + ``endpoint``, a Marquez-style API), ``composite`` (both), ``console`` or
    ``none``. Left unset, an ``openlineage.yml`` beside ``mesh.toml`` is used if present."""

    namespace: str = ""
    transport: str | None = None
    file: str = ".mesh/lineage/events.jsonl"
    url: str | None = None
    endpoint: str = "api/v1/lineage"
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        _require(self.transport is None or self.transport in TRANSPORTS, "[lineage].transport",
                 f"unknown transport '{self.transport}'", f"use one of {', '.join(sorted(TRANSPORTS))}")
        needs_url = self.transport in ("http", "composite")
        _require(not needs_url or bool(self.url), "[lineage].url", f"the {self.transport} transport needs a url",
                 'write url = "http://localhost:5000" (the Marquez API)')
        _require(self.url is None or self.url.startswith(("http://", "https://")), "[lineage].url",
                 f"'{self.url}' is not an http(s) URL", 'write url = "http://host:port"')
        _check_path(self.file, "[lineage].file")
        _require(self.timeout_seconds > 0, "[lineage].timeout_seconds", "the timeout must be positive",
                 "write a number of seconds, like 5")


#: A grant's purpose is read by the approvers, in mesh.toml, the audit log and listings.
MAX_PURPOSE_LENGTH = 500
#: The longest product or consumer of a grant: what the state database keeps of a revoked grant.
MAX_GRANT_NAME_LENGTH = 255

#: A grant's id: written by ``mesh access request`` (``g-`` and 8 hex digits) or by hand.
_GRANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}\Z")


def derived_grant_id(product: str, consumer: str, purpose: str, expires: dt.date | None) -> str:
    """The id of a grant written without one: a digest of what it grants, so it does not change
    when other grants are added or removed."""
    text = "\n".join((product, consumer, purpose, expires.isoformat() if expires else ""))
    return "g-" + hashlib.sha256(text.encode()).hexdigest()[:8]


def new_grant_id(taken: Collection[str]) -> str:
    """A fresh random grant id, none of ``taken``."""
    while (candidate := "g-" + secrets.token_hex(4)) in taken:
        continue
    return candidate


#: A grant's nonce: 32 lower-case hex digits (128 random bits), written when it is requested.
_GRANT_NONCE = re.compile(r"^[0-9a-f]{32}\Z")


def new_grant_nonce() -> str:
    """A fresh random nonce for a grant: its approvals are signed over it, and its revocation
    names it, so a grant re-created with the same id and content is another grant."""
    return secrets.token_hex(16)


def grant_id_of(table: Mapping[str, object]) -> str:
    """The id of a ``[[grants]]`` table as read from the file: its ``id``, else the derived one."""
    given = table.get("id")
    if isinstance(given, str) and given:
        return given
    expires = table.get("expires")
    return derived_grant_id(str(table.get("product", "")), str(table.get("consumer", "")),
                            str(table.get("purpose", "")), expires if isinstance(expires, dt.date) else None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """``[[grants]]``: a consumer domain's access to a restricted product, with approvals.

    ``approved_by`` names the approvers; ``signatures`` maps each of them to their Ed25519
    signature over the grant's content (see :mod:`governance.identity.approvals`). The loader
    normalises every address; a name without a valid signature approves nothing.

    ``id`` addresses the grant (``mesh access approve ID``); a grant without one gets
    :func:`derived_grant_id`. ``nonce`` (:func:`new_grant_nonce`, written by ``mesh access
    request``) is signed with the id and the mesh's name; a grant without one has no valid
    approval until ``mesh access approve`` gives it one. ``index`` is only its position in the
    file, for error messages."""

    product: str
    consumer: str
    purpose: str
    approved_by: tuple[str, ...] = ()
    expires: dt.date | None = None
    requested_by: str = ""
    signatures: Mapping[str, str] = field(default_factory=dict)
    index: int = 0
    id: str = ""
    nonce: str = ""

    def __post_init__(self) -> None:
        where = f"[[grants]][{self.index}]"
        # The text is checked before the id is derived from it: a lone surrogate (an undecodable
        # byte of a shell argument) cannot be encoded to be hashed.
        _require(len(self.product) <= MAX_GRANT_NAME_LENGTH and self.product.count(".") == 1
                 and self.product.isprintable(), f"{where}.product", f"{cut(repr(self.product), 60)} is not an asset key",
                 f'write product = "<domain>.<asset>" (at most {MAX_GRANT_NAME_LENGTH} printable characters)')
        _require(bool(self.purpose.strip()), f"{where}.purpose", "the grant has no purpose",
                 'write purpose = "why the consumer needs it"')
        _require(len(self.purpose) <= MAX_PURPOSE_LENGTH and self.purpose.isprintable(), f"{where}.purpose",
                 f"the purpose is not one line of at most {MAX_PURPOSE_LENGTH} printable characters of UTF-8 text",
                 "write it as one line of plain text, without control characters or bytes that are not UTF-8")
        _require(len(self.consumer) <= MAX_GRANT_NAME_LENGTH and self.consumer.isprintable(), f"{where}.consumer",
                 f"{cut(repr(self.consumer), 60)} is not a domain name", "name a domain of mesh.toml")
        if not self.id:
            object.__setattr__(self, "id", derived_grant_id(self.product, self.consumer, self.purpose, self.expires))
        _require(bool(_GRANT_ID.match(self.id)), f"{where}.id", f"{self.id[:40]!r} is not a grant id",
                 "use up to 32 lower-case letters, digits, '-' and '_', or remove it to get a derived id")
        _require(not self.nonce or bool(_GRANT_NONCE.match(self.nonce)), f"{where}.nonce",
                 f"{self.nonce[:40]!r} is not a grant nonce (32 lower-case hex digits)",
                 f"restore the nonce `mesh access request` wrote, or remove it and have the approvers approve "
                 f"again (`mesh access approve {self.id} --as EMAIL` writes a new one)")
        _check_emails(self.approved_by, f"{where}.approved_by")
        _check_emails(tuple(self.signatures), f"{where}.signatures")
        for email, signature in self.signatures.items():
            _require(is_signature_text(signature), f'{where}.signatures."{email}"',
                     "the signature is not 'ed25519:<base64 of 64 bytes>'",
                     f"remove it; {email} signs with `mesh access approve {self.id} --as {email}`")

    @property
    def producer(self) -> str:
        return self.product.split(".", 1)[0]

    def is_expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """``[roles.<name>]``: members and the permissions they hold."""

    name: str
    members: tuple[str, ...]
    permissions: tuple[str, ...]

    def __post_init__(self) -> None:
        where = f"[roles.{self.name}]"
        _check_emails(self.members, f"{where}.members")
        for p in self.permissions:
            _require(is_permission(p), f"{where}.permissions", f"unknown permission '{p}'", permission_fix())


#: Key providers known without a plug-in; a plug-in is named ``package.module:factory``.
KEY_PROVIDERS = frozenset({"local"})
_PLUGIN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysPolicy:
    """``[keys]``: which key provider holds the key-encryption keys. ``local`` (default) keeps
    owner-only files under ``.mesh/keys``; ``package.module:factory`` plugs in another (a KMS),
    called with this policy and the mesh's state folder."""

    provider: str = "local"

    def __post_init__(self) -> None:
        _require(self.provider in KEY_PROVIDERS or bool(_PLUGIN.match(self.provider)), "[keys].provider",
                 f"unknown key provider '{self.provider}'",
                 f"use {', '.join(sorted(KEY_PROVIDERS))}, or name a plug-in as 'package.module:factory'")


_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSettings:
    """``[audit]``: ``key_fingerprint`` pins the public key the audit log's signed tree heads
    must verify with (``sha256:<hex>``, as ``mesh audit pin`` writes it), so a key stored next to
    the log cannot vouch for itself."""

    key_fingerprint: str | None = None

    def __post_init__(self) -> None:
        _require(self.key_fingerprint is None or bool(_FINGERPRINT.match(self.key_fingerprint)),
                 "[audit].key_fingerprint", f"'{self.key_fingerprint}' is not 'sha256:<64 hex digits>'",
                 "run `mesh audit pin` to write it, or copy it unchanged from the council's record")


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """``[people."<email>"]``: a person and the public key they prove who they are with."""

    email: str
    public_key: str

    def __post_init__(self) -> None:
        where = f'[people."{self.email}"]'
        _require(is_email(self.email) and normalize_email(self.email) == self.email, where,
                 f"'{self.email}' is not a (lower-case) e-mail address",
                 'write [people."name@acme.example"], the address in lower case')
        _require(is_public_key_text(self.public_key), f"{where}.public_key",
                 "the public key is not 'ed25519:<base64 of 32 bytes>'",
                 f"write the line `mesh identity create {self.email}` printed, unchanged")


#: URL schemes ``[state].url`` may name, and the SQLAlchemy driver each is opened with.
STATE_SCHEMES = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
                 "postgresql+psycopg": "postgresql+psycopg"}
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class StateSettings:
    """``[state]``: the database that holds the mesh's shared state (run history, audit log,
    lineage outbox, grant requests, active region). ``url`` is ``postgresql://user@host:port/db``
    or ``sqlite:///path`` (a relative path is taken from the folder of ``mesh.toml``); left out,
    the run history and the lineage outbox live in ``.mesh/state/mesh.sqlite`` and the rest in
    files under ``.mesh``. The password never goes in ``mesh.toml``: ``password_env`` names the
    environment variable that holds it."""

    url: str | None = None
    password_env: str | None = None

    def __post_init__(self) -> None:
        if self.url is None:
            _require(self.password_env is None, "[state].password_env", "password_env is set but url is not",
                     'add url = "postgresql://mesh@db.acme.example:5432/mesh_state", or remove password_env')
            return
        scheme, sep, rest = self.url.partition("://")
        _require(bool(sep) and scheme in STATE_SCHEMES, "[state].url",
                 f"'{scheme if sep else self.url}' is not a state database this mesh can use",
                 'write url = "postgresql://user@host:5432/mesh_state" or "sqlite:///.mesh/state/mesh.sqlite", '
                 "or remove [state] for the default (SQLite under .mesh/state)")
        _check_path(self.url, "[state].url")
        if scheme == "sqlite":
            _require(rest.startswith("/") and len(rest) > 1, "[state].url", "the SQLite URL names no file",
                     'write url = "sqlite:///.mesh/state/mesh.sqlite" (three slashes, then the path)')
        else:
            credentials, _, location = rest.rpartition("@")
            _require(":" not in credentials, "[state].url",
                     "the URL holds a password: mesh.toml is shared and backed up",
                     'remove the password from the URL and set password_env = "MESH_STATE_PASSWORD" (the '
                     "environment variable that holds it)")
            _require(bool(location.split("/", 1)[0]), "[state].url", "the URL names no host",
                     'write url = "postgresql://user@host:5432/mesh_state"')
        _require(self.password_env is None or bool(_ENV_NAME.match(self.password_env)), "[state].password_env",
                 f"'{self.password_env}' is not an environment variable name",
                 'write password_env = "MESH_STATE_PASSWORD" (upper-case letters, digits and _)')

    @property
    def shared(self) -> bool:
        """Whether a database was named: then it holds all the shared state, the audit log too."""
        return self.url is not None


#: Identity providers ``[identity].provider`` may name.
IDENTITY_PROVIDERS = frozenset({"local", "oidc"})


@dataclass(frozen=True, slots=True, kw_only=True)
class CouncilSettings:
    """``[council]``: how many holders of ``approve_policy`` must sign a change of who is who
    and who may do what (``[people]``, ``[roles]``, domain owners, ``[identity]``, ``[council]``)
    before it takes effect."""

    quorum: int = 1

    def __post_init__(self) -> None:
        _require(not isinstance(self.quorum, bool) and isinstance(self.quorum, int) and 1 <= self.quorum <= 50,
                 "[council].quorum", f"quorum must be a whole number from 1 to 50, not {self.quorum!r}",
                 "write quorum = 2 (two council members sign each change of roles and people)")


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySettings:
    """``[identity]``: how people prove who they are. ``provider`` is ``local`` (default: keys
    registered in ``[people]``) or ``oidc`` (``issuer``, ``audience``, optional ``jwks_url``,
    ``email_claim`` and ``jwks_refetch_seconds``, the least time between two fetches of the
    issuer's keys)."""

    provider: str = "local"
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    email_claim: str = "email"
    jwks_refetch_seconds: float = 60.0

    def __post_init__(self) -> None:
        _require(self.provider in IDENTITY_PROVIDERS, "[identity].provider", f"unknown provider '{self.provider}'",
                 f"use one of {', '.join(sorted(IDENTITY_PROVIDERS))}")
        if self.provider == "oidc":
            _require(bool(self.issuer), "[identity].issuer", "the oidc provider needs an issuer",
                     'write issuer = "https://login.acme.example"')
            _require(bool(self.audience), "[identity].audience", "the oidc provider needs an audience",
                     'write audience = "<the client id the issuer gives the mesh>"')
        for key in ("issuer", "jwks_url"):
            url = getattr(self, key)
            _require(url is None or url.startswith(("https://", "http://")), f"[identity].{key}",
                     f"'{url}' is not an http(s) URL", f'write {key} = "https://..."')
        _require(bool(self.email_claim), "[identity].email_claim", "the e-mail claim name is empty",
                 'write email_claim = "email" or remove it')
        _require(0 < self.jwks_refetch_seconds <= 300, "[identity].jwks_refetch_seconds",
                 f"{self.jwks_refetch_seconds} is not a number of seconds from 1 to 300",
                 "write jwks_refetch_seconds = 60 (the least time between two fetches of the issuer's keys)")


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshPolicy:
    """The whole of ``mesh.toml``, validated. ``root`` is the folder that holds it."""

    path: Path
    settings: MeshSettings
    regions: Mapping[str, Region]
    domains: Mapping[str, DomainPolicy]
    classifications: Mapping[str, Classification] = field(default_factory=dict)
    retention: Retention = field(default_factory=Retention)
    grants: tuple[Grant, ...] = ()
    roles: Mapping[str, Role] = field(default_factory=dict)
    lineage: LineagePolicy = field(default_factory=LineagePolicy)
    keys: KeysPolicy = field(default_factory=KeysPolicy)
    people: Mapping[str, Person] = field(default_factory=dict)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    council: CouncilSettings = field(default_factory=CouncilSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    state: StateSettings = field(default_factory=StateSettings)
    ops: OpsPolicy = field(default_factory=OpsPolicy)
    alerts: AlertsPolicy = field(default_factory=AlertsPolicy)
    sod: SodPolicy = field(default_factory=SodPolicy)
    billing: BillingRates = field(default_factory=BillingRates)
    #: People ``mesh.toml`` registers (or registers with another key) whose registration the
    #: council has not approved yet: they cannot act, and are told so (``with_trust`` sets it).
    pending_people: Mapping[str, Person] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def active_domains(self) -> dict[str, DomainPolicy]:
        """Domains whose code is loaded: every declared domain that is not retired."""
        return {name: d for name, d in self.domains.items() if not d.retired}

    @property
    def primary(self) -> Region:
        return self.regions[self.settings.primary_region]

    @property
    def secondary(self) -> Region | None:
        name = self.settings.secondary_region
        return self.regions[name] if name else None
