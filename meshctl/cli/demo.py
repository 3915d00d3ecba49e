"""``mesh demo``: the whole example mesh, then a bad feed stopped at its contract gate."""

from __future__ import annotations

import typer

from assets.atomic import atomic_write
from assets.engine import materialize
from assets.mesh import Mesh
from assets.results import RunResult, Status
from meshctl.cli._output import console, governed, progress
from meshctl.cli.run_table import print_run


def run_demo(mesh: Mesh, *, scale: int) -> None:
    keys = mesh.select("*")
    console.rule(f"1. Materialize all {len(keys)} assets of mesh '{mesh.policy.settings.name}' ({scale:,} orders)")
    good = _run(mesh, len(keys), {"scale": scale, "seed": 7})
    print_run(good)
    console.rule("2. The same mesh, with a glitching exchange-rate feed (--inject-bad-rows)")
    bad = _run(mesh, len(keys), {"scale": scale, "seed": 7, "inject_bad_rows": True})
    print_run(bad)
    stopped = bad.by_status(Status.GATE_FAILED)
    skipped = bad.by_status(Status.SKIPPED)
    unchanged = all(mesh.store().current_version(k) == good[k].manifest.version  # type: ignore[union-attr]
                    for k in stopped + skipped)
    observed = _observe_a_drop(mesh)
    console.rule("What happened")
    console.print(f"- run 1: {len(good.by_status(Status.MATERIALIZED))} of {len(keys)} assets published")
    console.print(f"- run 2: the gate stopped {', '.join(stopped)}; {len(skipped)} downstream asset(s) skipped "
                  f"({', '.join(skipped)}); the other branches published new versions")
    console.print(f"- the current versions of stopped and skipped assets are still run 1's: {unchanged}")
    if observed is not None:
        console.print(f"- run 3: a file dropped in the observed source's folder was observed, gated and published; "
                      f"{len(observed.by_status(Status.MATERIALIZED)) - 1} asset(s) downstream of it ran")
    console.print("\nWhere to look:")
    console.print(f"- data and manifests: {mesh.store().root.url}/<domain>/<asset>/<version>/")
    for key in stopped:
        console.print(f"- quarantined rows and report of {key}: {bad[key].quarantine}/report.md")
    print_recovery_summary(mesh)
    write_compliance_report(mesh)
    console.print("- try: " + " | ".join(f"uv run mesh {' '.join(command)}" for command in TRY), markup=False)
    print_ops_status(mesh)
    if not good.ok or not stopped or not unchanged or (observed is not None and not observed.ok):
        raise typer.Exit(1)


#: The commands the demo's summary suggests trying next, each as it runs in the example mesh.
TRY = (("list",), ("read", "finance.monthly_revenue", "--as", "analyst@acme.example"), ("check",),
       ("lineage", "sales.orders", "--impact"), ("dr", "status"), ("dr", "drill"))


#: How many leads the file the demo drops for the example's observed source holds.
DEMO_LEADS = 30


def _observe_a_drop(mesh: Mesh) -> RunResult | None:
    """Drop a CSV file of web leads (under a temporary name, renamed into place) in the folder of
    the example's observed source, wait until it settled, and observe it."""
    import datetime as dt
    import time

    from assets.drops import complete_files
    from assets.observe import observe
    from governance.example_drops import EXAMPLE_SOURCE, drop_leads

    key = EXAMPLE_SOURCE
    drop = mesh.graph[key].spec.drop if key in mesh.graph else None
    if drop is None or drop.on_s3:
        return None
    console.rule(f"3. An observed source: a file arrives in {drop.folder}/")
    path = drop_leads(mesh, dt.datetime.now(dt.UTC), DEMO_LEADS)
    if path is None:
        return None
    name = path.name
    console.print(f"dropped {drop.folder}/{name} ({DEMO_LEADS} leads); waiting {drop.settle:g} s for it to settle",
                  highlight=False)
    deadline = time.monotonic() + drop.settle + 30
    while name not in {s.name for s in complete_files(drop, mesh.root, now=time.time())}:
        if time.monotonic() > deadline:
            console.print("the dropped file never settled; not observed")
            return None
        time.sleep(0.2)
    result = observe(key, mesh=mesh)
    print_run(result)
    return result


