"""``mesh policy ...``: the council's approval of who is who and who may do what."""

from __future__ import annotations

from typing import Any

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

policy_app = typer.Typer(help="The council's approval of people, roles, owners, identity settings and [state].",
                         no_args_is_help=True)


@policy_app.command("status")
def status(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Whether the roles, people, owners, identity settings and [state] of mesh.toml are the ones
    the council approved, what is pending, and who has signed it."""
    from governance.council import trust_standing
    from governance.policy import load_policy

    with user_errors():
        mesh = open_policy_mesh(root, seal=False, approving=True)
        standing = trust_standing(load_policy(mesh.policy.path), lambda _: governed(mesh).audit)
    chain = standing.chain
    governing = chain.head or standing.written
    pending = standing.pending
    info: dict[str, Any] = {
        "status": standing.status, "digest": standing.digest, "approved": chain.head_digest,
        "approvals": len(chain.approved), "quorum": governing.council.quorum,
        "changes": standing.changes(), "signed_by": sorted(chain.pending_signers) if pending else [],
        "state_note": standing.state_note()}
    if as_json:
        emit_json(info)
        return
    if standing.status == "unapproved":
        console.print("trust: not approved by the council: mesh.toml's people, roles, owners and [state] are in effect as "
                      "written, so whoever can edit the file decides who may do what.\n"
                      f"Fix: a holder of approve_policy runs `mesh policy approve --as EMAIL` "
                      f"(quorum {info['quorum']})", highlight=False)
    elif standing.status == "approved":
        console.print(f"trust: approved ({chain.head_digest}, approval {len(chain.approved)})", highlight=False)
    else:
        console.print(f"trust: changes pending: not in effect; the mesh acts on approval {len(chain.approved)} "
                      f"({chain.head_digest})", highlight=False)
        for line in info["changes"]:
            console.print(f"  {plain(line)}", highlight=False)
        if info["state_note"]:
            console.print(f"meanwhile: {plain(info['state_note'])}", highlight=False)
    if standing.status != "approved":
        signed = ", ".join(info["signed_by"]) or "nobody yet"
        console.print(f"signed by: {plain(signed)} of a quorum of {info['quorum']}; "
                      "sign with `mesh policy approve --as EMAIL`", highlight=False)


@policy_app.command("approve")
def approve(root: RootOption = None, user: ActorOption = None) -> None:
    """Sign the roles, people, owners, identity settings and [state] of mesh.toml as a holder of
    approve_policy; they take effect when the council's quorum has signed."""
    from governance.council import approve_trust
    from governance.identity import local_identity

    with user_errors():
        mesh = open_policy_mesh(root, approving=True)
        actor = act_as(mesh, user, "trust_approve")
        signer = local_identity(mesh.policy)
        result = approve_trust(mesh.policy, governed(mesh).audit, actor=actor, signer=signer)
    state = "approved: in effect now" if result.approved else \
        f"signed: {len(result.signers)} of {result.quorum} signatures; not in effect yet"
    console.print(f"trust {result.digest}: {state}", highlight=False)
    for line in result.changes:
        console.print(f"  {plain(line)}", highlight=False)


@policy_app.command("recover")
def recover(root: RootOption = None, user: ActorOption = None) -> None:
    """Write mesh.approvals.jsonl back from the audit log, which holds every approval whole
    (after the file was lost or replaced). Needs approve_policy in the last approved trust."""
    from governance.council import recover_approvals
    from governance.wiring import load_mesh

    with user_errors():
        mesh = load_mesh(root, domains=(), council=False)
        count = recover_approvals(mesh.policy, governed(mesh).audit, claimed=user)
        governed(mesh).audit.seal()
    console.print(f"mesh.approvals.jsonl rewritten from the audit log: {count} approval(s)", highlight=False)
