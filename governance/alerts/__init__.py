"""Alerts: incidents raised by signals, routed by ``[alerts]`` to notifiers, escalated when
nobody acknowledges them, resolved when the condition ends.

Public API: :class:`AlertSink` (the mesh's :class:`~governance.ops.signals.SignalSink`, reached
as ``governed(mesh).alerts``), :class:`AlertObserver` (runs that fail or are stopped at their
gate), :func:`check_mesh` (audit, key age, replica lag), :class:`Incident`, the notifiers.
"""

from governance.alerts.incidents import Incident
from governance.alerts.message import AlertMessage
from governance.alerts.observer import AlertObserver
from governance.alerts.sink import AlertSink

__all__ = ["AlertMessage", "AlertObserver", "AlertSink", "Incident"]
