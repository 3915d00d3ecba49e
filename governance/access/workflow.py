"""The grant approval workflow: request a grant, approve it, each step audited.

Both steps edit ``mesh.toml`` in place (comments and layout kept, via tomlkit) under an
exclusive lock, so the council's file stays the one source of truth. A mesh whose ``[state]
url`` names a database keeps the requests there instead, until the approval that completes one
writes it to ``mesh.toml`` (:mod:`governance.access.requests`): requesters and approvers on
other hosts see them. Both take an
authenticated :class:`~governance.identity.Actor` (``identity_provider(policy).authenticate``),
never a bare name. A request is a ``[[grants]]`` entry with ``requested_by`` and no approvals;
an approval adds the approver to ``approved_by`` and their signature over the grant's content,
the mesh's name, the grant's id and its random ``nonce`` to ``signatures``. A revoked grant is
recorded in the state database (:mod:`governance.access.revocations`) as it is removed from
``mesh.toml``: it is never active again, nor approved again. A requester cannot approve their own request, and only an owner of the
producing domain or a holder of ``approve_grant`` may approve. The audit records say who, and
how they proved it (``method``, ``evidence``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, NoReturn

import tomlkit

from assets.check_failure import cut
from assets.emails import normalize_email
from assets.errors import ConfigError, MeshError, did_you_mean
from governance.access.policy import missing_approvals
from governance.access.requests import GRANTED, WITHDRAWN, grant_requests_of
from governance.access.revocations import (
    record_revocation,
    requester_of,
    revocation_of,
    revocation_of_id,
    revoked_ids,
)
from governance.audit import AuditEvent, AuditLog
from governance.identity.actor import Actor
from governance.identity.approvals import Signer, sign_approval, verify_approval
from governance.identity.authorization import identity_details, require
from governance.policy import Grant, MeshPolicy, load_policy
from governance.policy.editing import edit_mesh_toml
from governance.policy.model import grant_id_of, new_grant_id, new_grant_nonce
from governance.policy.roles import approvers_with


#: The most of an unknown grant id or domain an error shows (a hostile one can be as long as the
#: command line).
_MAX_ID_SHOWN = 40


class GrantWorkflowError(MeshError):
    """A grant request or approval was refused."""


def _how(actor: Actor) -> dict[str, Any]:
    return {"method": actor.method, "evidence": actor.evidence}


def request_grant(policy: MeshPolicy, audit: AuditLog, *, product: str, consumer: str, purpose: str,
                  requester: Actor, expires: dt.date, visibility: str) -> str:
    """Append a pending grant requested by ``requester``, with a new random ``id``; returns the id.
    Only a ``restricted`` product (its ``visibility``) is opened by grants: a request for a
    private one (no grant opens it) or a public one (every domain reads it) is refused."""
    if visibility != "restricted":
        what = "private to its domain: no grant opens it" if visibility == "private" else \
            "public: every domain reads it without a grant"
        raise GrantWorkflowError(f"'{product}' is {what}", where="mesh access request",
                                 fix="its owners make it visibility=\"restricted\" to share it by grants"
                                     if visibility == "private" else "read it: no request is needed")
    if consumer not in policy.domains:
        near = did_you_mean(consumer, policy.domains) if len(consumer) <= _MAX_ID_SHOWN else ""
        raise GrantWorkflowError(f"consumer domain '{cut(consumer, _MAX_ID_SHOWN)}' is not declared",
                                 where="mesh access request", fix="name a domain of mesh.toml. " + near)
    if requester.id not in policy.domains[consumer].owners:
        _refuse(audit, requester, "grant_request", product, f"'{requester.id}' is not an owner of '{consumer}'")
    if expires <= dt.date.today():
        raise GrantWorkflowError(f"expiry {expires} is not in the future", where="mesh access request",
                                 fix="pass --expires with a future date")
    try:  # validated before anything is written: mesh.toml must stay loadable
        Grant(product=product, consumer=consumer, purpose=purpose, requested_by=requester.id, expires=expires)
    except ConfigError as exc:
        flag = " --purpose" if exc.where.endswith(".purpose") else ""
        raise GrantWorkflowError(exc.what, where="mesh access request" + flag, fix=exc.fix) from None
    requests = grant_requests_of(policy)
    nonce = new_grant_nonce()
    revoked = revoked_ids(policy)  # a revoked id is never a grant again
    if requests is not None:
        grant_id = new_grant_id({g.id for g in policy.grants} | requests.ids() | revoked)
        requests.add(Grant(id=grant_id, nonce=nonce, product=product, consumer=consumer, purpose=purpose,
                           requested_by=requester.id, expires=expires))
    else:
        with edit_mesh_toml(policy.path) as doc:
            grants = doc.setdefault("grants", tomlkit.aot())
            grant_id = new_grant_id({grant_id_of(g.unwrap()) for g in grants} | revoked)
            entry = tomlkit.table()
            entry.update({"id": grant_id, "nonce": nonce, "product": product, "consumer": consumer,
                          "purpose": purpose, "requested_by": requester.id, "approved_by": [], "signatures": tomlkit.inline_table(),
                          "expires": expires})
            grants.append(entry)
    audit.append(AuditEvent(actor=requester.id, action="grant_request", target=product, outcome="pending",
                            source="cli", details={"consumer": consumer, "purpose": purpose, "grant": grant_id,
                                                   **_how(requester)}))
    return grant_id


def find_grant(policy: MeshPolicy, grant_id: str, command: str) -> Grant:
    """The grant with ``grant_id`` (in ``mesh.toml``, or a pending request in the state
    database), or an error naming the ids there are."""
    for grant in policy.grants:
        if grant.id == grant_id:
            return grant
    requests = grant_requests_of(policy)
    pending = requests.pending() if requests is not None else []
    for grant in pending:
        if grant.id == grant_id:
            return grant
    revoked = revocation_of_id(policy, grant_id)
    if revoked is not None:
        raise GrantWorkflowError(f"{revoked}: it is no grant any more, and never one again", where=f"mesh access {command}",
                                 fix=f"to share {revoked.product} with {revoked.consumer or 'its consumer'} again, request "
                                     f"a new grant: mesh access request {revoked.product} --consumer "
                                     f"{revoked.consumer or 'DOMAIN'} --purpose '...' --as EMAIL")
    ids = [g.id for g in (*policy.grants, *pending)]
    near = did_you_mean(grant_id, ids) if len(grant_id) <= _MAX_ID_SHOWN else ""  # ids are 32 characters at most
    raise GrantWorkflowError(f"there is no grant '{cut(grant_id, _MAX_ID_SHOWN)}'", where=f"mesh access {command}",
                             fix="name a grant by its id, as `mesh access list` shows it. " + near)


def _entry(doc: tomlkit.TOMLDocument, grant: Grant, command: str) -> Any:
    """The ``[[grants]]`` table of ``grant`` in the document being edited, found by its id (the
    file may have changed since ``grant`` was read); an unchanged grant without an ``id`` gets it
    written, so it keeps that id when its content is edited."""
    for entry in doc.get("grants", []):
        if grant_id_of(entry.unwrap()) == grant.id:
            if "id" not in entry:
                entry["id"] = grant.id
            return entry
    raise GrantWorkflowError(f"grant '{grant.id}' was removed or changed since mesh.toml was read",
                             where=f"mesh access {command}", fix=f"run `mesh access list` and {command} again")


def approve_grant(policy: MeshPolicy, audit: AuditLog, *, grant_id: str, approver: Actor,
                  signer: Signer) -> list[str]:
    """Add ``approver``'s signed approval to grant ``grant_id``; returns what it still lacks.

    ``signer`` signs with the approver's held key (a ``LocalIdentity``); the signature must
    verify with the approver's key registered in ``[people]``, whichever provider authenticated
    them.
    """
    grant = find_grant(policy, grant_id, "approve")
    who = approver.id
    if not approver.is_person:
        _refuse(audit, approver, "grant_approve", grant.product, f"'{who}' is a service; only people approve grants",
                grant=grant.id)
    # before the checks of the entry itself: a revoked grant pasted back is refused as what it is
    revoked = revocation_of(policy, grant)
    if revoked is not None:
        _refuse(audit, approver, "grant_approve", grant.product, f"{revoked}: a revoked grant is never approved again",
                grant=grant.id, fix=f"remove its entry from mesh.toml and request a new grant (mesh access request "
                                    f"{grant.product} --consumer {grant.consumer} ...)")
    owners = set(policy.domains[grant.producer].owners)
    holders = approvers_with(policy, "approve_grant")
    ask = _who_approves(grant, owners, holders)
    if who == grant.requested_by:
        _refuse(audit, approver, "grant_approve", grant.product, "a requester cannot approve their own request",
                grant=grant.id, fix=ask)
    asked = requester_of(policy, grant)
    if asked is not None and asked != grant.requested_by:
        _refuse(audit, approver, "grant_approve", grant.product,
                f"grant {grant.id} was requested by {asked}, as the audit log records, but mesh.toml says "
                f"requested_by = '{grant.requested_by}': the entry was edited after the request", grant=grant.id,
                fix=f'restore requested_by = "{asked}" in mesh.toml ({asked} never approves it), then approve again')
    if who not in owners | holders:
        _refuse(audit, approver, "grant_approve", grant.product,
                f"'{who}' is neither an owner of '{grant.producer}' nor a holder of approve_grant", grant=grant.id,
                fix=ask)
    person = policy.people.get(who)
    if person is None:
        _refuse(audit, approver, "grant_approve", grant.product, f"'{who}' has no public key in mesh.toml [people]",
                grant=grant.id, fix=f"run `mesh identity create {who}` and ask the council to register the printed public key")
    if not grant.nonce:  # written before nonces, or by hand: its old approvals count for nothing anyway
        grant = dataclasses.replace(grant, nonce=new_grant_nonce())
    signature = sign_approval(signer, who, policy.settings.name, grant)
    if not verify_approval(person.public_key, policy.settings.name, grant, signature):
        _refuse(audit, approver, "grant_approve", grant.product,
                f"the key that signed for '{who}' is not the one registered in mesh.toml [people]", grant=grant.id,
                fix=f'sign with the key registered in [people."{who}"] (MESH_IDENTITY)')
    requests = grant_requests_of(policy)
    if requests is not None and grant.id not in {g.id for g in policy.grants}:
        with requests.changing(grant.id) as change:
            if change is None:
                raise GrantWorkflowError(f"grant request '{grant.id}' was granted or withdrawn meanwhile",
                                         where="mesh access approve", fix="run `mesh access list` and approve again")
            if change.grant.nonce != grant.nonce and change.grant.nonce:
                raise GrantWorkflowError(f"grant request '{grant.id}' changed meanwhile (its nonce)",
                                         where="mesh access approve", fix="run `mesh access list` and approve again")
            requested = change.approve(who, signature, nonce=grant.nonce)
            missing = missing_approvals(policy, requested)
            if not missing:  # complete: into mesh.toml, the council's file, in the same transaction
                _write_grant(policy, requested)
                change.close(GRANTED)
    else:
        missing = _approve_in_file(policy, grant, who, signature)
    audit.append(AuditEvent(actor=who, action="grant_approve", target=grant.product,
                            outcome="active" if not missing else "pending", source="cli",
                            details={"consumer": grant.consumer, "grant": grant.id, "missing": missing,
                                     **_how(approver)}))
    return missing


def _who_approves(grant: Grant, owners: set[str], holders: set[str]) -> str:
    """The fix of a refused approval: who may approve ``grant`` (never its requester)."""
    def named(people: set[str]) -> str:
        others = sorted(people - {grant.requested_by} if grant.requested_by else people)
        return ", ".join(others) or "nobody yet (ask the council to add one in mesh.toml)"
    return (f"grant {grant.id} needs an owner of '{grant.producer}' ({named(owners)}) and a holder of "
            f"approve_grant ({named(holders)}), neither of them the requester, to run "
            f"`mesh access approve {grant.id} --as EMAIL`")


def _write_grant(policy: MeshPolicy, grant: Grant) -> None:
    """Append ``grant``, with its approvals and signatures, to ``mesh.toml``."""
    with edit_mesh_toml(policy.path) as doc:
        entry = tomlkit.table()
        signatures = tomlkit.inline_table()
        signatures.update(dict(grant.signatures))
        entry.update({"id": grant.id, "nonce": grant.nonce, "product": grant.product, "consumer": grant.consumer,
                      "purpose": grant.purpose, "requested_by": grant.requested_by, "approved_by": list(grant.approved_by),
                      "signatures": signatures, "expires": grant.expires})
        doc.setdefault("grants", tomlkit.aot()).append(entry)


def _approve_in_file(policy: MeshPolicy, grant: Grant, who: str, signature: str) -> list[str]:
    """Add the signed approval to the ``[[grants]]`` entry of ``mesh.toml``; what it still lacks."""
    with edit_mesh_toml(policy.path) as doc:
        entry = _entry(doc, grant, "approve")
        if "nonce" not in entry:
            entry["nonce"] = grant.nonce
        elif entry["nonce"] != grant.nonce:
            raise GrantWorkflowError(f"grant '{grant.id}' changed since mesh.toml was read (its nonce)",
                                     where="mesh access approve", fix="run `mesh access list` and approve again")
        approvals = entry.setdefault("approved_by", tomlkit.array())
        if who not in {normalize_email(str(a)) for a in approvals}:
            approvals.append(who)
        signatures = entry.get("signatures")
        if signatures is None:
            signatures = tomlkit.inline_table()
            entry["signatures"] = signatures
        for key in [k for k in signatures if normalize_email(str(k)) == who]:
            del signatures[key]
        signatures[who] = signature
    updated = dataclasses.replace(policy, grants=load_policy(policy.path).grants)  # the trust acted on stays
    return missing_approvals(updated, find_grant(updated, grant.id, "approve"))


def _refuse(audit: AuditLog, actor: Actor, action: str, target: str, reason: str, *,
            fix: str = "ask someone who holds the right to do it", grant: str | None = None) -> NoReturn:
    details = {"reason": reason, **({"grant": grant} if grant else {}), **_how(actor)}
    audit.append(AuditEvent(actor=actor.id, action=action, target=target, outcome="denied", source="cli",
                            details=details))
    raise GrantWorkflowError(f"refused: {reason}", where=f"{action} on {target}", fix=fix)


def revoke_grant(policy: MeshPolicy, audit: AuditLog, *, grant_id: str, actor: Actor) -> str:
    """Revoke grant ``grant_id``: recorded in the state database (its id and nonce, when, by
    whom), so it never counts again, then removed from ``mesh.toml`` (or its pending request
    withdrawn) and audited; the consumer loses access at its next read. ``actor`` needs
    ``approve_grant`` or to own the producing domain. Returns the product."""
    grant = find_grant(policy, grant_id, "revoke")
    require(policy, audit, actor, "approve_grant", action="grant_revoke", target=grant.product,
            owners_of=grant.producer)
    revocation = record_revocation(policy, grant, by=actor.id)  # first: a failure below leaves it revoked
    requests = grant_requests_of(policy)
    if requests is not None and grant.id not in {g.id for g in policy.grants}:
        with requests.changing(grant.id) as change:
            if change is not None:
                change.close(WITHDRAWN)
    else:
        _remove_from_file(policy, grant)
    audit.append(AuditEvent(actor=actor.id, action="grant_revoke", target=grant.product, outcome="revoked",
                            source="cli", details={"consumer": grant.consumer, "grant": grant.id, "nonce": grant.nonce,
                                                   "revoked_at": revocation.revoked_at, **identity_details(actor)}))
    return grant.product


def _remove_from_file(policy: MeshPolicy, grant: Grant) -> None:
    with edit_mesh_toml(policy.path) as doc:
        entry = _entry(doc, grant, "revoke")
        if (entry["product"], entry["consumer"]) != (grant.product, grant.consumer):
            raise GrantWorkflowError(f"grant '{grant.id}' changed since mesh.toml was read",
                                     where="mesh access revoke", fix="run `mesh access list` and revoke again")
        doc["grants"].remove(entry)
