"""The composition root: load a mesh and wire governance into the framework, once.

:func:`load_mesh` reads ``mesh.toml``, imports the domains, builds the asset graph, checks
access between domains, and hands the framework (:class:`assets.Mesh`) the implementations of
its ports (:mod:`assets.ports`), built from the policy: the audit log, the column protector
(with the key provider ``[keys]`` chooses), the input authorizer, the lineage emitter, the
region admission, the update handlers and the run observers (the run records of
:mod:`governance.runs.records`, the alert sink's observer and the subscriptions' notices; both runners call ``run_asset``);
a ``mesh.toml`` whose digest changed since the last load is audited then
(:mod:`governance.audit.policy_changes`). Governance code reaches the same instances through
:func:`governance.services.governed`; nothing rebuilds them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.definition import AssetSpec
from assets.discovery import Discovery, discover
from assets.errors import ConfigError, MeshError, SelectionError
from assets.graph import AssetGraph
from assets.mesh import STATE_DIR, Mesh, Regions
from assets.ports import ProtectedFrame
from assets.regions import RegionSwitches
from governance.access import AccessDeniedError, check_graph_access, domain_may_read
from governance.alerts import AlertObserver, AlertSink
from governance.audit import AuditLog, audit_log_at, mesh_witnesses
from governance.audit.policy_changes import record_policy_change
from governance.council import (
    TrustStanding,
    read_approvals,
    state_predates_trust,
    trust_standing,
    unapproved_state_error,
    verify_chain,
)
from governance.council.anchor import acted_on_approvals, log_of
from governance.handlers import default_handlers
from governance.history import LEGACY_FILE as HISTORY_FILE
from governance.history import RunHistory
from governance.lineage.emitter import lineage_for
from governance.policy import MeshPolicy, load_policy, trust_snapshot
from governance.policy.roles import approvers_with
from governance.protection import Keyring, classified_columns, protect
from governance.protection.providers import key_provider
from governance.protection.rotation import tokenized_before
from governance.retention import admit_version
from governance.runs.records import RunRecorder, RunRecords
from governance.services import GovernedServices
from governance.state import state_database
from governance.state.regions import DatabaseSwitches
from governance.subscriptions import subscription_store
from governance.subscriptions.observer import SubscriptionObserver

_log = logging.getLogger(__name__)


def load_mesh(path: Path | str | None = None, *, strict: bool = True,
              domains: Collection[str] | None = None, council: bool = True, approving: bool = False) -> Mesh:
    """Load ``mesh.toml`` (found from ``path``, ``$MESH_ROOT`` or the working folder) and the
    domains beside it, and wire governance into the mesh.

    With ``strict`` any domain that fails to load raises; without it, the failing domains
    are left out and reported in ``mesh.errors``.

    ``domains`` loads only those domains (an Airflow DAG file loads its own; operational
    commands load none) and the domains they read, whose assets are needed to check access;
    inputs of those are edges out of the graph, not errors. Access between domains is checked
    on every load.

    The mesh acts on the trust the council approved (``governance.council``): a change of
    people, roles, owners or ``[state]`` not yet approved is not in effect. ``council=False``
    loads the file as written, for the commands that must work while the approvals are in
    question (``mesh policy recover``, ``mesh audit verify``), but with the approved ``[state]``
    whenever the approvals file's signatures hold (:func:`approved_state`).
    """
    policy = acting_policy(load_policy(path), approving=approving) if council else approved_state(load_policy(path))
    active = policy.active_domains
    found = discover(policy.root, active, domains, skip=set(policy.domains) - set(active))
    if domains is not None:  # also load the domains they read, to check access to their assets
        read = {k.split(".", 1)[0] for d in found.definitions for k in d.spec.inputs.values()} - set(domains)
        extra = discover(policy.root, active, read & set(active), fresh=False)
        found = Discovery(found.definitions + extra.definitions, found.domains + extra.domains,
                          {**extra.errors, **found.errors})
        domains = [*domains, *extra.domains]
    if strict and found.errors:
        raise next(iter(found.errors.values()))
    definitions = found.definitions
    if not strict and found.errors:
        # A loaded domain that reads a broken one cannot run either; leave it out too.
        broken = set(found.errors)
        definitions = tuple(d for d in definitions
                            if not any(k.split(".", 1)[0] in broken for k in d.spec.inputs.values()))
    external = frozenset(policy.domains) - frozenset(domains) if domains is not None else frozenset()
    graph = AssetGraph.build(definitions, {d.name: d.max_assets for d in policy.domains.values()}, external)
    check_graph_access(graph, policy)
    return mesh_of(policy, graph, found.errors)


def mesh_of(policy: MeshPolicy, graph: AssetGraph, errors: Mapping[str, MeshError] | None = None) -> Mesh:
    """The governed mesh of ``policy`` (as the council approved it) with the checked ``graph``."""
    return Mesh(name=policy.settings.name, root=policy.root, regions=_regions(policy), graph=graph,
                wiring=_governed_services, policy=policy, errors=dict(errors or {}), switches=_switches(policy))


def acting_policy(written: MeshPolicy, *, approving: bool = False) -> MeshPolicy:
    """``written`` (``mesh.toml`` as loaded) with the trust the council approved. A ``[state]``
    the council never approved stops it (:meth:`TrustStanding.refuse_unapproved_state`), unless
    ``approving``: the council's own commands, which show and sign that change."""
    standing = standing_of(written)
    if not approving:
        standing.refuse_unapproved_state()
    return standing.policy


