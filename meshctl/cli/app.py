"""``mesh``: list, check, materialize and read the assets of a mesh."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from assets.atomic import atomic_write
from assets.disk_full import DISK_FULL_ERRNOS
from assets.errors import MeshError
from meshctl.cli import (
    alert_commands,  # noqa: F401 - registers `mesh ops incidents|ack|alerts|check`
    heal_commands,  # noqa: F401  (registers mesh ops heal on ops_app)
    simulate_command,  # noqa: F401  (registers mesh ops simulate on ops_app)
)
from meshctl.cli import ops_commands as _ops_commands  # noqa: F401 - registers `mesh ops status|report|serve-metrics`
from meshctl.cli._help import OneLineSummaries
from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    MAX_LIMIT,
    MAX_SCALE,
    RootOption,
    act_as,
    console,
    emit_json,
    errors,
    fail,
    fail_with,
    governed,
    open_mesh,
    open_policy_mesh,
    plain,
    print_error,
    progress,
    require_asset,
    require_at_least,
    route_logs,
    seal_opened,
    size_output,
    user_errors,
)
from meshctl.cli.airflow_commands import down, up
from meshctl.cli.backfill_command import backfill
from meshctl.cli.contract_odcs_commands import ContractFormat  # noqa: F401  (registers export/import on contract_app)
from meshctl.cli.dr_commands import dr_app
from meshctl.cli.gc_command import gc
from meshctl.cli.governance_commands import (
    access_app,
    audit_app,
    contract_app,
    domain_app,
    domains,
    keys_app,
    retention_app,
)
from meshctl.cli.identity_commands import identity_app
from meshctl.cli.lineage_command import lineage
from meshctl.cli.observe_command import observe
from meshctl.cli.ops_app import ops_app
from meshctl.cli.policy_commands import policy_app
from meshctl.cli.report_commands import report_app, usage
from meshctl.cli.rollback_command import rollback
from meshctl.cli.run_table import print_run
from meshctl.cli.serve_command import print_dashboard_url, serve
from meshctl.cli.subscription_commands import subscribe, subscribers, unsubscribe

if TYPE_CHECKING:
    import polars as pl

    from assets.mesh import Mesh
    from assets.results import AssetResult


class _OneLineErrors(OneLineSummaries):
    """The ``mesh`` group: a :class:`MeshError` no command caught (a corrupt CURRENT pointer met
    while listing, say) is one line with the fix and exit 1, in every subcommand."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer vendors click)
        try:
            return super().invoke(ctx)
        except MeshError as exc:
            fail_with(exc)
        except OSError as exc:
            # the net under every command: those that can name a better fix raise their own MeshError
            if exc.errno in DISK_FULL_ERRNOS:
                fail(_no_room(exc))
            if not _in_mesh_folder(exc.filename):
                raise
            path = Path(os.fsdecode(exc.filename))
            fix = _MESH_FOLDER_FIXES.get(exc.errno or 0, _MESH_FOLDER_FIX)
            if exc.errno == errno.ENOTDIR:
                fix = f"{_file_in_the_way(path)} {fix}"
            fail(f"{path}: {exc.strerror or exc}: the mesh cannot use its own folder. Fix: {fix}")


#: What to do when a path under the mesh's ``.mesh`` folder cannot be used, by errno.
_MESH_FOLDER_FIX = "check the path (ls -ld) and that the user running mesh may read and write the .mesh folder"
_MESH_FOLDER_FIXES = {
    errno.ENOTDIR: "is a file where the mesh keeps a folder: move it aside (mv it to a .bak name), then run the "
                   "command again; the mesh makes the folder",
    errno.EISDIR: "a folder stands where the mesh keeps a file: move it aside (mv it to a .bak name), then run "
                  "the command again",
    errno.EACCES: "give the user running mesh read and write access to it (ls -ld; chown or chmod u+rwX)",
    errno.EPERM: "give the user running mesh read and write access to it (ls -ld; chown or chmod u+rwX)",
    errno.EROFS: "the .mesh folder is on a read-only file system: run the mesh where it can write",
}


