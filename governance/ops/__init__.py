"""Operations: what the mesh tells its operators about itself.

- :mod:`governance.ops.signals` is the vocabulary: a :class:`Signal` says a condition began (a
  failed run, a late asset, a replica past its RPO), a :class:`Recovery` that it ended. Whatever
  detects a condition fires a signal at a :class:`SignalSink`; alert routing implements the sink.
- :mod:`governance.ops.runs`: the run records (every run of an asset, its start and outcome),
  kept by :class:`RunRecorder`, the mesh's run observer.
- :mod:`governance.ops.watch`: the assets watched and their deadline rule;
  :mod:`governance.ops.freshness`: each one's state (fresh, late, breached, unknown) and reason;
  :mod:`governance.ops.predict`: expected completions and predicted breaches;
  :mod:`governance.ops.monitor`: :func:`evaluate` at a moment, signalling each change once;
  :mod:`governance.ops.report`: SLA compliance, availability, incidents, MTTR and MTBF;
  :mod:`governance.ops.metrics`: the same figures for Prometheus.
- :mod:`governance.ops.clock`: a clock a test or a simulation moves by hand.
"""

from governance.ops.runs import RunRecord, RunRecorder, RunRecords
from governance.ops.signals import Recovery, Severity, Signal, SignalKind, SignalSink

__all__ = ["Recovery", "RunRecord", "RunRecorder", "RunRecords", "Severity", "Signal", "SignalKind", "SignalSink"]
