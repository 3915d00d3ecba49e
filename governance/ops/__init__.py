"""Operations: what the mesh tells its operators about itself.

- The vocabulary is :mod:`governance.alerts.signals`: a :class:`Signal` says a condition began (a
  failed run, a late asset, a replica past its RPO), a :class:`Recovery` that it ended. Whatever
  detects a condition fires a signal at a :class:`SignalSink`; alert routing implements the sink.
- The run records (every run of an asset, its start and outcome) are :mod:`governance.runs.records`,
  kept by :class:`RunRecorder`, the mesh's run observer.
- :mod:`governance.ops.watch`: the assets watched and their deadline rule;
  :mod:`governance.ops.freshness`: each one's state (fresh, late, breached, unknown) and reason;
  :mod:`governance.ops.predict`: expected completions and predicted breaches;
  :mod:`governance.ops.monitor`: :func:`evaluate` at a moment, signalling each change once;
  :mod:`governance.ops.report`: SLA compliance, availability, incidents, MTTR and MTBF;
  :mod:`governance.ops.metrics`: the same figures for Prometheus;
  :mod:`governance.ops.checks`: :func:`check_mesh`, everything checked by looking (``mesh ops
  check``, the ops DAG);
  :mod:`governance.ops.simulation`: days of operation simulated on a throwaway copy.
- :mod:`governance.ops.views`: what the dashboard asks the operations layer (freshness, SLA,
  incidents per domain and day).
- :mod:`governance.ops.clock`: a clock a test or a simulation moves by hand.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from governance.alerts.signals import (
        Recovery,
        Severity,
        Signal,
        SignalKind,
        SignalSink,
    )
    from governance.ops.measured_view import operations_view
    from governance.ops.views import (
        NOT_MEASURED,
        DailyOperations,
        DomainHealth,
        OperationsView,
    )
    from governance.runs.records import RunRecord, RunRecorder, RunRecords

__all__ = ["NOT_MEASURED", "DailyOperations", "DomainHealth", "OperationsView", "Recovery", "RunRecord",
           "RunRecorder", "RunRecords", "Severity", "Signal", "SignalKind", "SignalSink", "operations_view"]

# Names are imported when first used: importing this package does no work (the dashboard and
# the CLI import it for a name or two).
_MODULE_OF = {**dict.fromkeys(("RunRecord", "RunRecorder", "RunRecords"), "governance.runs.records"),
              **dict.fromkeys(("Recovery", "Severity", "Signal", "SignalKind", "SignalSink"), "governance.alerts.signals"),
              **dict.fromkeys(("NOT_MEASURED", "DailyOperations", "DomainHealth", "OperationsView"),
                              "governance.ops.views"),
              "operations_view": "governance.ops.measured_view"}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'governance.ops' has no attribute '{name}'")
    value = getattr(import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value
