"""Domains as tenants: quotas, onboarding and offboarding.

- :func:`domain_report`: each domain's assets and stored bytes against its quotas.
- :func:`create_domain`: scaffold ``domains/<name>/`` (a working example asset, its contract;
  its contract tests come from the graph) and ``dags/<name>.py``, and declare it in
  ``mesh.toml``.
- :func:`retire_domain`: refused while other domains consume its products; otherwise revoke
  its grants, archive its data under ``_archive/`` in every region (retention still applies),
  and mark it ``retired`` in ``mesh.toml``.

Each change is audited.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import tomlkit

from assets.emails import is_email, normalize_email
from assets.errors import ConfigError, MeshError
from assets.mesh import Mesh
from governance.access.revocations import record_revocations
from governance.audit import AuditEvent, AuditLog
from governance.council import trust_standing
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.policy import Grant, load_policy
from governance.policy.editing import edit_mesh_toml
from governance.policy.model import check_name, grant_id_of
from governance.services import governed

ARCHIVE = "_archive"


class TenancyError(MeshError):
    """A domain cannot be created or retired as asked."""


def domain_report(mesh: Mesh) -> list[dict[str, Any]]:
    store = mesh.store()
    rows = []
    for name, domain in sorted(mesh.policy.domains.items()):
        assets = [k for k in mesh.graph if mesh.graph[k].spec.domain == name]
        rows.append({"domain": name, "owners": list(domain.owners), "pool_slots": domain.pool_slots,
                     "assets": len(assets), "max_assets": domain.max_assets,
                     "storage_bytes": store.storage_bytes(name), "max_storage_bytes": domain.max_storage_bytes,
                     "residency": list(domain.residency), "retired": domain.retired})
    return rows


_CONTRACT = '''"""Contracts of the {name} domain's data products."""

import pandera.polars as pa


class Example(pa.DataFrameModel):
    id: int = pa.Field(unique=True, ge=1)
    label: str = pa.Field(str_length={{"min_value": 1, "max_value": 40}})

    class Config:
        strict = True
'''
_ASSETS = '''"""Data products of the {name} domain."""

import polars as pl

from assets import asset
from domains.{name}.contracts import Example


@asset(contract=Example, contract_version="1.0.0", schedule="@daily", visibility="private",
       owners=["{owner}"], tags={{"tier": "bronze"}})
def example() -> pl.DataFrame:
    """An example data product: replace it with the domain's first real one."""
    return pl.DataFrame({{"id": [1, 2, 3], "label": ["one", "two", "three"]}})
'''
_DAGS = '''"""Airflow DAGs of the {name} domain: one per asset, and the domain's governance DAG."""

from pathlib import Path

from governance.airflow import domain_dags