def _file_in_the_way(path: Path) -> Path:
    """The nearest of ``path`` and its parents that is a file (what makes a folder under it fail)."""
    return next((p for p in (path, *path.parents) if p.is_file()), path)


def _in_mesh_folder(filename: object) -> bool:
    """Whether an OSError's file is the mesh's ``.mesh`` folder or under it (not a user's own file,
    whose error its command reports, nor a library's internal one, which is a defect to show)."""
    from assets.mesh import STATE_DIR

    return isinstance(filename, (str, bytes, os.PathLike)) and STATE_DIR in Path(os.fsdecode(filename)).parts


app = typer.Typer(name="mesh", help="A data mesh of assets on Airflow 3.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, cls=_OneLineErrors)


@app.callback()
def _every_command(ctx: typer.Context) -> None:
    """A data mesh of assets on Airflow 3."""
    size_output()
    route_logs()
    ctx.call_on_close(seal_opened)  # what a command appended ends under a signed, witnessed head


def main() -> None:
    """Entry point of the ``mesh`` console script. A :class:`MeshError` no command caught (a
    corrupt CURRENT pointer met while listing, say) is still one line with the fix, exit 1; so is
    output that cannot be written (``mesh list > file`` on a full disk)."""
    try:
        app()
    except MeshError as exc:
        print_error(str(exc))
        raise SystemExit(1) from None
    except OSError as exc:  # help or an argument's error written where there is no room (`mesh --help >/dev/full`)
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        with contextlib.suppress(OSError):  # what is still buffered goes nowhere, not to a second error at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        with contextlib.suppress(OSError):  # standard error may have no room either: the exit status still says it
            print_error(_no_room(exc))
        raise SystemExit(1) from None


def _no_room(exc: OSError) -> str:
    """The error line of a write that found no room: the file's, or the command's output's."""
    where = f"{exc.filename}: " if exc.filename else "writing the command's output or a file: "
    return (f"{where}{exc.strerror}: the disk is full (or the file is past the process's size limit), so the "
            "command stopped before it finished. Fix: free space on that disk (df), or send the output elsewhere, "
            "then run it again")


@app.command("list")
def list_assets(selection: Annotated[str, typer.Argument(help="Selection, e.g. 'sales.*' or '+finance.revenue'.")] = "*",
                root: RootOption = None, as_json: JsonOption = False) -> None:
    """List assets with their inputs, schedule, visibility, current version and whether it is stale
    (code, contract version or an input's version changed since it was made), with the reason."""
    mesh = open_mesh(root)
    with user_errors():
        keys = mesh.select(selection)
    from assets.staleness import summary

    store = mesh.store()
    rows: list[dict[str, Any]] = []
    for key in keys:
        spec = mesh.graph[key].spec
        current = store.current(key)
        published = store.partitions(key) if spec.partitions is not None else []
        state = summary(mesh, key)  # a partitioned asset: whether any of its partitions is stale
        stale, reasons = state.stale, list(state.reasons)
        rows.append({"key": key, "domain": spec.domain, "inputs": sorted(set(spec.inputs.values())),
                     "schedule": spec.schedule_text,
                     "partitions": spec.partitions.describe() if spec.partitions is not None else None,
                     "published_partitions": len(published) if spec.partitions is not None else None,
                     "visibility": spec.visibility, "owners": list(spec.owners), "tags": dict(spec.tags),
                     "contract": f"{spec.contract.__name__} {spec.contract_version}",
                     "version": current.version if current else None, "rows": current.rows if current else None,
                     "stale": stale, "stale_reasons": reasons})
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} asset(s) in mesh '{mesh.policy.settings.name}'")
    # keys and version ids are never cut: they are what the user types next; the other columns give way
    widest = {"asset": max((len(r["key"]) for r in rows), default=5),
              "current version": max((len(r["version"] or "") for r in rows), default=15)}
    for col in ("asset", "inputs", "schedule", "visibility", "contract", "current version", "rows", "stale"):
        table.add_column(col, min_width=widest.get(col), no_wrap=col in widest,
                         overflow="fold" if col == "inputs" else "ellipsis")  # input keys wrap, never cut
    for r in rows:
        table.add_row(r["key"], ", ".join(r["inputs"]) or "-", r["schedule"] or "-", r["visibility"],
                      r["contract"], r["version"] or (_partitions(r["published_partitions"]) if r["partitions"] else "-"),
                      f"{r['rows']:,}" if r["rows"] is not None else "-",
                      f"[yellow]stale[/]: {plain('; '.join(r['stale_reasons']))}" if r["stale"] else "-")
    console.print(table)


