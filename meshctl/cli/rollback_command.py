"""``mesh rollback``: the explicit, audited way back to an older version of an asset."""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    RootOption,
    act_as,
    console,
    emit_json,
    governed,
    open_policy_mesh,
    plain,
    user_errors,
)


def rollback(
    asset: Annotated[str, typer.Argument(help="Asset key, e.g. sales.orders.")],
    to: Annotated[str | None, typer.Option(
        "--to", help="The version to make current (mesh history ASSET); by default the newest older one that verifies.")] = None,
    partition: Annotated[str | None, typer.Option(help="A partitioned asset: the partition to roll back.")] = None,
    root: RootOption = None,
    user: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an older version of an asset current in the active region (an owner of its domain,
    or operate_dr). The version must verify (without --to: the newest older version that does);
    the rollback is audited and replicated."""
    from governance.rollback import rollback as roll_back

    mesh = open_policy_mesh(root)
    actor = act_as(mesh, user, "rollback")
    with user_errors():
        report = roll_back(mesh, asset, to, governed(mesh).audit, actor=actor, partition=partition)
    if report.not_mirrored:
        console.print(f"[yellow]warning:[/] {plain(report.not_mirrored)}", highlight=False)
    if as_json:
        emit_json(report.to_dict())
        return
    shown = f"{report.key}/{report.partition}" if report.partition is not None else report.key
    console.print(f"{plain(shown)} is now at {plain(report.version)} in region {plain(report.region)} "
                  f"(was {plain(report.previous or '-')})", highlight=False)
    if report.mirrored is not None:
        console.print(f"mirrored to the standby: {plain(report.mirrored)}", highlight=False)
