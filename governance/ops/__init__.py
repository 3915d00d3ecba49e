"""Operations: what the mesh tells its operators about itself.

:mod:`governance.ops.signals` is the vocabulary: a :class:`Signal` says a condition began (a
failed run, a late asset, a replica past its RPO), a :class:`Recovery` that it ended. Whatever
detects a condition fires a signal at a :class:`SignalSink`; alert routing implements the sink.
:mod:`governance.ops.views` is what the dashboard asks the operations layer (freshness, SLA,
incidents), answering "not measured" until that layer implements it.
"""

from governance.ops.signals import Recovery, Severity, Signal, SignalKind, SignalSink
from governance.ops.views import (
           NOT_MEASURED,
           DailyOperations,
           DomainHealth,
           OperationsView,
           operations_view,
)

__all__ = ["NOT_MEASURED", "DailyOperations", "DomainHealth", "OperationsView", "Recovery", "Severity", "Signal",
           "SignalKind", "SignalSink", "operations_view"]
