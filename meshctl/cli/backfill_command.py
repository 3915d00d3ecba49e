"""``mesh backfill SELECTION --from DATE --to DATE``: run the partitions of a date range in-process."""

from __future__ import annotations

import shlex
from enum import Enum
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperOption

from meshctl.cli._output import (
    JsonOption,
    RootOption,
    console,
    emit_json,
    fail,
    open_mesh,
    progress,
    require_at_least,
    user_errors,
)
from meshctl.cli.run_table import print_run


def retry_command(ctx: typer.Context, *, without: tuple[str, ...] = ()) -> str:
    """The command that ran, as the user typed it (the arguments and the options given on the
    command line, quoted for a shell), leaving out the parameters named ``without``."""
    words = ["mesh", ctx.info_name or ""]
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        source = ctx.get_parameter_source(name)
        if name in without or source is None or source.name != "COMMANDLINE":  # not a default or the environment
            continue
        if isinstance(param, TyperArgument):
            words.append(shlex.quote(str(value)))
        elif isinstance(param, TyperOption) and param.is_flag:
            words.append(param.opts[0] if value else (param.secondary_opts or [param.opts[0]])[0])
        else:
            shown = value.value if isinstance(value, Enum) else value
            words += [param.opts[0], shlex.quote(str(shown))]
    return " ".join(words)
from meshctl.profiles import DEFAULT_PORT


class Runner(str, Enum):
    """Where a backfill runs."""

    engine = "engine"
    airflow = "airflow"


def backfill(
    ctx: typer.Context,
    selection: Annotated[str, typer.Argument(help="Selection, e.g. 'sales.daily_orders+' (the days and what they feed).")],
    first: Annotated[str, typer.Option("--from", help="First day (or partition key) of the range, e.g. 2026-11-16.")],
    last: Annotated[str, typer.Option("--to", help="Last day (or partition key) of the range, included.")],
    root: RootOption = None,
    max_parallel: Annotated[int, typer.Option("--max-parallel", help="Partitions run at once.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data of root assets.", min=0)] = 7,
    bad_day: Annotated[str | None, typer.Option("--bad-day", help="Demo: sales.daily_orders' partition of this day "
                                                "emits a row its contract rejects.")] = None,
    rerun: Annotated[bool, typer.Option("--rerun", help="Run every partition again, even those already up to date.")] = False,
    on: Annotated[Runner, typer.Option("--on", help="engine: in this process. airflow: as Airflow backfills and runs "
                                      "with partition keys on the Airflow `mesh up` started.")] = Runner.engine,
    port: Annotated[int | None, typer.Option(
        help="With --on airflow: the API server's port (default: the Airflow `mesh up` started, else "
             f"{DEFAULT_PORT}).", min=1, max=65535)] = None,
    timeout: Annotated[float, typer.Option(help="With --on airflow: seconds to wait for the backfill.")] = 3600,
    as_json: JsonOption = False,
) -> None:
    """Run every partition of the range (and the partitions they feed in the selection), each gated
    and published on its own. Resumable: run it again after a failure and only what is missing or
    failed runs; a partition whose gate failed skips exactly the partitions that read it."""
    from assets.backfill import plan, run_plan
    from assets.results import Status

    require_at_least("--max-parallel", max_parallel, 1)
    if not timeout > 0:  # also refuses nan, which no deadline is ever past
        fail(f"--timeout {timeout} is not a number of seconds above 0. Fix: pass --timeout 3600, say")
    mesh = open_mesh(root)
    params = {"seed": seed, "bad_day": bad_day}
    if on is Runner.airflow:
        from meshctl.cli.backfill_airflow import backfill_on_airflow
        from meshctl.local_airflow import LocalAirflow

        port = port or LocalAirflow(mesh.root).started_port() or DEFAULT_PORT
        with user_errors():
            backfill_on_airflow(mesh, mesh.select(selection), first, last, max_parallel=max_parallel, port=port,
                                params=params, as_json=as_json, timeout=timeout)
        return
    with user_errors():
        work = plan(mesh, selection, first=first, last=last)
    with progress(len(work), f"backfilling {len(work)} partitions", enabled=not as_json) as advance, user_errors():
        result = run_plan(mesh, work, params=params, max_parallel=max_parallel, resume=not rerun,
                          on_result=lambda r: advance(f"{r.key}/{r.partition or '-'}: {r.status}"))
    if as_json:
        emit_json(result.to_dict())
    else:
        print_run(result)
        counts: dict[str, int] = {}
        for r in result.results.values():
            counts[str(r.status)] = counts.get(str(r.status), 0) + 1
        done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        again = retry_command(ctx, without=("bad_day", "rerun"))  # resuming retries exactly what failed or was skipped
        console.print(f"{len(result.results)} partitions: {done}"
                      + ("" if result.ok else f"; run it again {'without --bad-day ' if bad_day else ''}to retry what "
                         f"failed or was skipped: {again}"), highlight=False, markup=False, soft_wrap=True)
        if bad_day and not rerun and not any(r.partition == bad_day and r.status is not Status.UNCHANGED
                                             for r in result.results.values()):
            console.print(f"--bad-day {bad_day}: no partition of that day ran (it was up to date, or is not in the "
                          "range), so no bad rows were made; add --rerun to run it again", highlight=False)
    if not result.ok:
        raise typer.Exit(1)
