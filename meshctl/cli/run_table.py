"""How a run prints: a table of its assets (status, rows, version, seconds), then each failure's
reason, each note and each warning check that failed. ``materialize``, ``backfill``, ``observe``
and the demo print their runs with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from meshctl.cli._output import STATUS_STYLE, console, plain

if TYPE_CHECKING:
    from assets.results import AssetResult, RunResult


def print_run(result: RunResult) -> None:
    """A summary table of a run, then each failure's reason."""
    table = Table(title=f"run {result.run_id}")
    for col in ("asset", "status", "rows", "version", "seconds"):
        table.add_column(col, justify="right" if col in ("rows", "seconds") else "left")
    for key in sorted(result.results):
        r = result.results[key]
        style = STATUS_STYLE.get(str(r.status), "")
        table.add_row(key, f"[{style}]{r.status}[/]", f"{r.manifest.rows:,}" if r.manifest else "-",
                      r.manifest.version if r.manifest else "-", f"{r.seconds:.2f}")
    console.print(table)
    # each line names what the table names: the asset, or the asset and its partition
    for label, r in result.results.items():
        if r.error and not r.ok:
            _print_failure(label, r)
        elif r.note:
            console.print(f"{plain(label)}: {plain(r.note)}", highlight=False, soft_wrap=True)
    for label, r in result.results.items():
        for w in r.gate.warnings if r.gate else ():
            console.print(f"[yellow]{plain(label)}[/]: warning: {plain(str(w))}", highlight=False, soft_wrap=True)


def _print_failure(label: str, r: AssetResult) -> None:
    console.print(f"[{STATUS_STYLE.get(str(r.status), '')}]{plain(label)}[/]: {plain(str(r.error))}",
                  highlight=False, soft_wrap=True)