def standing_of(written: MeshPolicy) -> TrustStanding:
    """Which trust ``written`` acts on (:func:`governance.council.trust_standing`), the audit log
    read for the council's first approval only when this host has not recorded it: the log of the
    approved ``[state]``, never one an unapproved edit of ``[state]`` names."""
    return trust_standing(written, log_of)


def approved_state(written: MeshPolicy) -> MeshPolicy:
    """``written`` with the ``[state]`` of the last approval whose signatures hold, not checked
    against the audit log (the check that needs the log this names); as written when the approvals
    file holds no approval or cannot be verified (a command repairing it reads the file's), unless
    this host has acted on approvals and mesh.toml names a ``[state]``: which one the council
    approved is then unknown, and the one the file names is not taken on trust."""
    try:
        chain = verify_chain(written, read_approvals(written.root))
    except MeshError as exc:
        _refuse_a_state_without_approvals(written, exc.what)
        return written
    if chain.head is None:
        _refuse_a_state_without_approvals(written, "mesh.approvals.jsonl holds no approval")
        return written
    if state_predates_trust(chain, trust_snapshot(written)):
        raise unapproved_state_error(written, chain)
    return dataclasses.replace(written, state=chain.head.state)


def _refuse_a_state_without_approvals(written: MeshPolicy, why: str) -> None:
    if "state" in trust_snapshot(written) and acted_on_approvals(written.root / STATE_DIR):
        raise ConfigError(
            f"this host acted on the council's approvals, but they cannot be read now ({why}), so the [state] "
            "mesh.toml names is not known to be the approved one and is not opened", where=str(written.path),
            fix="restore mesh.approvals.jsonl from version control (git checkout -- mesh.approvals.jsonl); or take "
                "[state] out of mesh.toml, then `mesh policy recover --as EMAIL` rebuilds it from the local audit log")


def load_policy_mesh(path: Path | str | None = None) -> Mesh:
    """The mesh with its policy and services but no domain code: for operations that need the
    policy, the stores and the evidence (audit, keys, DR), so that a domain whose module is
    broken cannot block them."""
    return load_mesh(path, domains=())


@lru_cache(maxsize=None)
def domain_mesh(root: Path, domain: str) -> Mesh:
    """``mesh.toml`` at ``root`` with only ``domain`` imported, once per process: built when a
    DAG file is parsed, reused by its tasks. Raises the domain's error."""
    return load_mesh(root, domains=[domain])


def _regions(policy: MeshPolicy) -> Regions:
    return Regions(storage={name: region.storage_url(policy.root) for name, region in policy.regions.items()},
                   primary=policy.settings.primary_region, secondary=policy.settings.secondary_region)


def _switches(policy: MeshPolicy) -> RegionSwitches | None:
    """The active region in the state database when ``[state]`` names one; else the file."""
    return DatabaseSwitches(state_database(policy), policy.root / STATE_DIR) if policy.state.shared else None


