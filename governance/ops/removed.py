"""Incidents of assets removed from the mesh: no run will publish them again and no check looks
at them, so nothing would ever recover their incidents. The operations pass
(:func:`governance.ops.checks.check_mesh`) resolves each with the reason :data:`REASON`, audited.

An asset counts as removed only where the mesh's assets are known for sure: its domain is no
longer an active domain of ``mesh.toml`` (removed or retired), or its domain's assets are known
(loaded without error, from the mesh's graph or from a compiled mesh current with its files) and
it is not among them. A domain whose code fails to load, or a compiled mesh that is stale or
missing, closes nothing: a broken import must not look like a deletion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from assets.compiled import CompiledMesh
from assets.errors import MeshError
from assets.mesh import Mesh
from assets.partition_reads import split_label
from governance.alerts import Incident
from governance.services import governed

#: Why the operations pass resolves such an incident (the audit record's ``details.reason``).
REASON = "asset removed from the mesh"
#: The kinds of incident whose subject is an asset (or one of its partitions, ``key/partition``).
ASSET_KINDS = frozenset({"run_failed", "gate_failed", "freshness_breach", "predicted_breach", "run_died"})


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownAssets:
    """What the mesh holds for sure: ``active``, the active domains of ``mesh.toml``; ``loaded``,
    those whose every asset is known; ``keys``, the assets of the ``loaded`` domains."""

    active: frozenset[str]
    loaded: frozenset[str]
    keys: frozenset[str]

    def removed(self, incident: Incident) -> bool:
        """Whether ``incident`` is about an asset no longer in the mesh. Only the kinds whose
        subject is an asset: a standby's lag (``replica_lag``) stays, as disaster recovery still
        covers a removed asset's stored versions and its check recovers it."""
        if incident.kind not in ASSET_KINDS:
            return False
        key = split_label(incident.subject)[0]
        domain = key.split(".", 1)[0]
        if domain not in self.active:
            return True
        return domain in self.loaded and key not in self.keys


def known_assets(mesh: Mesh) -> KnownAssets:
    """The assets of ``mesh`` known for sure: from its graph where it loaded domains, and from the
    compiled mesh when that is current with its files (``mesh compile``)."""
    active = frozenset(mesh.policy.active_domains)
    loaded: set[str] = set()
    keys: set[str] = set()
    # a domain failing to load leaves out the assets of those reading it too: then trust no graph
    in_graph = {mesh.graph[k].spec.domain for k in mesh.graph} if not mesh.errors else set()
    for domain in in_graph & active:
        loaded.add(domain)
        keys.update(k for k in mesh.graph if mesh.graph[k].spec.domain == domain)
    compiled = _current_compiled(mesh)
    if compiled is not None and compiled.error is None:
        for name, compiled_domain in compiled.domains.items():
            if name in active and name not in loaded and compiled_domain.error is None:
                loaded.add(name)
                keys.update(a.key for a in compiled.assets.values() if a.domain == name)
    return KnownAssets(active=active, loaded=frozenset(loaded), keys=frozenset(keys))


def _current_compiled(mesh: Mesh) -> CompiledMesh | None:
    from governance.compiled import current_compiled

    try:
        return current_compiled(mesh.root)
    except MeshError:
        return None


def resolve_removed(mesh: Mesh, now: dt.datetime, incidents: Iterable[Incident] | None = None) -> list[Incident]:
    """Resolve every open incident of an asset removed from ``mesh`` (:class:`KnownAssets`), each
    audited with the reason :data:`REASON`. Returns the incidents resolved."""
    sink = governed(mesh).alerts
    found = list(sink.incidents() if incidents is None else incidents)
    if not found:
        return []
    known = known_assets(mesh)
    done = []
    for incident in found:
        if incident.resolved_at is None and known.removed(incident):
            try:
                done.append(sink.resolve_removed(incident.id, REASON, now))
            except (LookupError, ValueError):  # resolved meanwhile: nothing left to do
                continue
    return done
