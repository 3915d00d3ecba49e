"""Whether each asset's current version can be read where it is stored, for ``mesh ops status``.

Freshness comes from the run history, which does not see a manifest or a ``CURRENT`` pointer
damaged after the publish. This reads them (not the data: a full check hashes every byte, which
``mesh ops heal`` does), so an asset whose current version cannot be served is not shown as
simply fresh.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from assets.errors import MeshError
from assets.mesh import Mesh
from governance.ops.clip import clip
from governance.ops.freshness import AssetStatus

#: How much of the storage error a reason shows.
ERROR_WIDTH = 160


def unreadable_current(mesh: Mesh, keys: list[str]) -> dict[str, str]:
    """Of the unpartitioned assets ``keys``, those whose current version's pointer or manifest
    cannot be read in the active region, each with the error (one line)."""
    store = mesh.store()
    found: dict[str, str] = {}
    for key in keys:
        if key not in mesh.graph or mesh.graph[key].spec.partitions is not None:
            continue
        try:
            store.current(key)
        except MeshError as exc:
            found[key] = clip(exc.what, ERROR_WIDTH)
        except OSError as exc:  # the storage itself failed (a permission, a lost mount)
            found[key] = clip(f"{type(exc).__name__}: {exc}", ERROR_WIDTH)
    return found


def with_storage_checked(mesh: Mesh, found: Mapping[str, AssetStatus]) -> dict[str, AssetStatus]:
    """``found`` with every asset whose current version cannot be read marked unreadable, its
    reason saying why and what repairs it."""
    broken = unreadable_current(mesh, [k for k, s in found.items() if s.version is not None])
    return {key: status if key not in broken else dataclasses.replace(
                status, readable=False,
                reason="; ".join(filter(None, (f"its current version cannot be read: {broken[key]} (`mesh ops heal` "
                                               "rolls back to the newest version that verifies)", status.reason))))
            for key, status in found.items()}
