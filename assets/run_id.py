"""Run identifiers: one per run of a selection, shared by every asset (and partition) it runs."""

from __future__ import annotations

import uuid


def new_run_id() -> str:
    """A new run's id: ``run-`` and 12 hex digits."""
    return f"run-{uuid.uuid4().hex[:12]}"