globals().update(domain_dags("{name}", Path(__file__).resolve().parent.parent))
'''


def dag_entry_file(name: str) -> str:
    """The text of ``dags/<name>.py``, the Airflow entry file of domain ``name``."""
    return _DAGS.format(name=name)


def create_domain(root: Path, name: str, owner: str, audit: AuditLog, *, actor: Actor) -> list[Path]:
    """Onboard domain ``name`` owned by ``owner``; returns the files written. ``actor`` needs the
    ``manage_domains`` permission."""
    policy = trust_standing(load_policy(root), lambda _: audit).policy  # the roles the council approved
    require(policy, audit, actor, "manage_domains", action="domain_create", target=name)
    try:
        check_name(name, "mesh domain create")  # as mesh.toml's [domains.<name>] will check it
    except ConfigError as exc:
        raise TenancyError(exc.what, where=exc.where, fix=exc.fix) from None
    owner = normalize_email(owner)
    if not is_email(owner):  # before anything is written: it goes into mesh.toml and the new assets.py
        raise TenancyError(f"the owner {owner[:80]!r} is not an e-mail address", where="mesh domain create",
                           fix="pass --owner TEAM@YOUR.DOMAIN, like 'team@acme.example'")
    package = policy.root / "domains" / name
    if name in policy.domains or package.exists():
        raise TenancyError(f"domain '{name}' already exists", where=str(package), fix="choose another name")
    files = {package / "__init__.py": f'"""The {name} domain. Owned by {owner}."""\n',
             package / "contracts.py": _CONTRACT.format(name=name),
             package / "assets.py": _ASSETS.format(name=name, owner=owner),
             policy.root / "dags" / f"{name}.py": dag_entry_file(name)}
    with edit_mesh_toml(policy.path) as doc:
        table = tomlkit.table()
        table.update({"owners": [owner], "pool_slots": 2, "max_assets": 20,
                      "residency": sorted({r.jurisdiction for r in policy.regions.values()})})
        doc["domains"][name] = table
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    audit.append(AuditEvent(actor=actor.id, action="domain_create", target=name, outcome="created", source="cli",
                            details={"owner": owner, "files": [str(p.relative_to(policy.root)) for p in files],
                                     **identity_details(actor)}))
    return list(files)


def retire_domain(mesh: Mesh, name: str, actor: Actor, audit: AuditLog) -> dict[str, Any]:
    """Offboard domain ``name``: revoke grants, archive data, mark it retired. ``actor`` needs
    the ``manage_domains`` permission."""
    require(mesh.policy, audit, actor, "manage_domains", action="domain_retire", target=name)
    if name not in mesh.policy.domains:
        raise TenancyError(f"no domain '{name}'", where="mesh domain retire", fix="name a domain of mesh.toml")
    who = actor.id
    consumers = sorted({f"{k} reads {u}" for k in mesh.graph for u in mesh.graph[k].spec.inputs.values()
                        if u.split(".", 1)[0] == name and mesh.graph[k].spec.domain != name})
    if consumers:
        audit.append(AuditEvent(actor=who, action="domain_retire", target=name, outcome="denied", source="cli",
                                details={"consumers": consumers}))
        raise TenancyError(f"domain '{name}' still has consumers: {'; '.join(consumers)}", where="mesh domain retire",
                           fix="those assets must stop reading it first")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    archived = []
    with governed(mesh).keyring.lock.shared():  # a key rotation never scans a domain halfway archived
        for region in mesh.policy.regions:
            root = mesh.store(region).root
            source = root.path(name)
            if root.exists(source):
                target = root.path(ARCHIVE, f"{name}-{stamp}")
                root.makedirs(root.path(ARCHIVE))
                root.rename(source, target)
                archived.append(root.uri_of(target))
    with edit_mesh_toml(mesh.policy.path) as doc:
        grants = doc.get("grants", [])
        revoked = [g for g in grants if g["product"].split(".", 1)[0] == name or g["consumer"] == name]
        # Recorded before the entries go (a failure leaves the file as it was): pasted back, they grant nothing.
        record_revocations(mesh.policy, [_grant_of(g.unwrap()) for g in revoked], by=who)
        for grant in revoked:
            grants.remove(grant)
        doc["domains"][name]["retired"] = True
    audit.append(AuditEvent(actor=who, action="domain_retire", target=name, outcome="retired", source="cli",
                            details={"archived": archived, "revoked_grants": len(revoked)}))
    for grant in revoked:
        audit.append(AuditEvent(actor=who, action="grant_revoke", target=str(grant["product"]), outcome="revoked",
                                source="cli", details={"consumer": str(grant["consumer"]),
                                                       "grant": grant_id_of(grant.unwrap()),
                                                       "nonce": str(grant.get("nonce", "")), "reason": "domain retired"}))
    return {"archived": archived, "revoked_grants": len(revoked)}


def _grant_of(table: dict[str, Any]) -> Grant:
    """The grant a ``[[grants]]`` table of the file being edited names, to record its revocation
    (its id and nonce; the file was validated when the mesh was loaded)."""
    expires = table.get("expires")
    return Grant(id=grant_id_of(table), nonce=str(table.get("nonce", "")), product=str(table["product"]),
                 consumer=str(table["consumer"]), purpose=str(table.get("purpose", "")) or "-",
                 expires=expires if isinstance(expires, dt.date) else None)