def _run(mesh: Mesh, total: int, params: dict[str, object]) -> RunResult:
    with progress(total, "materializing", enabled=True) as advance:
        return materialize("*", mesh=mesh, params=params, on_result=lambda r: advance(f"{r.key}: {r.status}"))


def print_recovery_summary(mesh: Mesh) -> None:
    """One line each for lineage delivery, the standby region and alerts, after a demo run."""
    from governance.dr import dr_status

    lineage = governed(mesh).lineage
    outbox = lineage.outbox.status()
    status = dr_status(mesh)
    in_sync = sum(a.state == "in sync" for a in status.assets)
    console.print(f"\nLineage: {outbox.sent} OpenLineage events delivered, {outbox.pending} pending "
                  f"(namespace {lineage.settings.namespace}).")
    console.print(f"Replication: {in_sync} of {len(status.assets)} assets and partitions in sync in {status.standby}; RPO "
                  f"{status.rpo_versions} version(s), {status.rpo_seconds:.1f} s; "
                  + ("[green]ready to fail over[/]" if status.ready else "[yellow]not ready to fail over[/]"))
    print_alerts_summary(mesh)


def print_ops_status(mesh: Mesh) -> None:
    """The operations status of every asset (``mesh ops status``), to end a demo with."""
    from meshctl.cli.ops_commands import ops_statuses, print_statuses

    found = ops_statuses(mesh)
    fresh = sum(s.state == "fresh" for s in found)
    console.rule("Operations")
    print_statuses(found, f"ops status: {fresh} of {len(found)} assets fresh")
    console.print("- more: uv run mesh ops status --json | uv run mesh ops report --since 30d | "
                  "uv run mesh ops serve-metrics --port 9464")


def print_alerts_summary(mesh: Mesh) -> None:
    """How many alerts were sent, where to, and the open incidents."""
    sink = governed(mesh).alerts
    where = ", ".join(f"{n.name} ({getattr(n, 'path', n.kind)})" for n in sink.notifiers.values()) or "no notifier"
    open_ = sink.incidents()
    console.print(f"Alerts: {sink.sent()} sent to {where}; {len(open_)} open incident(s)"
                  + "".join(f"\n  #{i.id} {i.severity} {i.kind} {i.subject}: {i.summary}" for i in open_)
                  + "\n  (uv run mesh ops incidents; acknowledge: uv run mesh ops ack N --as <owner>)",
                  highlight=False, markup=False)


#: Who writes the demo's compliance report: the example's council, which holds read_audit.
DEMO_AUDITOR = "council@acme.example"


def write_compliance_report(mesh: Mesh) -> None:
    """The signed compliance report (HTML) of the quarter the demo ran in, and where it went."""
    import datetime as dt

    from governance.reports import (
        Period,
        build_compliance_report,
        render_html,
        report_path,
        sign_report,
    )
    from meshctl.cli._output import act_as, user_errors

    period = Period.containing(dt.datetime.now(dt.UTC))
    with user_errors():
        report = build_compliance_report(mesh, period, act_as(mesh, DEMO_AUDITOR, "report_compliance"))
        target = report_path(mesh, period, "html")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, render_html(sign_report(mesh, report)).encode())
    s = report.summary()
    console.print(f"\nCompliance report {period.label} (signed, as {DEMO_AUDITOR}): {target}\n"
                  f"  {s['sod_findings']} segregation-of-duties finding(s), {s['gate_failures']} gate failure(s), "
                  f"{s['policy_changes']} change(s) of mesh.toml; audit chain "
                  f"{'verified' if s['audit_verified'] else 'FAILED'}. Check it: uv run mesh report verify {target}",
                  highlight=False)
