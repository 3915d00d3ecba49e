"""The "on asset update" handlers of the mesh, run by the engine and the governance DAGs alike.

:func:`default_handlers` is the one list both runners use, so both behave alike.
"""

from __future__ import annotations

from assets.events import UpdateHandler
from assets.mesh import Mesh
from governance.handlers.history import HistoryHandler
from governance.handlers.policy_check import PolicyCheckHandler
from governance.history import RunHistory


def history_of(mesh: Mesh) -> RunHistory:
    """The run-history store of ``mesh`` (under its state folder)."""
    return RunHistory(mesh.state_dir / "state" / "history.sqlite")


def default_handlers(mesh: Mesh) -> list[UpdateHandler]:
    """The handlers every asset update goes through, in order: governance checks, then the
    run history."""
    from governance.audit import audit_log_at

    return [PolicyCheckHandler(mesh, audit_log_at(mesh.state_dir)), HistoryHandler(history_of(mesh))]


__all__ = ["HistoryHandler", "PolicyCheckHandler", "default_handlers", "history_of"]
