"""``mesh audit ...``: verify and query the tamper-evident audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from assets.named_files import write_named_file
from assets.stored_json import load_json
from meshctl.cli._help import OneLineSummaries
from meshctl.cli._output import (
    ActorOption,
    JsonOption,
    MAX_LIMIT,
    RootOption,
    act_as,
    console,
    emit_json,
    fail,
    governed,
    open_mesh,
    open_policy_mesh,
    parse_date,
    plain,
    require_asset,
    user_errors,
)

if TYPE_CHECKING:
    from assets.contract_diff import Comparison
    from governance.audit import AuditLog

audit_app = typer.Typer(cls=OneLineSummaries, help="The tamper-evident audit log: verify, query, checkpoint.", no_args_is_help=True)
access_app = typer.Typer(cls=OneLineSummaries, help="Grants between domains: list, request, approve (signed), revoke.", no_args_is_help=True)



def _log(root: Path | None) -> AuditLog:
    with user_errors():
        return governed(open_policy_mesh(root)).audit


@audit_app.command("verify")
def verify(root: RootOption = None, as_json: JsonOption = False,
           full: Annotated[bool, typer.Option("--full", help="Also recompute every record's hash, chain and "
                                                             "Merkle root (slower; names the first bad record).")]
           = False) -> None:
    """Check every signed tree head against the key mesh.toml pins, and the log against every
    head it holds and every head a witness (the standby region, the last backup) saw: a deleted,
    cut or rewritten log is reported, naming what is missing; so is a signed scan mark of the
    revoked grants that leaves out what the log records."""
    from governance.access.revocations import mark_omissions
    from governance.audit import witness_protection
    from governance.council import log_disagreement

    with user_errors():  # verification signs nothing: a new head would endorse the log it checked
        mesh = open_policy_mesh(root, seal=False, council=False)
        audit = governed(mesh).audit
        report = audit.verify(full=full)
        protection = witness_protection(mesh)
        council = log_disagreement(mesh.policy, audit) if full and report.ok else None
        omitted = mark_omissions(mesh.policy) if report.ok else []
    if as_json:
        emit_json({"ok": report.ok and not report.warnings and not omitted, "records": report.records,
                   "checkpoints": report.checkpoints, "witnessed": report.witnessed, "problem": report.problem,
                   "warnings": list(report.warnings), "method": report.method,
                   "acknowledged": list(report.acknowledged), "witness_protection": protection,
                   "council_approvals": council or ("match the log" if full and report.ok else None),
                   "scan_mark": omitted})
    elif report.ok:
        anchor = "pinned key" if not any("pinned" in w for w in report.warnings) else "unpinned key"
        how = "by the block roots of every signed head" if report.method == "bytes" else "record by record"
        console.print(f"[green]ok[/]: {report.records} records checked {how}, {report.checkpoints} signed head(s) "
                      f"valid with the {anchor}, consistent with the newest head a witness saw "
                      f"({report.witnessed} records)")
    for name, how in protection.items() if not as_json else ():
        console.print(f"witness in {plain(name)}: {plain(how)}", highlight=False)
    for note in report.acknowledged if not as_json else ():
        console.print(f"acknowledged loss: {plain(note)}", highlight=False)
    if report.fix:  # a file of the log that could not be read: the problem names it
        fail(f"{report.problem}. Fix: {report.fix}")
    if not report.ok:
        fail(f"audit log {plain(audit.records_where)}: {report.problem or ''}. Fix: restore the audit folder from the last backup "
             "(mesh dr restore) and investigate who changed it")
    if full and report.ok and not as_json:
        console.print(f"council approvals: {plain(council) if council else 'mesh.approvals.jsonl matches the log'}",
                      highlight=False)
    if council:
        fail(f"council approvals: {council}")
    if omitted:
        fail("revoked grants' scan mark: " + "; ".join(omitted))
    if report.warnings:
        fail("audit log not anchored: " + "; ".join(report.warnings))


@audit_app.command("acknowledge-loss")
def acknowledge_loss(
    reason: Annotated[str, typer.Option("--reason", help="Why the records are gone (the restore, its ticket).")],
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """After a deliberate `mesh dr restore`, acknowledge (as a holder of operate_dr, signed with
    your key) the records the witnesses saw that the restored log no longer holds; `mesh audit
    verify` then names the loss instead of failing on it."""
    from governance.dr import acknowledge_audit_loss
    from governance.identity import local_identity

    with user_errors():
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "audit_acknowledge_loss")
        signer = local_identity(mesh.policy)
        ack = acknowledge_audit_loss(mesh, governed(mesh).audit, actor=actor, reason=reason,
                                     sign=lambda payload: signer.sign(actor.id, payload))
    most = max(head["size"] for head in ack.heads)
    console.print(f"acknowledged by {plain(ack.by)}: {len(ack.heads)} witnessed head(s), up to record {most - 1}, "
                  "are no longer in the log; the acknowledgment is in every region's witness and in the log",
                  highlight=False)


@audit_app.command("pin")
def pin(root: RootOption = None,
        replace: Annotated[bool, typer.Option("--replace", help="Replace another pinned key (needs rotate_keys).")] = False,
        user: ActorOption = None) -> None:
    """Pin the audit key's fingerprint in mesh.toml ([audit].key_fingerprint), so verification
    trusts no key stored next to the log."""
    from governance.audit.pinning import pin_audit_key

    with user_errors():
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "audit_pin") if replace else None
        pinned = pin_audit_key(mesh.policy, governed(mesh).audit, replace_as=actor)
    console.print(f"pinned: [audit].key_fingerprint = {pinned}" if pinned else "already pinned")


@audit_app.command("prove")
def prove(
    seq: Annotated[int, typer.Argument(help="The record's number (seq, from mesh audit query --json).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the proof as JSON to this file.")] = None,
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Prove a record is in the log: its RFC 9162 inclusion proof under a tree head signed now,
    and a consistency proof from the first head that covered it. Needs read_audit; check the
    file anywhere with `mesh audit verify-proof FILE --key audit.ed25519.pub`."""
    import json

    from governance.audit.access import prove_record

    with user_errors():
        mesh = open_policy_mesh(root)
        proof = prove_record(mesh.policy, governed(mesh).audit, act_as(mesh, user, "audit_prove"), seq)
    text = json.dumps(proof, indent=2, sort_keys=True)
    if out is not None:
        with user_errors():
            write_named_file(out, (text + "\n").encode())
        console.print(f"proof of record {seq} in the signed log of {proof['tree_head']['size']} written to "
                      f"{plain(str(out))}")
    else:
        console.print_json(text)


