"""Garbage collection: what killed writers left behind, in every region.

A leftover is a staging folder locally, and on object stores (S3) a version folder without a
manifest; either only once its writer is provably gone or nothing in it changed for the grace
period, never one a live writer is filling (see :mod:`assets.storage.leftovers`). A publish
removes its own asset's leftovers; ``mesh gc`` removes them everywhere. Each removal is
audited; a region that cannot be read is reported and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.mesh import Mesh
from assets.storage.leftovers import remove
from assets.storage.staging import GRACE_SECONDS
from governance.audit import AuditEvent, AuditLog


@dataclass(frozen=True, slots=True)
class Leftover:
    """What a writer that is gone left: a staging folder, or an object store's manifest-less version."""

    region: str
    path: str
    bytes: int


@dataclass(frozen=True, slots=True)
class GcReport:
    """What ``mesh gc`` found (and removed, unless a dry run), and regions it could not read."""

    leftovers: tuple[Leftover, ...]
    removed: bool
    problems: tuple[str, ...] = ()

    @property
    def bytes(self) -> int:
        return sum(x.bytes for x in self.leftovers)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "bytes": self.bytes, "problems": list(self.problems),
                "leftovers": [{"region": x.region, "path": x.path, "bytes": x.bytes} for x in self.leftovers]}


def collect_garbage(mesh: Mesh, audit: AuditLog, *, grace_seconds: float = GRACE_SECONDS,
                    dry_run: bool = False, actor: str = "service:gc") -> GcReport:
    """Find, and unless ``dry_run`` remove, the leftovers of killed writers in every region."""
    if grace_seconds < 0:
        raise ValueError(f"grace_seconds must not be negative, got {grace_seconds}")
    found, problems = [], []
    for region in mesh.policy.regions:
        store = mesh.store(region)
        try:
            leftovers = store.leftovers(grace_seconds=grace_seconds)
        except OSError as exc:
            problems.append(f"region '{region}' unreadable: {type(exc).__name__}: {exc}")
            continue
        for path, size in leftovers:
            if not dry_run:
                remove(store.root, path)
                audit.append(AuditEvent(actor=actor, action="gc_remove", target=store.root.uri_of(path),
                                        outcome="removed", source="cli", where=f"region:{region}",
                                        details={"bytes": size, "kind": "staging leftover" if store.root.is_local
                                                 else "unfinished version"}))
            found.append(Leftover(region, store.root.uri_of(path), size))
    return GcReport(tuple(found), not dry_run, tuple(problems))