@app.command()
def check(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Validate mesh.toml, every domain's code and contracts, and the graph; report every problem."""
    from governance.check import check_mesh

    report = check_mesh(root)
    if as_json:
        emit_json(report.to_dict())
    else:
        for warning in report.warnings:
            console.print(f"[yellow]warning[/]: {plain(warning)}", highlight=False, soft_wrap=True)
        if report.ok:
            console.print(f"[green]ok[/]: {report.summary}")
        else:
            for problem in report.problems:
                console.print(f"[red]problem[/]: {plain(problem)}", highlight=False, soft_wrap=True)
            console.print(f"{len(report.problems)} problem(s)")
    _compile_quietly(root)
    if not report.ok:
        raise typer.Exit(1)


def _compile_quietly(root: Path | None) -> None:
    """After ``mesh check``: write the compiled mesh Airflow parses from; a failure to write it
    is one note, and does not change what the check found."""
    from governance.compiled import write_compiled_mesh
    from governance.policy.loader import find_mesh_file

    try:
        folder = find_mesh_file(root).parent
        write_compiled_mesh(folder)
    except (MeshError, OSError) as exc:
        errors.print(f"note: the compiled mesh was not written: {plain(str(exc))}", highlight=False, soft_wrap=True)



def _partitions(count: int) -> str:
    return f"{count} partition{'' if count == 1 else 's'}"

@app.command("compile")
def compile_command(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Write .mesh/compiled/mesh.json, which Airflow's DAG files are built from without importing
    any domain's code: every asset with its inputs (access decided), schedule, pool and team, and
    a fingerprint of mesh.toml and the domains' code. An error in a domain is recorded for that
    domain's DAG file to raise, and printed here (exit 1)."""
    from assets.compiled import COMPILED_PATH
    from governance.compiled import write_compiled_mesh
    from governance.policy.loader import find_mesh_file

    with user_errors():
        folder = find_mesh_file(root).parent
        compiled = write_compiled_mesh(folder)
    problems = {d.name: str(d.error.error()) for d in compiled.domains.values() if d.error is not None}
    if compiled.error is not None:
        problems["mesh.toml"] = str(compiled.error.error())
    path = folder / COMPILED_PATH
    if as_json:
        emit_json({"ok": not problems, "path": str(path), "domains": len(compiled.domains),
                   "assets": len(compiled.assets), "problems": problems})
    else:
        console.print(f"compiled {len(compiled.assets)} assets in {len(compiled.domains)} domains to {path}",
                      highlight=False, soft_wrap=True)
        for name, problem in problems.items():
            console.print(f"[red]problem[/] ({name}): {plain(problem)}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@app.command("materialize")
def materialize_command(
    selection: Annotated[str | None, typer.Argument(
        help="Selection, e.g. '*', 'sales.*', '+finance.revenue' (with --stale: '*' by default).")] = None,
    root: RootOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data of root assets.", min=0)] = 7,
    scale: Annotated[int, typer.Option(help="Rows of the largest root asset (sales.orders).", min=1, max=MAX_SCALE)] = 100_000,
    inject_bad_rows: Annotated[bool, typer.Option("--inject-bad-rows", help="Demo: make finance.fx_rates emit rows its contract rejects.")] = False,
    workers: Annotated[int | None, typer.Option(help="Assets run at once (default: up to 4).")] = None,
    stale: Annotated[bool, typer.Option("--stale", help="Run only the stale assets of the selection, and what "
                                        "they feed in it; implies --skip-unchanged.")] = False,
    skip_unchanged: Annotated[bool, typer.Option("--skip-unchanged", help="Publish nothing for an output identical "
                                                 "to the current version, and do not run what it feeds.")] = False,
    partition: Annotated[str | None, typer.Option(help="Partition key of the partitioned assets to run, e.g. 2026-11-20 "
                                                  "(default: today's); what it feeds in the selection runs too.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a selection in-process, gate every output with its contract, and publish what passes.
    Partitioned assets run one partition: ``--partition`` or today's (``mesh backfill`` runs a range);
    with ``--stale``, each of their stale partitions."""
    from assets.engine import materialize
    from assets.stale_runs import materialize_stale

    require_at_least("--workers", workers, 1)
    if selection is None and not stale:
        fail("give a selection, e.g. '*' or 'sales.orders' (only --stale defaults to '*')")
    if stale and partition is not None:
        fail("--stale runs each stale partition: leave out --partition, or leave out --stale")
    mesh = open_mesh(root)
    chosen = "*" if selection is None else selection
    with user_errors():
        keys = mesh.select(chosen)
    params = {"seed": seed, "scale": scale, "inject_bad_rows": inject_bad_rows}
    with progress(len(keys), "materializing", enabled=not as_json) as advance:
        with user_errors():
            def advanced(r: AssetResult) -> None:
                advance(f"{r.key}{'/' + r.partition if r.partition else ''}: {r.status}")
            if stale:
                result = materialize_stale(chosen, mesh=mesh, params=params, max_workers=workers,
                                           on_result=advanced)
            else:
                result = materialize(str(selection), mesh=mesh, params=params, max_workers=workers, on_result=advanced,
                                     skip_unchanged=True if skip_unchanged else None, partition=partition)
    if stale and not result.results:
        if as_json:
            emit_json({"run_id": None, "ok": True, "assets": []})
        else:
            console.print("nothing is stale: every selected asset is up to date")
        return
    if as_json:
        emit_json(result.to_dict())
    else:
        print_run(result)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def read(
    asset: Annotated[str, typer.Argument(help="Asset key, e.g. sales.orders.")],
    root: RootOption = None,
    version: Annotated[str | None, typer.Option(help="A version id (default: the current one).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this .csv or .parquet file instead of printing.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.", max=MAX_LIMIT)] = 10,
    partition: Annotated[str | None, typer.Option(help="A partitioned asset's partition to read.")] = None,
    first: Annotated[str | None, typer.Option("--from", help="A partitioned asset: read the partitions from this day or key.")] = None,
    last: Annotated[str | None, typer.Option("--to", help="... to this day or key, included (default: the last).")] = None,
    user: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the head of an asset's current (or given) version, or write it to a file.
    A partitioned asset reads one partition, a range, or (by default) all current partitions as one.
    Access is checked for the authenticated reader and audited."""
    import polars as pl

    from governance.access import read_asset

    require_at_least("--limit", limit, 0)
    if out is not None and not out.parent.is_dir():
        fail(f"--out {out}: the folder {out.parent} does not exist. Fix: create it, or name a file in an existing folder")
    mesh = open_mesh(root)
    require_asset(mesh.graph, asset)
    actor = act_as(mesh, user, "read")
    with user_errors():
        frame = read_asset(mesh, asset, actor=actor, version=version, partition=partition, first=first, last=last)
    if out is not None:
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            fail(f"--out {out}: unknown format '{suffix}'. Fix: name a .csv or .parquet file")
        data = _collect(mesh, asset, version, frame, partition)
        encoded = io.BytesIO()
        data.write_csv(encoded) if suffix == ".csv" else data.write_parquet(encoded)
        try:  # the old file or the whole new one, owner-only: it may hold what the reader may decrypt
            atomic_write(out, encoded.getvalue(), mode=0o600)
        except OSError as exc:
            fail(f"--out {out}: cannot write it ({exc}). Fix: name a file you may write, in an existing folder")
        console.print(f"wrote {data.height:,} rows of {asset} to {out}")
        return
    head = _collect(mesh, asset, version, frame.head(limit), partition)
    if as_json:
        emit_json(head.to_dicts())
        return
    with pl.Config(tbl_rows=limit, tbl_cols=-1, tbl_width_chars=200):
        console.print(str(head), highlight=False, markup=False)
    if head.height == limit:  # a shape of (10, 5) reads as the whole asset: say how much more there is
        rows = _collect(mesh, asset, version, frame.select(pl.len()), partition).item()
        if rows > limit:
            console.print(f"{limit:,} of {rows:,} rows shown: --limit N shows more, --out FILE writes them all",
                          highlight=False)


def _collect(mesh: Mesh, asset: str, version: str | None, frame: pl.LazyFrame,
             partition: str | None = None) -> pl.DataFrame:
    """``frame`` read from storage; a data file polars cannot read is one line naming it."""
    import polars as pl

    try:
        return frame.collect()
    except pl.exceptions.PolarsError as exc:
        store = mesh.store()
        if mesh.graph[asset].spec.partitions is not None:
            fail(f"the data of '{asset}' is unreadable ({type(exc).__name__}: {str(exc)[:200]}). Fix: materialize "
                 f"the partition again (mesh materialize {asset} --partition P) or restore it (mesh dr restore)")
        path = store.root.uri_of(store.data_path(asset, version or store.require_current(asset).version))
        fail(f"{path}: the data of '{asset}' is unreadable ({type(exc).__name__}: {str(exc)[:200]}). Fix: restore "
             f"the version from the other region or a backup (mesh dr restore), or materialize {asset} again")


@app.command()
def history(
    asset: Annotated[str, typer.Argument(help="Asset key, e.g. sales.orders.")],
    root: RootOption = None,
    limit: Annotated[int, typer.Option(help="Updates to show, newest first.", min=0, max=MAX_LIMIT)] = 20,
    partition: Annotated[str | None, typer.Option(help="A partitioned asset: only this partition's updates.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every recorded update of an asset, from the engine and from Airflow (of a partitioned
    asset: of every partition, or of ``--partition``'s)."""

    mesh = open_mesh(root)
    require_asset(mesh.graph, asset)
    partitions = mesh.graph[asset].spec.partitions
    if partition is not None:
        if partitions is None:
            fail(f"'{asset}' is not partitioned: leave out --partition")
        with user_errors():
            partitions.validate(partition)
    rows = governed(mesh).history.for_asset(asset, limit, partition=partition)
    if as_json:
        emit_json(rows)
        return
    shown = f"{asset}/{partition}" if partition is not None else asset
    table = Table(title=f"updates of {shown}")
    columns = ("version", *(("partition",) if partitions is not None else ()), "source", "run", "rows", "recorded at")
    for col in columns:
        table.add_column(col)
    for r in rows:
        table.add_row(r["version"], *((r["partition"] or "-",) if partitions is not None else ()), r["source"],
                      r["run_id"], f"{r['rows']:,}" if r["rows"] is not None else "-", r["recorded_at"])
    console.print(table if rows else f"no update of {shown} recorded yet")


@app.command()
def demo(
    root: RootOption = None,
    scale: Annotated[int, typer.Option(help="Rows of sales.orders.", min=1, max=MAX_SCALE)] = 100_000,
    in_process: Annotated[bool, typer.Option("--in-process", help="Run with the in-process engine, not Airflow.")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Leave Airflow running afterwards.")] = False,
) -> None:
    """The example mesh end to end on Airflow 3, then a bad feed stopped at its contract gate.

    Set-up first gives the example's people their keys (as `mesh identity create` would) and
    signs the example grants' approvals with them (as `mesh access approve` would)."""
    _set_up_example(root)
    if in_process:
        from meshctl.cli.demo import run_demo

        run_demo(open_mesh(root), scale=scale)
        print_dashboard_url()
        return
    up(root=root, port=0, run=True, inject_bad_rows=True, scale=scale, keep=keep, as_json=False)
    from assets.quarantine import QUARANTINE
    from meshctl.cli.demo import (
        print_ops_status,
        print_recovery_summary,
        write_compliance_report,
    )

    mesh = open_mesh(root)
    print_recovery_summary(mesh)
    write_compliance_report(mesh)
    region = mesh.store().root
    console.print(f"\nWhere to look: data and manifests under {region.uri_of(region.root)}/<domain>/<asset>/ "
                  f"(the active region '{mesh.active_region}'); "
                  "run history: uv run mesh history sales.orders; audit trail: uv run mesh audit query "
                  "--asset finance --as council@acme.example (and mesh audit verify); reads as a person: uv run mesh read "
                  "customers.customers --as privacy@acme.example; gate reports: "
                  f"{region.uri_of(region.path(QUARANTINE))}/; "
                  "lineage: .mesh/lineage/events.jsonl (Airflow's own: airflow-events.jsonl) and uv run mesh "
                  "lineage sales.orders --impact; replicas and RPO: uv run mesh dr status; a recovery drill: "
                  "uv run mesh dr drill; usage and chargeback: uv run mesh usage --as council@acme.example; the council's "
                  "approval of people, roles and owners: uv run mesh policy status; Airflow "
                  "logs: .mesh/airflow/logs/")
    print_ops_status(open_mesh(root))
    print_dashboard_url()


def _set_up_example(root: Path | None) -> None:
    """The example's people get keys and sign its approvals; the audit key is pinned in mesh.toml."""
    from governance.audit.pinning import pin_audit_key
    from governance.identity import identity_folder
    from governance.identity.example import enroll_people
    from governance.policy import find_mesh_file

    with user_errors():
        done = enroll_people(find_mesh_file(root).parent)
        mesh = open_policy_mesh(root)
        pinned = pin_audit_key(mesh.policy, governed(mesh).audit)
        approved = _approve_example_trust(open_policy_mesh(root))
    if pinned:
        console.print(escape(f"set-up: the audit log's signing key pinned in mesh.toml [audit] ({pinned})"),
                      highlight=False)
    if done.registered or done.signed:
        console.print(f"set-up: keys created for {len(done.registered)} people in {identity_folder()} (owner-only); "
                      f"their public keys and {len(done.signed)} signed approval(s) written to mesh.toml", highlight=False)
    for person, why in done.skipped.items():
        console.print(f"set-up: {plain(person)} skipped: {plain(why)}", highlight=False)
    if approved:
        console.print(f"set-up: people, roles and owners approved by {plain(approved)} (as `mesh policy approve` "
                      "would); a change of them now needs the council's signature", highlight=False)


def _approve_example_trust(mesh: Mesh) -> str | None:
    """The example's approve_policy holder whose key is held here gives the council's first
    approval of its trust; who signed, or ``None``. A change made after that approval is never
    signed by the demo: it stays pending for the council (``mesh policy approve``), and the
    set-up says so."""
    from governance.council import approve_trust
    from governance.identity import LocalIdentity, held_public_key, identity_provider
    from governance.policy import APPROVE_POLICY, load_policy
    from governance.policy.roles import approvers_with
    from governance.wiring import standing_of

    standing = standing_of(load_policy(mesh.policy.path))
    if standing.status == "pending":
        console.print(f"set-up: mesh.toml's people, roles or owners changed since the council approved them "
                      f"({plain('; '.join(standing.changes()))}); the demo does not approve a change: it runs on "
                      "the approved ones until the council runs `mesh policy approve --as EMAIL`", highlight=False)
    if standing.status != "unapproved":
        return None
    people = {e: p.public_key for e, p in mesh.policy.people.items()}
    for email in sorted(approvers_with(mesh.policy, APPROVE_POLICY)):
        if email in people and held_public_key(email) == people[email]:
            actor = identity_provider(mesh.policy).authenticate(email)
            approve_trust(mesh.policy, governed(mesh).audit, actor=actor, signer=LocalIdentity(people=people))
            return email
    return None


app.command()(up)
app.command()(lineage)
app.command()(down)
app.command()(gc)
app.command()(backfill)
app.command()(observe)
app.command()(rollback)
app.command()(serve)
app.add_typer(audit_app, name="audit")
app.add_typer(dr_app, name="dr")
app.add_typer(access_app, name="access")
app.add_typer(contract_app, name="contract")
app.add_typer(keys_app, name="keys")
app.add_typer(retention_app, name="retention")
app.add_typer(domain_app, name="domain")
app.add_typer(identity_app, name="identity")
app.add_typer(policy_app, name="policy")
app.add_typer(ops_app, name="ops")
app.add_typer(report_app, name="report")
app.command()(usage)
app.command()(domains)
app.command()(subscribe)
app.command()(unsubscribe)
app.command()(subscribers)