@audit_app.command("verify-proof")
def verify_proof(
    file: Annotated[Path, typer.Argument(help="A proof written by mesh audit prove --out.")],
    key: Annotated[Path, typer.Option("--key", help="The audit public key (PEM), e.g. .mesh/audit/audit.ed25519.pub.")],
    fingerprint: Annotated[str | None, typer.Option(help="The pinned fingerprint the key must have (sha256:...).")] = None,
) -> None:
    """Check a proof offline, with only the audit public key: no mesh needed."""
    from assets.named_files import read_named_file
    from governance.audit.log import key_fingerprint
    from governance.audit.proofs import MAX_PROOF_BYTES, check_proof
    from governance.keys.local import MAX_KEY_FILE_BYTES, ed25519_public_key

    try:  # bounded, and never waiting on a FIFO: files a person names
        proof = load_json(read_named_file(file, MAX_PROOF_BYTES))
        pem = read_named_file(key, MAX_KEY_FILE_BYTES)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {str(file)} or {str(key)}: {str(exc)}. Fix: name the proof file "
             "mesh audit prove wrote and the audit public key (PEM; the mesh keeps it in "
             ".mesh/audit/audit.ed25519.pub)")
    try:
        public = ed25519_public_key(pem)
    except ValueError as exc:
        fail(f"{str(key)} is not an Ed25519 public key: {exc}. Fix: use .mesh/audit/audit.ed25519.pub")
    if fingerprint and key_fingerprint(public) != fingerprint:
        fail(f"the key {str(key)} has fingerprint {key_fingerprint(public)}, not the pinned {fingerprint}."
             " Fix: use the key whose fingerprint mesh.toml pins ([audit].key_fingerprint)")
    with user_errors():
        said = check_proof(proof, public)
    console.print(f"[green]ok[/]: {plain(said)} (key {key_fingerprint(public)})")


@audit_app.command("checkpoint")
def checkpoint(root: RootOption = None, user: ActorOption = None) -> None:
    """Sign the Merkle tree head of every record so far (also done every 1,000 records).
    Needs the read_audit permission."""
    from governance.audit.access import checkpoint_audit

    with user_errors():
        mesh = open_policy_mesh(root)
        cp = checkpoint_audit(mesh.policy, governed(mesh).audit, act_as(mesh, user, "audit_checkpoint"))
    console.print(f"checkpoint: {cp['size']} records, root {cp['root'][:16]}..., key {cp['key_id']}")


