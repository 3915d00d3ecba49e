"""Whether each asset's current version can be read where it is stored, for ``mesh ops status``.

Freshness comes from the run history, which does not see a ``CURRENT`` pointer or a manifest
damaged or deleted after the publish. This reads them, for every partition of a partitioned
asset (not the data: a full check hashes every byte, which ``mesh ops heal`` does), so an asset
whose current version cannot be served is not shown as simply fresh.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from assets.errors import MeshError
from assets.mesh import Mesh
from assets.storage import VersionStore
from governance.ops.clip import clip
from governance.ops.freshness import AssetStatus

#: How much of the storage error a reason shows.
ERROR_WIDTH = 160
#: How many unreadable partitions of one asset a reason names (the others are counted).
NAMED_PARTITIONS = 3


def unreadable_current(mesh: Mesh, published: list[str]) -> dict[str, str]:
    """Of the assets ``published`` (the run history says they published), those whose current
    version (of a partitioned asset: of any partition) cannot be read in the active region, each
    with why, in one line."""
    store = mesh.store()
    found: dict[str, str] = {}
    for key in published:
        if key not in mesh.graph:
            continue
        if mesh.graph[key].spec.partitions is None:
            problem = _problem(store, key, None)
        else:
            problem = _partitions_problem(store, key)
        if problem is not None:
            found[key] = problem
    return found


def _problem(store: VersionStore, key: str, partition: str | None) -> str | None:
    try:
        if store.current(key, partition) is None:
            return "its CURRENT pointer is missing, so no version is served"
    except MeshError as exc:
        return clip(exc.what, ERROR_WIDTH)
    except OSError as exc:  # the storage itself failed (a permission, a lost mount)
        return clip(f"{type(exc).__name__}: {exc}", ERROR_WIDTH)
    return None


def _partitions_problem(store: VersionStore, key: str) -> str | None:
    try:
        partitions = store.partitions(key)
    except (MeshError, OSError) as exc:
        return clip(f"its partitions cannot be listed: {exc}", ERROR_WIDTH)
    broken = [(p, problem) for p in partitions if (problem := _problem(store, key, p)) is not None]
    if not broken:
        return None
    named = "; ".join(f"partition {p}: {problem}" for p, problem in broken[:NAMED_PARTITIONS])
    more = len(broken) - NAMED_PARTITIONS
    return named + (f"; {more} more partition(s)" if more > 0 else "")


def with_storage_checked(mesh: Mesh, found: Mapping[str, AssetStatus]) -> dict[str, AssetStatus]:
    """``found`` with every asset whose current version cannot be read marked unreadable, its
    reason saying why and what repairs it."""
    broken = unreadable_current(mesh, [k for k, s in found.items() if s.version is not None])
    return {key: status if key not in broken else dataclasses.replace(
                status, readable=False,
                reason="; ".join(filter(None, (f"its current version cannot be read: {broken[key]} (`mesh ops heal` "
                                               "rolls back to the newest version that verifies)", status.reason))))
            for key, status in found.items()}
