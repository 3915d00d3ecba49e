"""Alerts: incidents raised by signals, routed by ``[alerts]`` to notifiers, escalated when
nobody acknowledges them, resolved when the condition ends.

Public API: :class:`AlertSink` (the mesh's :class:`~governance.alerts.signals.SignalSink`, reached
as ``governed(mesh).alerts``), :class:`AlertObserver` (runs that fail or are stopped at their
gate), :class:`Incident`, the notifiers. The conditions found by looking (audit, key age, replica
lag) are checked by :func:`governance.ops.checks.check_mesh`, above this layer.
"""

from governance.alerts.incidents import Incident
from governance.alerts.message import AlertMessage
from governance.alerts.observer import AlertObserver
from governance.alerts.sink import AlertSink

__all__ = ["AlertMessage", "AlertObserver", "AlertSink", "Incident"]