@audit_app.command("query")
def query(
    root: RootOption = None,
    actor: Annotated[str | None, typer.Option(help="Who: a user or service:engine / service:airflow.")] = None,
    asset: Annotated[str | None, typer.Option(help="An asset key or a domain.")] = None,
    action: Annotated[str | None, typer.Option(help="materialize, read, grant_request, ...")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time, UTC, e.g. 2026-11-01.")] = None,
    limit: Annotated[int, typer.Option(help="Most recent records to show.", min=0, max=MAX_LIMIT)] = 50,
    user: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer compliance questions: who did what to which asset, when, with what outcome.
    Needs the read_audit permission; the query is itself audited."""
    from governance.audit.access import query_audit

    try:
        start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.UTC) if since else None
    except ValueError:
        fail(f"--since {since!r} is not an ISO date. Fix: write it like 2026-11-01 or 2026-11-01T12:00")
    with user_errors():
        mesh = open_policy_mesh(root)
        reader = act_as(mesh, user, "audit_query")
        records = query_audit(mesh.policy, governed(mesh).audit, reader, who=actor, target=asset, action=action,
                              since=start)[-limit:]
    if as_json:
        emit_json([{**r.body(), "hash": r.hash} for r in records])
        return
    table = Table(title=f"{len(records)} audit record(s)")
    for col in ("seq", "at", "actor", "action", "target", "outcome", "where"):
        table.add_column(col)
    for r in records:
        table.add_row(*(plain(str(v)) for v in (r.seq, r.at[:19], r.actor, r.action, r.target, r.outcome, r.where)))
    console.print(table)


@access_app.command("list")
def access_list(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Every grant of mesh.toml, every pending request of the state database ([state] url), and
    every grant revoked: active, pending (with what it lacks), expired or revoked (by whom, when)."""
    from governance.access import missing_approvals
    from governance.access.requests import grant_requests_of
    from governance.access.revocations import revocation_of, revoked_grants_by_id

    with user_errors():
        policy = open_policy_mesh(root).policy
        requests = grant_requests_of(policy)
        grants = [*policy.grants, *(requests.pending() if requests is not None else ())]
        revoked = [revocation_of(policy, g) for g in grants]
        gone = [r for grant_id, r in revoked_grants_by_id(policy).items() if grant_id not in {g.id for g in grants}]
    today = dt.date.today()
    rows = [{"id": g.id, "product": g.product, "consumer": g.consumer, "purpose": g.purpose,
             "requested_by": g.requested_by, "approved_by": list(g.approved_by), "expires": str(g.expires),
             "status": "revoked" if r is not None else "expired" if g.is_expired(today)
             else ("pending" if missing_approvals(policy, g) else "active"),
             "lacks": [f"nothing: {r}"] if r is not None else missing_approvals(policy, g)}
            for g, r in zip(grants, revoked, strict=True)]
    rows += [{"id": r.grant_id, "product": r.product, "consumer": r.consumer, "purpose": "", "requested_by": "",
              "approved_by": [], "expires": "", "status": "revoked", "lacks": [f"nothing: {r}"]}
             for r in sorted(gone, key=lambda r: r.revoked_at)]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="grants")
    for col in ("id", "product", "consumer", "status", "approved by", "expires", "lacks"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(plain(str(v)) for v in (r["id"], r["product"], r["consumer"], r["status"],
                                                  ", ".join(r["approved_by"]), r["expires"], "; ".join(r["lacks"]) or "-")))
    console.print(table)


@access_app.command("request")
def access_request(
    product: Annotated[str, typer.Argument(help="The asset to read, e.g. customers.customers.")],
    consumer: Annotated[str, typer.Option(help="The domain that will read it.")],
    purpose: Annotated[str, typer.Option(help="Why it is needed (recorded in mesh.toml and the audit log).")],
    user: ActorOption = None,
    expires: Annotated[str, typer.Option(help="ISO date the grant ends.")] = "",
    root: RootOption = None,
) -> None:
    """Ask for read access to a restricted product: a pending grant in mesh.toml, or in the state
    database when mesh.toml's [state] url names one (then written to mesh.toml once approved)."""
    from governance.access.workflow import request_grant

    until = parse_date("--expires", expires) if expires else dt.date.today() + dt.timedelta(days=365)
    with user_errors():
        mesh = open_mesh(root)
        require_asset(mesh.graph, product)
        grant_id = request_grant(mesh.policy, governed(mesh).audit, product=product, consumer=consumer,
                                 purpose=purpose, requester=act_as(mesh, user, "grant_request"), expires=until,
                                 visibility=mesh.graph[product].spec.visibility)
    console.print(f"grant {grant_id} requested: {plain(consumer)} reads {plain(product)} until {until}; it needs "
                  f"approval by an owner of '{plain(product.split('.')[0])}' and the council: "
                  f"mesh access approve {grant_id} --as EMAIL", highlight=False)


@access_app.command("approve")
def access_approve(
    grant_id: Annotated[str, typer.Argument(metavar="ID", help="The grant's id (mesh access list).")],
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Approve a grant as an owner of the producing domain or an approve_grant holder: your key
    signs the grant's product, consumer, purpose and expiry. Self-approval is refused."""
    from governance.access.workflow import approve_grant, find_grant
    from governance.identity import local_identity
    from governance.identity.approvals import approval_status

    with user_errors():
        mesh = open_policy_mesh(root)
        approver = act_as(mesh, user, "grant_approve")
        signer = local_identity(mesh.policy)
        before = find_grant(mesh.policy, grant_id, "approve")
        again = approver.id in approval_status(mesh.policy, before)[0]  # a valid signature of theirs already
        missing = approve_grant(mesh.policy, governed(mesh).audit, grant_id=grant_id, approver=approver, signer=signer)
    note = f" ({approver.id} had approved it already: signed again)" if again else ""
    console.print((f"grant {plain(grant_id)} is active" if not missing
                   else f"grant {plain(grant_id)} still lacks {plain(' and '.join(missing))}") + plain(note),
                  highlight=False)


@access_app.command("revoke")
def access_revoke(
    grant_id: Annotated[str, typer.Argument(metavar="ID", help="The grant's id (mesh access list).")],
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Remove a grant: needs approve_grant, or to own the producing domain."""
    from governance.access.workflow import revoke_grant

    with user_errors():
        mesh = open_policy_mesh(root)
        product = revoke_grant(mesh.policy, governed(mesh).audit, grant_id=grant_id,
                               actor=act_as(mesh, user, "grant_revoke"))
    console.print(f"grant {plain(grant_id)} on {plain(product)} revoked", highlight=False)


contract_app = typer.Typer(cls=OneLineSummaries, help="Contracts: compare with the last published one; export and import ODCS documents.",
                           no_args_is_help=True)


@contract_app.command("diff")
def contract_diff(
    asset: Annotated[str, typer.Argument(help="Asset key, e.g. sales.orders.")],
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the changes of an asset's contract since its last published version, and the bump
    they need. A partitioned asset is compared with the current version of every partition
    (partitions that stored the same contract together; the output names them).

    Exits 1 when the changes need a version bump the code does not have yet (a major bump for a
    breaking change, a minor one otherwise): publishing would be refused. Exits 0 when the
    contract_version already matches the changes, or nothing changed. A breaking change lists
    who it affects: the asset's subscribers (mesh subscribe), told when the next run starts."""
    from assets.contract_diff import compare_current, describe, needed_version, partition_names
    from governance.subscriptions import subscribers

    with user_errors():
        mesh = open_mesh(root)
        require_asset(mesh.graph, asset)
        spec = mesh.graph[asset].spec
        groups = compare_current(asset, mesh.store(), partitioned=spec.partitions is not None,
                                 contract=describe(spec.contract), version=spec.contract_version)
    if not groups:
        fail(f"'{asset}' has no published version to compare with. Fix: materialize it first")
    needed = needed_version(groups)
    verdict = "ok" if needed is None else f"set contract_version='{needed}' (see `mesh contract diff {asset}`)"
    refused = [p for g in groups if g.comparison.problem is not None for p in g.partitions]
    newest = groups[-1].comparison
    with user_errors():
        breaking = any(c.breaking for g in groups for c in g.comparison.changes)
        affected = [s.consumer for s in subscribers(mesh, asset)] if breaking else []
    if as_json:
        emit_json({"asset": asset, "published": newest.published.contract_version, "current": spec.contract_version,
                   "partition": newest.published.partition, "published_version": newest.published.version,
                   "changes": _changes(newest), "verdict": verdict, "refused_partitions": refused,
                   "affected": affected,
                   "partitions": [{"partitions": list(g.partitions), "published": g.comparison.published.contract_version,
                                   "newest_version": g.comparison.published.version, "changes": _changes(g.comparison),
                                   "verdict": "ok" if g.comparison.problem is None else g.comparison.problem.fix}
                                  for g in groups] if spec.partitions is not None else []})
    else:
        for group in groups:
            found = group.comparison
            where = (f" (partitions {partition_names(group.partitions)}; newest version {found.published.version})"
                     if group.partitions else "")
            console.print(f"{asset}: published {found.published.contract_version}{where}, code {spec.contract_version}",
                          markup=False)
            for change in found.changes:
                console.print(f"- {change}", markup=False)
            console.print("no changes" if not found.changes else
                          f"version: {'ok' if found.problem is None else found.problem.fix}", markup=False)
        if len(groups) > 1 and refused:  # one contract_version that every partition's next run accepts
            console.print(f"refused at their next run: partitions {partition_names(refused)}; every partition: "
                          f"{verdict}", markup=False)
        if affected:
            console.print(f"affected subscribers: {', '.join(affected)}", markup=False)
    if verdict != "ok":
        raise typer.Exit(1)


def _changes(found: Comparison) -> list[dict[str, Any]]:
    """The changes of a comparison, as ``mesh contract diff --json`` lists them."""
    return [{"breaking": c.breaking, "change": c.text} for c in found.changes]


keys_app = typer.Typer(cls=OneLineSummaries, help="Key-encryption keys: status, rotate, rewrap backups, retire.", no_args_is_help=True)


@keys_app.command("status")
def keys_status(root: RootOption = None, as_json: JsonOption = False) -> None:
    """The active KEK and how many wrapped data keys each KEK protects, stored and in the backups
    under .mesh/backups (ids only, never keys)."""
    from governance.dr.kek_retirement import kek_usage
    from governance.protection.rotation import unlisted_regions

    with user_errors():
        mesh = open_policy_mesh(root)
        keyring = governed(mesh).keyring
        usage = kek_usage(mesh, keyring)
        unlisted = unlisted_regions(mesh)
        active = keyring.provider.active_kek_id()
    if as_json:
        emit_json({"active": active, "usage": dict(usage), "unlisted_regions": [r.region for r in unlisted]})
        return
    console.print(f"active KEK: {active}")
    for kek, count in sorted(usage.items()):
        console.print(f"- KEK {kek}: wraps {count} data key(s)")
    for region in unlisted:
        console.print(f"not counted: {region}", markup=False)


@keys_app.command("rotate")
def keys_rotate(root: RootOption = None, user: ActorOption = None) -> None:
    """Make a new KEK and rewrap every data key without rewriting data; re-run to finish an
    interrupted rotation. Needs the rotate_keys permission."""
    from governance.protection.rotation import UNLISTED_FIX, rotate_keys

    with user_errors():
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "key_rotate")
        report = rotate_keys(mesh, governed(mesh).keyring, governed(mesh).audit, actor=actor, on_wait=_waiting)
    console.print(f"active KEK {report.kek_id}: {report.rewrapped} data key(s) rewrapped, {report.already} already "
                  f"under it{' (resumed an interrupted rotation)' if report.resumed else ''}")
    if not report.complete:
        fail(f"rotation incomplete: {'; '.join(map(str, report.unlisted))}: its data keys were not rewrapped, so "
             f"the old KEK cannot be retired. Fix: {UNLISTED_FIX}")


@keys_app.command("rewrap-backups")
def keys_rewrap_backups(root: RootOption = None, user: ActorOption = None) -> None:
    """Rewrap the data keys of every backup under .mesh/backups with the active KEK (each backup
    verified first, then signed again), so an old KEK can be retired. Needs the rotate_keys permission."""
    from governance.dr import rewrap_backups

    with user_errors():
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "key_rewrap_backup")
        done = rewrap_backups(mesh, governed(mesh).keyring, governed(mesh).audit, actor=actor)
    for folder, count in done.items():
        console.print(f"backup {plain(folder.name)}: {count} data key(s) rewrapped")
    console.print(f"{len(done)} backup(s) rewrapped" if done else "every backup is under the active KEK")


@keys_app.command("retire")
def keys_retire(kek_id: Annotated[str, typer.Argument(help="The KEK id (mesh keys status).")],
                root: RootOption = None, user: ActorOption = None) -> None:
    """Delete an old KEK once nothing uses it. Needs the rotate_keys permission."""
    from governance.dr.kek_retirement import retire_kek

    with user_errors():
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "key_retire")
        retire_kek(mesh, governed(mesh).keyring, governed(mesh).audit, kek_id, actor=actor, on_wait=_waiting)
    console.print(f"KEK {plain(kek_id)} retired")


