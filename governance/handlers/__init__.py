"""The "on asset update" handlers of the mesh, run by the engine and the governance DAGs alike.

:func:`default_handlers` is the one list both runners use, so both behave alike.
"""

from __future__ import annotations

from assets.events import UpdateHandler
from assets.mesh import Mesh
from governance.handlers.history import HistoryHandler
from governance.history import RunHistory


def history_of(mesh: Mesh) -> RunHistory:
    """The run-history store of ``mesh`` (under its state folder)."""
    return RunHistory(mesh.state_dir / "state" / "history.sqlite")


def default_handlers(mesh: Mesh) -> list[UpdateHandler]:
    """The handlers every asset update goes through, in order."""
    return [HistoryHandler(history_of(mesh))]


__all__ = ["HistoryHandler", "default_handlers", "history_of"]
