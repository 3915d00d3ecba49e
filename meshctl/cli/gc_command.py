"""``mesh gc``: remove what killed writers left behind."""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli._output import (
    JsonOption,
    RootOption,
    console,
    emit_json,
    governed,
    open_policy_mesh,
    user_errors,
)


def gc(
    root: RootOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")] = False,
    grace_hours: Annotated[float, typer.Option(
        "--grace-hours", min=0, help="Remove what a writer left untouched this long even if it may be alive.")] = 6.0,
    as_json: JsonOption = False,
) -> None:
    """Remove what killed writers left in every region: staging folders, and on S3 version folders
    without a manifest (each removal audited)."""
    from governance.gc import collect_garbage

    with user_errors():
        mesh = open_policy_mesh(root)
        report = collect_garbage(mesh, governed(mesh).audit, grace_seconds=grace_hours * 3600, dry_run=dry_run)
    if as_json:
        emit_json(report.to_dict())
    else:
        verb = "removed" if report.removed else "would remove"
        for x in report.leftovers:
            console.print(f"{verb} {x.region}:{x.path} ({x.bytes:,} bytes)", highlight=False, markup=False)
        for line in report.problems:
            console.print(f"problem: {line}", highlight=False, markup=False)
        console.print(f"{len(report.leftovers)} leftover(s), {report.bytes:,} bytes "
                      f"{'removed' if report.removed else 'would be removed'}")
    if report.problems:
        raise typer.Exit(1)