def _loss_acknowledger(policy: MeshPolicy, email: str) -> str | None:
    """The registered key of ``email`` if they may acknowledge a loss of audit records."""
    person = policy.people.get(email)
    return person.public_key if person is not None and email in approvers_with(policy, "operate_dr") else None


def _governed_services(mesh: Mesh) -> GovernedServices:

    policy: MeshPolicy = mesh.policy
    audit = audit_log_at(mesh.state_dir, pinned=policy.audit.key_fingerprint, witnesses=mesh_witnesses(mesh),
                         acknowledgers=partial(_loss_acknowledger, policy),
                         database=state_database(policy) if policy.state.shared else None)
    _audit_policy_change(policy, audit, mesh.state_dir)
    keyring = Keyring(key_provider(policy, mesh.state_dir), mesh.state_dir / "keys" / "data",
                      tokenized_before=partial(tokenized_before, mesh))
    history = RunHistory(state_database(policy), mesh.state_dir / HISTORY_FILE)
    records = RunRecords(state_database(policy))
    alerts = AlertSink(mesh=policy.settings.name, root=mesh.root, policy=policy.alerts, access=policy,
                       database=state_database(policy), audit=audit, selector=_Selector(mesh),
                       clock=lambda: mesh.services.clock())
    return GovernedServices(
        audit=audit, keyring=keyring, history=history, lineage=lineage_for(mesh),
        protector=_PolicyProtector(policy, keyring), authorizer=_GrantAuthorizer(policy),
        admission=_RegionAdmission(mesh), handlers=tuple(default_handlers(mesh, audit, history)),
        observers=(RunRecorder(records), AlertObserver(alerts),
                   SubscriptionObserver(mesh, subscription_store(mesh), alerts)),
        failed_runs=records,
        together=state_database(policy).joined,
        ready=state_database(policy).ready,  # opened once per process; then a lookup and a stat
        alerts=alerts)


@dataclass
class _Selector:
    """The keys an alert route's selection names in the loaded graph (none when it names none
    there: an Airflow task loads its own domain only), computed once per selection."""

    mesh: Mesh
    cache: dict[str, frozenset[str]] = field(default_factory=dict)

    def __call__(self, selection: str) -> frozenset[str]:
        if selection not in self.cache:
            try:
                self.cache[selection] = frozenset(self.mesh.select(selection))
            except SelectionError:
                self.cache[selection] = frozenset()
        return self.cache[selection]


def _audit_policy_change(policy: MeshPolicy, audit: AuditLog, state_dir: Path) -> None:
    """A ``policy_changed`` record if ``mesh.toml`` differs from the last one recorded. Never
    fails the load: a damaged audit log is said by ``mesh audit verify``."""
    try:
        record_policy_change(policy, audit, state_dir)
    except (MeshError, OSError, ValueError) as exc:
        _log.warning("the change of mesh.toml was not audited: %s", exc)


@dataclass(frozen=True)
class _PolicyProtector:
    """Protects classified columns as ``[classification]`` says, with the mesh's keyring."""

    policy: MeshPolicy
    keyring: Keyring

    def protect(self, key: str, contract: type[pa.DataFrameModel], frame: pl.DataFrame) -> ProtectedFrame:
        done = protect(frame, classified_columns(contract), self.policy, self.keyring, key=key)
        return ProtectedFrame(done.frame, done.protection, done.data_key.to_dict() if done.data_key else None)

    def hold_keys(self) -> AbstractContextManager[None]:
        """The key lock, shared: no KEK is rotated away or retired until the publish is stored."""
        return self.keyring.lock.shared()


@dataclass(frozen=True)
class _GrantAuthorizer:
    """Visibility and grants, decided again each time an asset reads an input."""

    policy: MeshPolicy

    def authorize(self, consumer: AssetSpec, producer: AssetSpec) -> None:
        decision = domain_may_read(self.policy, consumer.domain, producer, dt.date.today())
        if not decision.allowed:
            raise AccessDeniedError(f"'{consumer.key}' may not read '{producer.key}': {decision.reason}",
                                    where=consumer.source, fix="renew or request the grant in mesh.toml")


@dataclass(frozen=True)
class _RegionAdmission:
    """Residency and storage quota, before a version is written to a region."""

    mesh: Mesh

    def admit(self, region: str, key: str, size: int | None) -> None:
        admit_version(self.mesh.policy, self.mesh.store(region), region, key, size)
