"""Signal sinks this package needs before alert routing is wired: one that keeps what it hears
(tests, simulations, the demo) and one that logs it. Alert routing (``[alerts]``) is the real
:class:`~governance.ops.signals.SignalSink`; :func:`mesh_sink` is where the composition picks it."""

from __future__ import annotations

import logging
from pathlib import Path

from governance.ops.signals import Recovery, Signal, SignalSink

log = logging.getLogger("mesh.ops")


class CollectingSink:
    """Keeps every signal and recovery it hears, in order."""

    def __init__(self) -> None:
        self.heard: list[Signal | Recovery] = []

    def fire(self, signal: Signal) -> None:
        self.heard.append(signal)

    def recover(self, recovery: Recovery) -> None:
        self.heard.append(recovery)


class LoggingSink:
    """Logs each signal (warning or error by severity) and each recovery (info)."""

    def fire(self, signal: Signal) -> None:
        level = logging.ERROR if signal.severity == "critical" else logging.WARNING
        log.log(level, "%s %s: %s", signal.kind, signal.subject, signal.summary)

    def recover(self, recovery: Recovery) -> None:
        log.info("recovered %s %s: %s", recovery.kind, recovery.subject, recovery.summary)


def mesh_sink(root: Path) -> SignalSink:
    """The sink the mesh at ``root`` signals to. Until alert routing is configured here, the log."""
    del root
    return LoggingSink()
