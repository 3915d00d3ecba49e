"""``mesh backfill ... --on airflow``: the backfill made by the mesh's running Airflow
(:mod:`meshctl.airflow_backfill`), with its progress read back from Airflow."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import typer

from assets.mesh import Mesh
from meshctl.airflow_backfill import (
    BackfillProgress,
    plan_backfill,
    start_backfill,
    wait_for_backfill,
    waiting_partitions,
)
from meshctl.cli._output import console, emit_json, errors
from meshctl.local_airflow import LocalAirflow


def backfill_on_airflow(mesh: Mesh, keys: Sequence[str], first: str, last: str, *, max_parallel: int, port: int,
                        params: Mapping[str, Any], as_json: bool, timeout: float) -> BackfillProgress:
    """Plan, start and follow the backfill on the Airflow of ``mesh`` listening on ``port``
    (started by ``mesh up``), each run with ``params`` as its conf; exits 1 if a partition failed."""
    plan = plan_backfill(mesh, keys, first, last)
    airflow = LocalAirflow(mesh.root, port=port)
    with airflow.client() as client:
        started = start_backfill(client, mesh, plan, max_parallel=max_parallel,
                                 conf={k: v for k, v in params.items() if v is not None})
        if not as_json:
            for key, how in plan.how.items():
                made = started.get(key, {})
                what = {"backfill": made.get("refused") or f"Airflow backfill {made.get('backfill_id', '-')}",
                        "runs": "DAG runs", "follows": "follows its inputs' partition events"}[how]
                console.print(f"{key}: {len(plan.partitions[key])} partition(s), "
                              f"{len(made.get('partitions', []))} to run now ({what})")

        result = wait_for_backfill(client, plan, started, timeout=timeout,
                                   on_poll=progress_printer(plan.total, enabled=not as_json))
    if as_json:
        emit_json(result.to_dict())
    else:
        for key, parts in result.failed().items():
            console.print(f"[red]{key}: failed {', '.join(parts)}[/red] (nothing downstream ran on them; run the same "
                          "command again to resume)")
        for key, parts in waiting_partitions(plan, result).items():
            console.print(f"{key}: {', '.join(parts)} not run: Airflow runs a partition that follows its inputs "
                          "once every input partition it reads is published (a week: all seven days); in-process, "
                          "`mesh backfill` rolls up those published so far", highlight=False)
        console.print(f"{result.count('success')} of {plan.total} partitions succeeded")
    if not result.ok and result.failed():
        raise typer.Exit(1)
    return result


def progress_printer(total: int, *, enabled: bool) -> Callable[[BackfillProgress], None]:
    """A poll's callback printing the backfill's progress on stderr, only when it changed."""
    shown: list[str] = []

    def show(now: BackfillProgress) -> None:
        line = f"{now.count('success')}/{total} succeeded, {now.count('failed')} failed, {now.active} running"
        if enabled and shown[-1:] != [line]:
            shown.append(line)
            errors.print(line, highlight=False)
    return show