def _waiting() -> None:
    console.print("waiting for running materializations to store their data keys...")


retention_app = typer.Typer(cls=OneLineSummaries, help="Retention of old versions.", no_args_is_help=True)


@retention_app.command("apply")
def retention_apply(
    root: RootOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove versions past their domain's retention (never a current one); each removal is audited."""
    from governance.retention import apply_retention

    with user_errors():
        mesh = open_mesh(root)
        removals = apply_retention(mesh, governed(mesh).audit, dry_run=dry_run)
    if as_json:
        emit_json([{"region": r.region, "asset": r.key, "version": r.version, "produced_at": r.produced_at,
                    **({"partition": r.partition} if r.partition is not None else {})} for r in removals])
        return
    verb = "would remove" if dry_run else "removed"
    for r in removals:
        console.print(f"{verb} {r.region}:{r.label} (produced {r.produced_at})")
    console.print(f"{len(removals)} version(s) {'would be removed' if dry_run else 'removed'}")


domain_app = typer.Typer(cls=OneLineSummaries, help="Domains as tenants: create (onboard) and retire (offboard).", no_args_is_help=True)


def domains(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Every domain with its owners, pool, and quotas (assets and storage) in use."""
    from governance.tenancy import domain_report

    with user_errors():
        rows = domain_report(open_mesh(root))
    if as_json:
        emit_json(rows)
        return
    table = Table(title="domains")
    for col in ("domain", "owners", "pool", "assets", "storage", "residency", "status"):
        table.add_column(col)
    for r in rows:
        quota = f" / {r['max_storage_bytes']:,}" if r["max_storage_bytes"] else ""
        table.add_row(r["domain"], ", ".join(r["owners"]), str(r["pool_slots"]), f"{r['assets']} / {r['max_assets']}",
                      f"{r['storage_bytes']:,}{quota}", ", ".join(r["residency"]) or "-",
                      "retired" if r["retired"] else "active")
    console.print(table)


@domain_app.command("create")
def domain_create(
    name: Annotated[str, typer.Argument(help="The new domain's name, lower_snake_case.")],
    owner: Annotated[str, typer.Option(help="The owning team's e-mail.")],
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Scaffold domains/NAME with a working example asset and contract, its DAG file, and declare
    it. Needs the manage_domains permission."""
    from governance.tenancy import create_domain

    with user_errors():
        mesh = open_policy_mesh(root)
        actor = act_as(mesh, user, "domain_create")
        files = create_domain(mesh.root, name, owner, governed(mesh).audit, actor=actor)
    for path in files:
        console.print(f"wrote {path.relative_to(mesh.root)}")
    console.print(f"domain '{name}' declared in mesh.toml; try: uv run mesh materialize 'domain:{name}'")
    from governance.policy import load_policy
    from governance.wiring import standing_of

    with user_errors():
        pending = standing_of(load_policy(mesh.policy.path)).status == "pending"
    if pending:
        console.print(f"its owner takes effect once the council approves it (`mesh policy approve --as EMAIL`); "
                      f"until then the council owns '{name}'", highlight=False)
    from meshctl.local_airflow import LocalAirflow

    if LocalAirflow(mesh.root).running():
        console.print("Airflow is running: `uv run mesh up` loads the new domain's DAGs (it restarts Airflow's "
                      "components once no DAG run is active)")


@domain_app.command("retire")
def domain_retire(
    name: Annotated[str, typer.Argument(help="The domain to retire.")],
    root: RootOption = None,
    user: ActorOption = None,
) -> None:
    """Refused while other domains consume its products; else revoke grants, archive data, mark
    retired. Needs the manage_domains permission."""
    from governance.tenancy import retire_domain

    with user_errors():
        mesh = open_mesh(root)
        actor = act_as(mesh, user, "domain_retire")
        done = retire_domain(mesh, name, actor, governed(mesh).audit)
    console.print(f"domain '{name}' retired: {done['revoked_grants']} grant(s) revoked, data archived to "
                  f"{', '.join(done['archived']) or 'nothing stored'}")
