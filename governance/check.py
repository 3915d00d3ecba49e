"""``mesh check``: validate a mesh completely and report every problem at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assets.discovery import discover
from assets.errors import MeshError, did_you_mean
from assets.graph import AssetGraph
from assets.mesh import Mesh
from governance.access import check_graph_access
from governance.lineage import lineage_settings
from governance.policy import Grant, MeshPolicy, load_policy
from governance.wiring import mesh_of, standing_of


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Problems found, in the order they were found; ``summary`` describes a clean mesh;
    ``warnings`` do not fail the check (deprecated assets and who reads them)."""

    problems: tuple[str, ...] = ()
    summary: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": list(self.problems), "warnings": list(self.warnings),
                "summary": self.summary, **self.counts}


def check_mesh(root: Path | str | None = None) -> CheckReport:
    """Check ``mesh.toml``, each domain's code, each contract, and the asset graph."""
    try:
        policy = load_policy(root)
    except MeshError as exc:  # several problems in mesh.toml: each on its own
        return CheckReport(problems=exc.each())
    warnings: list[str] = []
    try:
        standing = standing_of(policy)
        standing.refuse_unapproved_state()
    except MeshError as exc:
        return CheckReport(problems=(str(exc),))
    policy = standing.policy
    warnings += [finding] if (finding := standing.finding()) else []
    active = policy.active_domains
    found = discover(policy.root, active, skip=set(policy.domains) - set(active))
    problems = [str(e) for e in found.errors.values()]
    invalid: set[str] = set()
    for d in found.definitions:
        try:
            d.spec.contract.to_schema()
        except Exception as exc:  # a broken contract class can raise anything
            problems.append(f"{d.spec.source}: contract {d.spec.contract.__name__} of '{d.key}' is invalid: {exc}")
            invalid.add(d.key)
    try:
        # a domain that failed to import is reported above: what reads it is not also "no asset"
        graph = AssetGraph.build(found.definitions, {d.name: d.max_assets for d in policy.domains.values()},
                                 external_domains=frozenset(found.errors))
        check_graph_access(graph, policy)
    except MeshError as exc:
        problems += exc.each()
        graph = None
    problems += grant_problems(policy, dt.date.today())
    problems += missing_dag_files(policy, [d for d in found.domains if d in active])
    unloaded = set(found.errors) | (set(policy.domains) - set(active))
    problems += unknown_grant_products(policy, [d.key for d in found.definitions], unloaded)
    try:
        lineage_settings(policy)  # an openlineage.yml beside mesh.toml is read here
    except MeshError as exc:
        problems.append(str(exc))
    if graph is not None:
        problems += route_selection_problems(policy, graph)
        problems += contract_version_problems(mesh_of(policy, graph), invalid)
        replaced, deprecations = deprecation_findings(graph, dt.date.today(), unloaded)
        problems += replaced
        warnings += deprecations
        warnings += partial_rollup_warnings(graph)
        warnings += [f"{policy.path.name} [[grants]][{g.index}] ({g.product} -> {g.consumer}): '{g.product}' is "
                     f"{graph[g.product].spec.visibility}, so the grant opens nothing (grants share restricted "
                     "products). Fix: remove it, or have its owners make the product restricted"
                     for g in policy.grants if g.product in graph and graph[g.product].spec.visibility != "restricted"]
    if problems or graph is None:
        return CheckReport(problems=tuple(problems), warnings=tuple(warnings))
    counts = {"domains": len(graph.domains()), "assets": len(graph), "grants": len(policy.grants)}
    return CheckReport(summary=f"{policy.path}: {counts['domains']} domains, {counts['assets']} assets, "
                               f"{counts['grants']} grants; policies, contracts and graph are valid",
                       counts=counts, warnings=tuple(warnings))


