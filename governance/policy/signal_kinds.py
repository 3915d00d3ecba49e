"""The kinds of signal governance raises and their severities: the words ``[[alerts.routes]]``
of ``mesh.toml`` select incidents by (``kinds``, ``min_severity``), and the vocabulary of
:mod:`governance.alerts.signals`."""

from __future__ import annotations

from typing import Literal, get_args

SignalKind = Literal["run_failed", "gate_failed", "freshness_breach", "predicted_breach", "replica_lag",
                     "audit_unverified", "key_rotation_due", "run_died"]
#: Least to most severe.
Severity = Literal["info", "warning", "critical"]

KINDS: tuple[str, ...] = get_args(SignalKind)
SEVERITIES: tuple[str, ...] = get_args(Severity)
