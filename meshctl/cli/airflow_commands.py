"""``mesh up``, ``mesh down``: the mesh on a local Airflow 3, and the cascade that follows."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from assets.errors import MeshError
from meshctl.cli._output import (
    MAX_SCALE,
    console,
    emit_json,
    errors,
    fail,
    open_mesh,
    user_errors,
)
from meshctl.profiles import DEFAULT_PORT, EMBEDDED, Profile, distributed
from meshctl.services import service_urls, stop_services

if TYPE_CHECKING:  # the Airflow client is imported when a command runs: `mesh --help` does not pay for it
    from assets.mesh import Mesh
    from meshctl.airflow_cascade import CascadeState
    from meshctl.local_airflow import LocalAirflow

STATE_STYLE = {"success": "green", "failed": "bold red", "running": "cyan", "queued": "yellow", "unchanged": "cyan"}


class ProfileName(str, Enum):
    embedded = "embedded"
    distributed = "distributed"


#: In the Airflow home: the data folder of the servers `mesh up` started, for `mesh down`.
SERVICES_MARK = "services-started"


def up(
    root: Annotated[Path | None, typer.Option("--root", envvar="MESH_ROOT", help="Folder holding mesh.toml.")] = None,
    port: Annotated[int, typer.Option(help="API server port (P+1 and P+2 are used by log servers); 0 picks a free one.",
                                      min=0, max=65535)] = DEFAULT_PORT,
    run: Annotated[bool, typer.Option("--run", help="Unpause the mesh's DAGs, trigger the roots, follow the cascade.")] = False,
    inject_bad_rows: Annotated[bool, typer.Option("--inject-bad-rows", help="With --run: then a second wave whose roots emit rows their contracts reject.")] = False,
    scale: Annotated[int, typer.Option(help="With --run: rows of sales.orders.", min=1, max=MAX_SCALE)] = 100_000,
    keep: Annotated[bool, typer.Option("--keep", help="With --run: leave Airflow running afterwards.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cascade summary as JSON.")] = False,
    profile: Annotated[ProfileName, typer.Option(help="embedded: SQLite and LocalExecutor. distributed: PostgreSQL, "
                                                 "CeleryExecutor, Redis broker, Celery workers; the servers from "
                                                 "MESH_PG_URL and MESH_REDIS_URL, or started on loopback by "
                                                 "scripts/services.sh.")] = ProfileName.embedded,
    workers: Annotated[int, typer.Option(help="With --profile distributed: Celery workers to start.")] = 2,
) -> None:
    """Start Airflow locally (dags/; SQLite and LocalExecutor, or --profile distributed), and
    optionally run the mesh on it."""
    from meshctl.airflow_cascade import wait_for_dags
    from meshctl.local_airflow import LocalAirflow, free_port

    with user_errors():
        mesh = open_mesh(root)
        chosen, started = _profile(profile, mesh.root, workers)
        airflow = LocalAirflow(mesh.root, port=free_port(len(chosen.ports(0))) if port == 0 else port, profile=chosen)
        names = ", ".join(c.name for c in airflow.components())
        was_running = bool(airflow.running())
        change = airflow.bundles_changed() if was_running else None
        with console.status(f"starting Airflow 3 in {airflow.home} ({names}; {chosen.describe()})"):
            try:
                launched = airflow.start()
            except BaseException:
                if started is not None:
                    stop_services(started)
                raise
        if change is not None:  # every component restarted with the new bundles
            console.print(f"{change} since Airflow started: restarted it to load the change "
                          f"({', '.join(launched)})")
        elif was_running:  # only what was missing started: a component that died, a new team's triggerer
            console.print(f"Airflow was already running from {airflow.home}; started what was missing: "
                          f"{', '.join(launched)}")
        if started is not None:
            (airflow.home / SERVICES_MARK).write_text(str(started))
    try:
        with user_errors(), airflow.client() as client, console.status("waiting for the DAGs to be parsed"):
            wait_for_dags(client, mesh)
        _print_access(airflow)
        if not run:
            console.print("Airflow keeps running; stop it with [bold]uv run mesh down[/].")
            return
        waves = _run_waves(airflow, mesh, scale=scale, inject_bad_rows=inject_bad_rows, as_json=as_json)
        partitions_ok = _run_partitions(airflow, mesh, as_json=as_json)
    except BaseException:
        if not keep:
            airflow.stop()
            _stop_services(airflow)
        raise
    if keep:
        console.print(f"Airflow keeps running at {airflow.url}; stop it with [bold]uv run mesh down[/].")
    else:
        airflow.stop()
        _stop_services(airflow)
        console.print("Airflow stopped (pass --keep to leave it running).")
    if any(w.failed for w in waves[:1]) or (inject_bad_rows and not waves[-1].failed) or not partitions_ok:
        raise typer.Exit(1)


def down(
    root: Annotated[Path | None, typer.Option("--root", envvar="MESH_ROOT", help="Folder holding mesh.toml.")] = None,
) -> None:
    """Stop every Airflow process `mesh up` started for this mesh, and the PostgreSQL and Redis
    servers it started for the distributed profile."""
    from meshctl.local_airflow import LocalAirflow

    with user_errors():
        mesh = open_mesh(root)
        airflow = LocalAirflow(mesh.root)
        stopped = airflow.stop() + _stop_services(airflow)
    console.print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


def _profile(name: ProfileName, root: Path, workers: int) -> tuple[Profile, Path | None]:
    """The profile ``name`` and, for the distributed one, the data folder of the servers started
    for it here (None: given, or already running; module :mod:`meshctl.services`)."""
    if name is ProfileName.embedded:
        return EMBEDDED, None
    with console.status("PostgreSQL and Redis: MESH_PG_URL and MESH_REDIS_URL, or started on loopback"):
        urls = service_urls(root / ".mesh" / "services")
    return distributed(urls.postgres, urls.redis, workers=workers), urls.started


def _stop_services(airflow: LocalAirflow) -> list[str]:
    """Stop the servers `mesh up` started for this Airflow home (their folder is in SERVICES_MARK)."""
    mark = airflow.home / SERVICES_MARK
    if not mark.exists():
        return []
    stop_services(Path(mark.read_text()))
    mark.unlink()
    return ["postgresql", "redis"]


def _run_waves(airflow: LocalAirflow, mesh: Mesh, *, scale: int, inject_bad_rows: bool,
               as_json: bool) -> list[CascadeState]:
    from meshctl.airflow_cascade import run_cascade, unpause_mesh

    roots = [k for k in mesh.graph if mesh.graph[k].spec.is_root]
    waves: list[tuple[str, dict[str, Any]]] = [("1. every root asset triggered", {"scale": scale, "seed": 7})]
    if inject_bad_rows:
        waves.append(("2. again, with roots emitting rows their contracts reject",
                      {"scale": scale, "seed": 7, "inject_bad_rows": True}))
    results = []
    keep_alive = _KeepAlive(airflow)
    with airflow.client() as client:
        unpause_mesh(client, mesh)
        for title, conf in waves:
            console.rule(title)
            try:
                with Live(console=console, refresh_per_second=2, transient=not console.is_terminal) as live:
                    def on_poll(s: CascadeState) -> None:
                        live.update(_table(s))
                        keep_alive.check()
                    state = run_cascade(client, mesh, {k: conf for k in roots}, on_poll=on_poll)
            except MeshError as exc:
                fail(str(exc))
            results.append(state)
            if as_json:
                emit_json(_as_dict(state))
            else:
                console.print(_table(state))
                _explain(mesh, state)
    return results


class _KeepAlive:
    """Starts again an Airflow component that died while a cascade runs (at most
    :attr:`LIMIT` times), saying which and why; past the limit, stops the wait with that
    reason instead of letting it run into its timeout."""

    LIMIT = 3

    def __init__(self, airflow: LocalAirflow) -> None:
        self.airflow, self.revived = airflow, 0

    def check(self) -> None:
        from meshctl.local_airflow import AirflowRuntimeError

        if self.revived >= self.LIMIT:
            dead = self.airflow.dead()
            if dead:
                raise AirflowRuntimeError(
                    f"Airflow's {', '.join(dead)} stopped again after {self.LIMIT} restarts: "
                    + "; ".join(f"{name}: {why}" for name, why in dead.items()),
                    where=str(self.airflow.home / "logs"), fix="read those components' logs there, then `mesh down` "
                    "and `mesh up` (a busy machine: run it again when the load is lower)")
            return
        revived = self.airflow.revive()
        for name, why in revived.items():
            self.revived += 1
            errors.print(f"Airflow's {name} had stopped ({why}); started it again, and it takes over its runs",
                         highlight=False)


def last_complete_week(today: dt.date) -> tuple[str, str]:
    """The Monday and Sunday of the last ISO week that ended before ``today``."""
    sunday = today - dt.timedelta(days=today.weekday() + 1)
    return (sunday - dt.timedelta(days=6)).isoformat(), sunday.isoformat()


def _run_partitions(airflow: LocalAirflow, mesh: Mesh, *, as_json: bool) -> bool:
    """The partitioned assets' wave: an Airflow backfill of the last complete ISO week (Monday
    to Sunday before today, UTC) of those on a clock, whose days' events roll the week up; what
    the cascade leaves out. ``True`` when there are none, or every partition succeeded."""
    from meshctl.airflow_cascade import partitioned_keys, wait_for_partition_governance
    from meshctl.cli.backfill_airflow import backfill_on_airflow

    keys = sorted(partitioned_keys(mesh))
    if not keys:
        return True
    first, last = last_complete_week(dt.datetime.now(dt.UTC).date())
    if not as_json:
        console.rule(f"partitions: an Airflow backfill of {first} .. {last} (mesh backfill --on airflow)")
    started = dt.datetime.now(dt.UTC)
    try:
        backfill_on_airflow(mesh, keys, first, last, max_parallel=4, port=airflow.port, params={"seed": 7},
                            as_json=as_json, timeout=900)
    except typer.Exit:
        return False
    except MeshError as exc:
        errors.print(f"the partitions' backfill was not made: {exc}", highlight=False)
        return False
    with airflow.client() as client, console.status("waiting for the partitions' governance runs"):
        if not wait_for_partition_governance(client, mesh, started):
            errors.print("the partition governance DAGs had not handled every partition in 300 s: see them in the "
                         "Airflow UI", highlight=False)
    return True


def _table(state: CascadeState) -> Table:
    table = Table(title="asset DAG runs since the trigger")
    for col in ("asset", "run", "state", "rows", "version", "seconds"):
        table.add_column(col)
    for key, run in state.assets.items():
        label = run.state or ("skipped" if key in state.skipped else "not triggered (inputs unchanged)"
                              if key in state.idle else "waiting")
        style = STATE_STYLE.get(label, "dim")
        table.add_row(key, run.run_type or "-", f"[{style}]{label}[/]", str(run.extra.get("rows", "-")),
                      str(run.extra.get("version", "-")), f"{run.seconds:.1f}" if run.seconds else "-")
    return table


def _explain(mesh: Mesh, state: CascadeState) -> None:
    succeeded = [k for k, r in state.assets.items() if r.state == "success"]
    console.print(f"- {len(succeeded)} asset(s) published through Airflow; each downstream run was asset_triggered")
    for key in state.failed:
        console.print(f"- [bold red]{key}[/] failed: its Asset event was not emitted, so "
                      f"{', '.join(sorted(mesh.graph.descendants(key) & set(state.assets))) or 'nothing'} did not run")
    ran = {d: len(s) for d, s in state.governance.items()}
    console.print(f"- governance DAG runs (handlers on each update): {ran}")


def _print_access(airflow: LocalAirflow) -> None:
    console.print(f"Airflow UI and API: [bold]{airflow.url}[/] (loopback only). No login is needed: the local "
                  "simple auth manager makes every user admin. Logs: " + str(airflow.home / "logs"))
    console.print(f"Dashboard: [bold]{airflow.url}/mesh/[/] (\"Data mesh\" in the Airflow UI's navigation)")


def _as_dict(state: CascadeState) -> dict[str, Any]:
    return {"started": state.started.isoformat(), "failed": state.failed, "skipped": sorted(state.skipped),
            "idle": sorted(state.idle),
            "assets": {k: {"state": r.state, "run_type": r.run_type, "run_id": r.run_id, "extra": dict(r.extra)}
                       for k, r in state.assets.items()},
            "governance_runs": state.governance}