def contract_version_problems(mesh: Mesh, invalid: set[str]) -> list[str]:
    """Contracts changed since their asset's published version without the version bump the
    changes need: the refusal the next run would meet (the run's own check, on the contract the
    published manifest stores; of a partitioned asset, each partition's current version, the
    partitions that would be refused named). Only pointers and manifests are read, never data.
    Assets in ``invalid`` (a contract that does not build) are judged elsewhere."""
    from assets.contract_diff import compare_current, describe, partition_names

    problems = []
    try:
        store = mesh.store()
        for key in mesh.graph:
            spec = mesh.graph[key].spec
            if key in invalid:
                continue
            try:
                for found in compare_current(key, store, partitioned=spec.partitions is not None,
                                             contract=describe(spec.contract), version=spec.contract_version):
                    if found.comparison.problem is None:
                        continue
                    which = (f"the next run of partitions {partition_names(found.partitions)} would be refused: "
                             if found.partitions else "")
                    problems.append(f"{spec.source}: {which}{found.comparison.problem}")
            except MeshError as exc:
                problems.append(f"{spec.source}: {exc}")
    except OSError as exc:  # an unreachable region: said once, the other checks stand
        problems.append(f"{exc.filename or mesh.regions.storage.get(mesh.regions.primary, mesh.root)}: the version "
                        f"store could not be read ({exc.strerror or exc}), so no contract was compared with its "
                        "published version. Fix: make the region reachable (mesh dr status), then run mesh check again")
    return problems


def partial_rollup_warnings(graph: AssetGraph) -> list[str]:
    """A warning for each roll-up whose first partition misses input partitions before the
    input's start: in-process it rolls up what is published, but on Airflow the roll-up's
    window waits for every input partition, so that first partition never runs there."""
    from assets.partition_mapping import partial_first_rollup

    found = []
    for key in graph:
        spec = graph[key].spec
        for param, upstream in spec.inputs.items():
            partial = partial_first_rollup(graph.edge(key, param)) if spec.partitions is not None else None
            if partial is None:
                continue
            first, have, whole = partial
            found.append(f"{spec.source}: '{key}' rolls up '{upstream}', which starts after its first partition "
                         f"{first} begins ({have} of its {whole} input partitions exist): on Airflow that partition "
                         f"never rolls up (its window waits for all {whole}); start '{upstream}' where '{key}' "
                         f"starts, or start '{key}' one partition later")
    return found


def deprecation_findings(graph: AssetGraph, today: dt.date, unloaded: set[str]) -> tuple[list[str], list[str]]:
    """Problems (a ``replaced_by`` naming no asset) and warnings (each deprecated asset, past
    its end date or not, and each asset still reading one)."""
    from governance.subscriptions.observer import deprecation_text

    problems, warnings = [], []
    for key in graph:
        spec = graph[key].spec
        if spec.deprecated is None:
            continue
        late = " (past its end date)" if spec.deprecated < today else ""
        warnings.append(f"{spec.source}: {deprecation_text(spec)}{late}")
        if spec.replaced_by and spec.replaced_by not in graph and spec.replaced_by.split(".", 1)[0] not in unloaded:
            problems.append(f"{spec.source}: '{key}' is replaced_by '{spec.replaced_by}', which is no asset of the "
                            f"mesh. {did_you_mean(spec.replaced_by, list(graph))}".rstrip())
        for reader in graph:
            if key in graph[reader].spec.inputs.values():
                warnings.append(f"{graph[reader].spec.source}: '{reader}' reads the deprecated '{key}'"
                                + (f"; move it to '{spec.replaced_by}'" if spec.replaced_by else ""))
    return problems, warnings


def route_selection_problems(policy: MeshPolicy, graph: AssetGraph) -> list[str]:
    """Alert routes whose ``select`` is not a selection or names no asset: they would never match."""
    from assets.selection import select

    problems = []
    for route in policy.alerts.routes:
        if route.select is None:
            continue
        try:
            select(graph, route.select)
        except MeshError as exc:
            problems.append(f"{policy.path.name} [[alerts.routes]] '{route.name}'.select: {exc}")
    return problems


