"""Pin the audit log's public key in ``mesh.toml`` (``[audit].key_fingerprint``).

The fingerprint lives outside the log's folder, so a forger who replaces the key and the signed
heads next to the log is refused by ``mesh audit verify``. The first pin is written by whoever
sets the mesh up (``mesh audit pin``); replacing a pin (after the council rotated the audit key)
needs ``rotate_keys`` and is audited.
"""

from __future__ import annotations

from assets.ports import AuditEvent
from governance.audit.log import AuditError, AuditLog, key_fingerprint
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.policy import MeshPolicy
from governance.policy.editing import edit_mesh_toml


def pin_audit_key(policy: MeshPolicy, log: AuditLog, *, replace_as: Actor | None = None) -> str | None:
    """Write the fingerprint of ``log``'s signing key as ``[audit].key_fingerprint``. Returns the
    fingerprint, or ``None`` when it was already pinned. A different pin is replaced only
    ``replace_as`` an actor holding ``rotate_keys``."""
    fingerprint = key_fingerprint(log.signer.public_key())
    current = policy.audit.key_fingerprint
    if current == fingerprint:
        return None
    if current is not None:
        if replace_as is None:
            raise AuditError(f"mesh.toml already pins another audit key ({current}); this mesh's key is {fingerprint}",
                             where=f"{policy.path} [audit].key_fingerprint",
                             fix="if the council rotated the audit key on purpose, run `mesh audit pin --replace "
                                 "--as <council member>`; otherwise restore the key from the last backup")
        require(policy, log, replace_as, "rotate_keys", action="audit_pin", target="audit")
    with edit_mesh_toml(policy.path) as doc:
        doc.setdefault("audit", {})["key_fingerprint"] = fingerprint
    details = {"fingerprint": fingerprint, "replaced": current}
    if replace_as is not None:
        details |= identity_details(replace_as)
    log.append(AuditEvent(actor=replace_as.id if replace_as else "operator", action="audit_pin", target="audit",
                          outcome="pinned", source="cli", details=details))
    return fingerprint
