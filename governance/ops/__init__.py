"""Operations: what the mesh tells its operators about itself.

:mod:`governance.ops.signals` is the vocabulary: a :class:`Signal` says a condition began (a
failed run, a late asset, a replica past its RPO), a :class:`Recovery` that it ended. Whatever
detects a condition fires a signal at a :class:`SignalSink`; alert routing implements the sink.
"""

from governance.ops.signals import Recovery, Severity, Signal, SignalKind, SignalSink

__all__ = ["Recovery", "Severity", "Signal", "SignalKind", "SignalSink"]
