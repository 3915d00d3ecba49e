"""Whether the mesh the web app serves is available, for ``GET /health``.

Available means what every page and API call needs: ``mesh.toml`` loads, the audit log's new
records read (the run index's update, as a page's), the state database opens and takes records,
and the active region's storage root can be listed. The first that fails is the answer's reason:
a :class:`~assets.errors.MeshError` (or ``OSError``) naming what and where, and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from assets.errors import StorageError
from assets.mesh import Mesh
from governance.state import state_database
from governance.state.revisions import current_revision


def check_available(load: Callable[[], Mesh]) -> Mesh:
    """The mesh ``load()`` gives, once it is known to be available; else the error that says why
    (:class:`MeshError` or ``OSError``)."""
    mesh = load()
    database = state_database(mesh.policy)
    database.ready()
    with database.read() as conn:  # a server's database, opened once, may have gone away since
        current_revision(conn)
    _storage_readable(mesh)
    return mesh


def _storage_readable(mesh: Mesh) -> None:
    """Raise :class:`StorageError` unless the active region's storage root can be listed (a
    folder not made yet is fine: nothing was published there)."""
    root = mesh.store().root
    region = mesh.active_region
    try:
        if root.is_local:
            if os.path.lexists(root.root):
                os.listdir(root.root)
        else:
            root.fs.ls(root.root, detail=False)
    except FileNotFoundError:
        if not root.is_local:
            return
        raise StorageError(f"the storage root of region '{region}' is a broken link", where=root.uri_of(root.root),
                           fix=f"mount or restore the storage, or correct [regions.{region}].storage in mesh.toml") from None
    except OSError as exc:
        raise StorageError(f"the storage root of region '{region}' cannot be read ({exc.strerror or type(exc).__name__})",
                           where=root.uri_of(root.root),
                           fix=f"restore the storage (mesh dr restore) or its permissions, or correct "
                               f"[regions.{region}].storage in mesh.toml") from None
