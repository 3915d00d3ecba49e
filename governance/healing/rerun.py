"""Running an asset again from the runbook, as its scheduler would: the asset, then everything
downstream of it (on Airflow a new version of an asset triggers its consumers; in process the
engine runs the selection ``KEY+``), with the run parameters the runbook was given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assets.engine import materialize
from assets.mesh import Mesh
from assets.partition_reads import input_label
from assets.results import AssetResult


@dataclass(frozen=True, slots=True)
class Rerun:
    """The asset's own result, and how its downstream runs went."""

    result: AssetResult
    downstream_ok: int
    downstream_failed: int

    def downstream(self) -> str:
        """One clause for the runbook's report (empty when nothing is downstream)."""
        ran = self.downstream_ok + self.downstream_failed
        if not ran:
            return ""
        return f"; ran {ran} downstream asset(s) again ({self.downstream_failed} not ok)"


def rerun(mesh: Mesh, key: str, params: Mapping[str, Any], *, partition: str | None = None) -> Rerun:
    """Materialize ``key`` (its ``partition``, for a partitioned asset) and its downstream with ``params``."""
    label = input_label(key, partition)
    results = materialize(f"{key}+", mesh=mesh, params=dict(params), partition=partition).results
    others = [r for k, r in results.items() if k != label]
    return Rerun(result=results[label], downstream_ok=sum(r.ok for r in others),
                 downstream_failed=sum(not r.ok for r in others))
