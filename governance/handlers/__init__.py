"""The "on asset update" handlers of the mesh, run by the engine and the governance DAGs alike.

:func:`default_handlers` is the one list both runners use, so both behave alike.
"""

from __future__ import annotations

from assets.events import UpdateHandler
from assets.mesh import Mesh
from governance.audit import AuditLog
from governance.handlers.history import HistoryHandler
from governance.handlers.lineage import LineageHandler
from governance.handlers.policy_check import PolicyCheckHandler
from governance.handlers.replication import ReplicationHandler
from governance.history import RunHistory

#: The kinds of :func:`default_handlers`, in order: what a governance DAG's tasks are named
#: after, known without building the handlers.
HANDLER_KINDS = (PolicyCheckHandler.kind, HistoryHandler.kind, LineageHandler.kind, ReplicationHandler.kind)


def default_handlers(mesh: Mesh, audit: AuditLog, history: RunHistory) -> list[UpdateHandler]:
    """The handlers every asset update goes through, in order: governance checks, the run
    history, OpenLineage's COMPLETE event, then replication to the standby region. Built once
    per mesh by the composition root (``mesh.services.handlers``)."""
    return [PolicyCheckHandler(mesh, audit), HistoryHandler(history), LineageHandler(mesh, audit),
            ReplicationHandler(mesh, audit)]


__all__ = ["HANDLER_KINDS", "HistoryHandler", "LineageHandler", "PolicyCheckHandler", "ReplicationHandler", "default_handlers"]
