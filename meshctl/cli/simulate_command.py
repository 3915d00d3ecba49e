"""``mesh ops simulate``: a month of the mesh's schedules in compressed time, with faults,
self-healing on and off, and the figures against the targets."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from meshctl.cli._output import (
    JsonOption,
    MAX_SCALE,
    RootOption,
    console,
    emit_json,
    user_errors,
)
from meshctl.cli.ops_app import ops_app


class Healing(str, Enum):
    """Which runs to make: self-healing on and off (to compare), or one of them."""

    both = "both"
    on = "on"
    off = "off"


def _rate(name: str, default: float, what: str) -> Any:
    return typer.Option(f"--{name}", help=f"Probability {what} (0 to 1; default {default}).")


@ops_app.command("simulate")
def simulate_command(
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the faults (and of the data).", min=0)] = 7,
    scale: Annotated[int, typer.Option(help="Orders per run of sales.orders.", min=1, max=MAX_SCALE)] = 200,
    healing: Annotated[Healing, typer.Option(help="Self-healing on and off (both), or one run.")] = Healing.both,
    transient: Annotated[float, _rate("transient", 0.01, "that a run fails once, transiently")] = 0.01,
    slow: Annotated[float, _rate("slow", 0.003, "that a run takes 1 to 2.5 hours")] = 0.003,
    bad_data: Annotated[float, _rate("bad-data", 0.002, "that a run's output fails its contract")] = 0.002,
    killed: Annotated[float, _rate("killed", 0.001, "that the worker running a run is killed part-way")] = 0.001,
    corrupt_file: Annotated[float, _rate("corrupt-file", 0.01, "per tick that a current data file gets a flipped "
                                                               "byte")] = 0.01,
    lost_replica: Annotated[float, _rate("lost-replica", 0.01, "per tick that the standby loses a version")] = 0.01,
    notifier_outage: Annotated[float, _rate("notifier-outage", 0.005, "per tick that the alert file becomes "
                                                                      "unwritable for 1 to 6 hours")] = 0.005,
    folder: Annotated[Path | None, typer.Option(help="Where the throwaway copies go (default: a temporary folder, "
                                                     "in memory where the system has one).")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the copies afterwards (to look at them).")] = False,
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay DAYS of the mesh's schedules in compressed time on a copy of it (the real engine,
    gate, storage, replication, monitor and alerts, at a small scale), injecting faults at the
    given rates, with self-healing on and off; print SLA compliance, availability, MTTR, MTBF,
    incidents, alerts sent and how well breaches were predicted, against the [ops] targets."""
    from governance.ops.simulation import (
        FaultRates,
        Settings,
        figures,
        simulate,
        start_of_next_day,
    )
    from governance.policy import find_mesh_file

    with user_errors():
        rates = FaultRates(transient=transient, slow=slow, bad_data=bad_data, killed=killed, corrupt_file=corrupt_file,
                           lost_replica=lost_replica, notifier_outage=notifier_outage)
        source = find_mesh_file(root).parent
        start = start_of_next_day(dt.datetime.now(dt.UTC))
        modes = {Healing.both: (True, False), Healing.on: (True,), Healing.off: (False,)}[healing]
        settings = [Settings(days=days, seed=seed, start=start, rates=rates, scale=scale, healing=on) for on in modes]
    base = Path(tempfile.mkdtemp(prefix="mesh-simulate-", dir=folder or _in_memory()))
    results: list[dict[str, Any]] = []
    try:
        for s in settings:
            if not as_json:
                console.print(f"simulating {days} day(s) from {start:%Y-%m-%d}, seed {seed}, self-healing "
                              f"{'on' if s.healing else 'off'}...", highlight=False)
            with user_errors():
                outcome = simulate(source, s, base / ("healing-on" if s.healing else "healing-off"))
            results.append(figures(outcome))
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    if as_json:
        emit_json({"runs": results, "folder": str(base) if keep else None})
        return
    _print(results)
    if keep:
        console.print(f"copies kept in {base}", highlight=False)


def _in_memory() -> str | None:
    """``/dev/shm`` where there is one (a throwaway copy needs no disk syncs), else the default."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and shm.stat().st_mode & 0o002 else None


def _print(results: list[dict[str, Any]]) -> None:
    from governance.ops.simulation.figures import ROWS, value_at

    first = results[0]
    targets = first["targets"]
    goal = {"sla_percent": f">= {targets['sla_target']}%", "availability_percent":
            f">= {targets['availability_target']}%", "mttr_minutes": f"<= {targets['mttr_target_seconds'] / 60:g} min"}
    table = Table(title=f"{first['days']} simulated day(s), seed {first['seed']}, {first['scale']} orders a run")
    table.add_column("figure")
    table.add_column("target")
    for r in results:
        table.add_column(f"self-healing {'on' if r['healing'] else 'off'}", justify="right")
    for label, path, unit in ROWS:
        cells = []
        for r in results:
            value = value_at(r, path)
            met = r["met"].get({"sla_percent": "sla", "availability_percent": "availability",
                                "mttr_minutes": "mttr"}.get(path[0], ""))
            style = "" if met is None else ("green" if met else "red")
            text = "-" if value is None else f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(label, goal.get(path[0], ""), *cells)
    console.print(table)
    for r in results:
        mode = "on" if r["healing"] else "off"
        injected = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in r["injected"].items()) or "nothing"
        healed = ", ".join(f"{k} {n}" for k, n in r["self_healing"].items()) or "-"
        console.print(f"self-healing {mode}: {r['ticks']} ticks, {r['runs']} runs in {r['wall_seconds']:g} s; "
                      f"injected: {injected}; runbook: {healed}; alert incidents: "
                      + (", ".join(f"{k} {n}" for k, n in r["alerts"]["incidents_by_kind"].items()) or "none"),
                      highlight=False, soft_wrap=True)
        console.print(f"self-healing {mode}, incidents by cause (count, still open, MTTR, longest): " + "; ".join(
            f"{fault} {c['incidents']} ({c['open']} open, "
            + ("-" if c["mttr_minutes"] is None else f"{c['mttr_minutes']:g} / {c['max_minutes']:g} min") + ")"
            for fault, c in r["mttr_by_cause"].items()), highlight=False, soft_wrap=True)