def grant_problems(policy: MeshPolicy, today: dt.date) -> list[str]:
    """Expired grants: they give no access and should be renewed or removed. Names in
    ``approved_by`` without a valid signature (unsigned, copied from another grant, forged):
    they approve nothing (approvals signed in the old format, version 1, among them). Revoked
    grants whose entry is back in ``mesh.toml`` (pasted, ``git revert``): they grant nothing.
    Revocations the audit log records but the state database's ``revoked_grants`` lacks (a row
    deleted or edited by hand, the database replaced): the grant stays revoked, and the tampering
    is named. What the audit log's signed scan mark leaves out (only a holder of the audit key can
    sign one): access decisions start from it. (A pending request is normal; `mesh access list`
    shows what it lacks.)"""
    from governance.access.revocations import mark_omissions, revocation_of, revocations, unrecorded_revocations
    from governance.identity import unverified_approvals
    from governance.state import state_database

    revoked = [(g, r) for g in policy.grants if (r := revocation_of(policy, g)) is not None]
    back = [f"{policy.path.name} [[grants]][{g.index}] ({g.product} -> {g.consumer}): {r}; this entry is the "
            f"revoked grant (its id is never a grant again) and grants nothing. Fix: remove it from {policy.path.name}; to "
            f"share the product again, request a new grant: `mesh access request {g.product} --consumer "
            f"{g.consumer} --purpose ...`" for g, r in revoked]
    live = [g for g in policy.grants if not any(g is r[0] for r in revoked)]
    expired = [f"{policy.path.name} [[grants]][{g.index}] ({g.product} -> {g.consumer}): expired on {g.expires}. "
               "Fix: renew it (a new expires) or remove it" for g in live if g.is_expired(today)]
    unsigned = [f"{policy.path.name} [[grants]][{g.index}].approved_by ({g.product} -> {g.consumer}): {line}"
                for g in live if not g.is_expired(today) for line in unverified_approvals(policy, g)]
    unrecorded = unrecorded_revocations(policy)
    where = state_database(policy).where if unrecorded else ""
    counted = revocations(policy) if unrecorded else {}
    tampered = [f"{where} revoked_grants: {r}, as the audit log records (grant_revoke, nonce {r.nonce}), but the "
                f"table lacks it: it was deleted or changed by hand, or the database replaced. "
                + ("The grant stays revoked. " if (r.grant_id, r.nonce) in counted else
                   "Access decisions miss it too (the audit log's scan mark leaves it out: see below). ")
                + "Fix: investigate who changed the state database and restore it from the last backup "
                  "(mesh dr restore); `mesh audit verify` checks that the audit log itself is whole"
                for r in unrecorded]
    return tampered + mark_omissions(policy) + back + expired + unsigned + [
        line for g in live if not g.is_expired(today) for line in stranger_approvals(policy, g)]


def stranger_approvals(policy: MeshPolicy, grant: Grant) -> list[str]:
    """One line per name in ``approved_by`` that is no domain owner and no role member in the
    trust ``policy`` acts on (the council's last approved one): their approval counts for
    nothing, and the grant is denied unless the others suffice. The file is not refused for it."""
    from governance.access.policy import missing_approvals

    known = {o for d in policy.domains.values() for o in d.owners} | \
        {m for r in policy.roles.values() for m in r.members}
    strangers = [a for a in grant.approved_by if a not in known]
    if not strangers:
        return []
    denied = "; the grant is denied" if missing_approvals(policy, grant) else "; the other approvals keep it active"
    return [f"{policy.path.name} [[grants]][{grant.index}].approved_by ({grant.product} -> {grant.consumer}): "
            f"'{who}' is no domain owner and no member of a role in the trust in effect, so their approval counts "
            f"for nothing{denied}. Fix: correct the address{_hint(did_you_mean(who, known))}, or "
            f"have an owner of '{grant.producer}' approve it: `mesh access approve {grant.id} --as EMAIL`"
            for who in strangers]


def _hint(text: str) -> str:
    return f" ({text})" if text else ""


def unknown_grant_products(policy: MeshPolicy, keys: list[str], unloaded: set[str]) -> list[str]:
    """Grants whose product is no asset: they grant nothing, and are usually a typo. Products of
    domains that did not load (a broken import, retired) are not judged; that domain's own problem is."""
    return [f"{policy.path.name} [[grants]][{g.index}].product: no asset '{g.product}' "
            f"(grant {g.product} -> {g.consumer}). Fix: name an existing asset"
            f"{' (' + hint + ')' if (hint := did_you_mean(g.product, keys)) else ''}, or remove the grant; "
            "`mesh list` shows the keys"
            for g in policy.grants if g.product not in keys and g.producer not in unloaded]


def missing_dag_files(policy: MeshPolicy, domains: list[str]) -> list[str]:
    """Declared domains with a package but no ``dags/<domain>.py``: Airflow gets none of their
    DAGs. Judged only when a ``dags/`` folder is beside mesh.toml (the mesh runs on Airflow)."""
    from governance.tenancy import dag_entry_file

    folder = policy.root / "dags"
    if not folder.is_dir():
        return []
    problems = []
    for domain in domains:
        if not (folder / f"{domain}.py").is_file():
            code = " / ".join(line for line in dag_entry_file(domain).splitlines()
                              if line and not line.startswith('"""'))
            problems.append(f"{folder / domain}.py: domain '{domain}' has no Airflow entry file, so Airflow runs "
                            f"none of its assets. Fix: add dags/{domain}.py with the three lines the other "
                            f"files there have: {code}")
    return problems
