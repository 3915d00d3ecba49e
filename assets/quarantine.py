"""Where data that failed its gate goes: never published, kept with a readable report.

Under the storage root: ``_quarantine/<domain>/<asset>/<run_id>/`` holds ``report.md`` (for
people), ``report.json`` (for scripts), ``failure_cases.parquet`` (pandera's failure cases) and
``rows.parquet`` (the rows that failed a check).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from assets.gate import GateReport
from assets.ports import ProtectedFrame
from assets.storage import StorageRoot

QUARANTINE = "_quarantine"


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Writes gate failures under a storage root."""

    root: StorageRoot

    def store(self, key: str, run_id: str, report: GateReport, frame: pl.DataFrame,
              protect: Callable[[pl.DataFrame], ProtectedFrame] | None = None) -> str:
        """Write the failure of ``key`` in run ``run_id``; return the folder's URI.

        ``protect`` protects the rejected rows' classified columns, as a publish would, and
        then the failure cases keep no values of those columns.
        """
        domain, name = key.split(".", 1)
        folder = self.root.path(QUARANTINE, domain, name, run_id)
        self.root.makedirs(folder)
        summary: dict[str, object] = {
            "asset": key, "run_id": run_id, "contract": report.contract,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rows": report.rows, "failed_rows": report.failed_rows,
            "failures": [{"column": f.column, "check": f.check, "rows": f.rows, "examples": list(f.examples)}
                         for f in report.failures],
        }
        if report.failure_cases is not None:
            cases = report.failure_cases
            indices = cases["index"].drop_nulls().unique().sort()
            bad = frame.with_row_index("__row").filter(pl.col("__row").is_in(indices.implode()))
            if protect is not None:
                protected = protect(bad)
                bad = protected.frame
                if protected.protection:
                    hidden = [*protected.protection, report.contract]
                    cases = cases.with_columns(pl.when(pl.col("column").is_in(hidden)).then(None)
                                               .otherwise(pl.col("failure_case")).alias("failure_case"))
                    summary["data_key"] = dict(protected.data_key) if protected.data_key else None
                    summary["protection"] = dict(protected.protection)
            self.root.write_parquet(f"{folder}/failure_cases.parquet", cases)
            if len(indices):
                self.root.write_parquet(f"{folder}/rows.parquet", bad)
        self.root.write_atomic(f"{folder}/report.json", json.dumps(summary, indent=2).encode())
        self.root.write_atomic(f"{folder}/report.md", _markdown(summary).encode())
        return self.root.uri_of(folder)


def _markdown(summary: dict[str, object]) -> str:
    lines = [
        f"# Gate failure: {summary['asset']}",
        "",
        f"Run `{summary['run_id']}` at {summary['at']}: contract `{summary['contract']}` rejected "
        f"{summary['failed_rows']} of {summary['rows']} rows. Nothing was published; the current "
        "version is unchanged.",
        "",
        "| column | check | rows | examples |",
        "|---|---|---|---|",
    ]
    for f in summary["failures"]:  # type: ignore[attr-defined]
        lines.append(f"| {f['column']} | `{f['check']}` | {f['rows']} | {', '.join(f['examples'])} |")
    lines += ["", "Fix the data or the asset's code, then materialize again."]
    return "\n".join(lines) + "\n"
