"""``mesh dr ...``: replication lag, backups, failover, failback and recovery drills."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assets.errors import MeshError
from meshctl.cli._help import OneLineSummaries
from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    MAX_LAG,
    MAX_SCALE,
    RootOption,
    act_as,
    console,
    emit_json,
    fail,
    governed,
    open_mesh,
    open_policy_mesh,
    plain,
    user_errors,
)

dr_app = typer.Typer(cls=OneLineSummaries, help="Disaster recovery: status, replicate, backup, restore, failover, failback, drill.",
                     no_args_is_help=True)

STATE_STYLE = {"in sync": "green", "behind": "yellow", "corrupt": "bold red", "unreachable": "red", "diverged": "bold yellow",
               "excluded": "magenta", "not materialized": "dim"}


@dr_app.command("status")
def status(root: RootOption = None, verify: Annotated[bool, typer.Option(
        "--verify", help="Re-hash every replica against its manifest (reads all the data).")] = False,
           as_json: JsonOption = False) -> None:
    """Per asset: replication lag as RPO (versions and seconds behind) and readiness to fail over."""
    from governance.dr import dr_status

    mesh = open_policy_mesh(root)
    report = dr_status(mesh, verify=verify)
    if as_json:
        emit_json(report.to_dict())
    else:
        table = Table(title=f"active region {report.active}, standby {report.standby or '-'}")
        for col in ("asset", "state", "versions behind", "seconds behind", "current version", "standby's version",
                    "detail"):
            table.add_column(col)
        for a in report.assets:
            style = STATE_STYLE.get(a.state, "")
            standby = a.standby_current if a.state in ("in sync", "diverged") else None
            table.add_row(a.key, f"[{style}]{a.state}[/]", str(a.versions_behind), f"{a.seconds_behind:.1f}",
                          a.current or "-", standby or "-", plain(a.detail[:80]))
        console.print(table)
        for a in report.assets:  # in full: the fix does not fit the table
            if a.state == "diverged":
                console.print(f"[bold yellow]diverged[/] {plain(a.key)}: {plain(a.detail)}", highlight=False)
        verdict = "[green]ready to fail over[/]" if report.ready else "[yellow]not ready[/]"
        console.print(f"RPO now: {report.rpo_versions} version(s), {report.rpo_seconds:.1f} s. {verdict}")
    if any(a.state in ("corrupt", "unreachable") for a in report.assets):
        raise typer.Exit(1)


@dr_app.command("replicate")
def replicate(root: RootOption = None, verify: Annotated[bool, typer.Option(
        "--verify", help="Also re-hash existing replicas and copy again any that do not match.")] = False,
              as_json: JsonOption = False) -> None:
    """Catch the standby region up on every asset now (the handlers do it on each update)."""
    from governance.dr.status import protected_assets
    from governance.replication import Replicator

    mesh = open_policy_mesh(root)
    replicator = Replicator.for_mesh(mesh, governed(mesh).audit, actor="operator")
    if replicator is None:
        fail("the mesh has one region. Fix: add secondary_region to [mesh] in mesh.toml")
    keys = protected_assets(mesh)
    results = replicator.replicate_many(keys, verify=verify)
    lines = [f"{key}: FAILED: {r}" if isinstance(r, Exception) else r.describe()
             for key, r in zip(keys, results, strict=True)]
    if as_json:
        emit_json(lines)
    else:
        for line in lines:
            console.print(line, highlight=False, markup=False)
    if any(isinstance(r, Exception) for r in results):
        raise typer.Exit(1)


@dr_app.command("backup")
def backup(root: RootOption = None, to: Annotated[Path | None, typer.Option(
        "--to", help="Backup folder (default .mesh/backups/<UTC time>).")] = None, user: ActorOption = None,
           as_json: JsonOption = False) -> None:
    """Write a signed checkpoint of mesh.toml, the council's approvals, every manifest, the audit
    log and the wrapped keys (needs operate_dr)."""
    from governance.dr import backup as write_backup

    mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "dr_operation")
    with user_errors():
        report = write_backup(mesh, to, actor=actor)
    if as_json:
        emit_json(report.to_dict())
        return
    console.print(f"[green]backup written[/]: {report.path}\n  {report.files} files, {report.manifests} manifests, "
                  f"audit log of {report.audit_records} records (signed checkpoint)"
                  + (f"\n  [yellow]regions skipped (unreachable)[/]: {', '.join(report.skipped_regions)}"
                     if report.skipped_regions else ""))


@dr_app.command("restore")
def restore(backup_dir: Annotated[Path | None, typer.Argument(help="Backup folder (default: the newest).")] = None,
            root: RootOption = None, user: ActorOption = None, as_json: JsonOption = False) -> None:
    """Verify a backup (signature, checksums, audit chain), then restore what is missing or broken.
    A lost mesh.toml comes back first, from the backup, so the mesh can load."""
    from governance.council import APPROVALS_FILE
    from governance.dr import latest_backup, restore_config
    from governance.dr import restore as restore_backup
    from governance.policy import find_mesh_file

    with user_errors():
        try:
            folder = find_mesh_file(root).parent
        except MeshError:
            folder = (root or Path(os.environ.get("MESH_ROOT", "."))).resolve()
        lost = [name for name in ("mesh.toml", APPROVALS_FILE) if not (folder / name).exists()]
        if lost:  # what the mesh cannot load without comes back first, from the backup
            chosen = backup_dir or latest_backup(folder / ".mesh")
            if any((chosen / name).exists() for name in lost):
                for name in restore_config(folder / "mesh.toml", chosen):
                    console.print(f"restored {folder / name} from {chosen}")
        mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "dr_operation")
    with user_errors():
        report = restore_backup(mesh, backup_dir or latest_backup(mesh.state_dir), actor=actor)
    if as_json:
        emit_json(report.to_dict())
    else:
        console.print(f"[green]verified[/] {report.verified_files} files of {report.path}")
        for line in report.restored:
            console.print(f"  restored {line}", highlight=False, markup=False)
        for line in report.kept:
            console.print(f"  kept     {line}", highlight=False, markup=False)
        for line in report.problems:
            console.print(f"  [yellow]problem[/]  {plain(line)}", highlight=False)
    if report.problems:
        raise typer.Exit(1)


@dr_app.command("failover")
def failover(to: Annotated[str, typer.Option("--to", help="The region to make active.")],
             root: RootOption = None, user: ActorOption = None,
             force: Annotated[bool, typer.Option("--force", help="Switch even if data would be lost; "
                                                 "the loss is listed and audited.")] = False,
             as_json: JsonOption = False) -> None:
    """Verify the replicas in REGION, then make it the active region for reads and new versions."""
    from governance.dr import failover as switch

    mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "dr_operation")
    with user_errors():
        report = switch(mesh, to, governed(mesh).audit, force=force, actor=actor)
    _print_switch(report.to_dict(), as_json)


@dr_app.command("failback")
def failback(root: RootOption = None, user: ActorOption = None, as_json: JsonOption = False) -> None:
    """Catch the primary region up from the active one, verified, then switch back to it."""
    from governance.dr import failback as switch_back

    mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "dr_operation")
    with user_errors():
        report = switch_back(mesh, governed(mesh).audit, actor=actor)
    _print_switch(report.to_dict(), as_json)


@dr_app.command("drill")
def drill(root: RootOption = None,
          scale: Annotated[int, typer.Option(help="Orders the example data generates.", min=1, max=MAX_SCALE)] = 3_000,
          keep: Annotated[bool, typer.Option("--keep", help="Keep the throwaway copy and print where.")] = False,
          lag: Annotated[int, typer.Option(help="Versions published without replication before the loss, "
                                                "to see the RPO at work.", min=0, max=MAX_LAG)] = 0,
          as_json: JsonOption = False) -> None:
    """Recovery drill on a throwaway copy: materialize, destroy the primary, fail over, verify, go on."""
    from governance.dr import drill as run_drill

    mesh = open_mesh(root)
    report = run_drill(mesh, params={"scale": scale}, keep=keep, lag=lag)
    if as_json:
        emit_json(report.to_dict())
    else:
        for step in report.steps:
            console.print(f"  {step}", highlight=False, markup=False)
        verdict = "[green]drill passed[/]" if report.ok else "[bold red]drill FAILED[/]"
        console.print(f"{verdict}: RTO {report.rto_seconds:.3f} s (failover), {report.recovery_seconds:.1f} s until "
                      f"the mesh materialized again; RPO {report.rpo_versions} version(s), {report.rpo_seconds:.1f} s"
                      + (f"; lost beyond the RPO: {', '.join(report.lost_beyond_rpo)}" if report.lost_beyond_rpo else "")
                      + (f"\n  copy kept in {report.workdir}" if keep else ""))
    if not report.ok:
        raise typer.Exit(1)


def _print_switch(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    console.print(f"[green]active region is now {report['to']}[/] (was {report['from']}); "
                  f"{report['summary']}; RTO {report['rto_seconds']} s"
                  + (f"; {report['caught_up']} version(s) copied back first" if report["caught_up"] else ""))
    for loss in report["lost"]:  # type: ignore[attr-defined]
        console.print(f"  [yellow]lost[/] {loss['key']}: {len(loss['versions'])} version(s), "
                      f"{plain(str(loss['reason']))}",
                      highlight=False)
