"""Retiring a key-encryption key: only once no wrapped data key uses it, stored in the mesh or
in a backup (under ``.mesh/backups``, or written elsewhere with ``--to`` and recorded, which must
be found: :func:`governance.dr.backup.backups_elsewhere`; backups are rewrapped on request:
:mod:`governance.dr.backup_keys`), so no data can become unreadable. Deny by default: a folder
under ``.mesh/backups`` whose index is missing or damaged blocks retiring any KEK until it is
repaired or removed (:func:`governance.dr.backup.unreadable_backups`), and so does a declared
region whose storage cannot be listed (a volume not mounted:
:func:`governance.protection.rotation.unlisted_regions`). It lives with disaster
recovery, above :mod:`governance.protection`, because it must see every backup. Retirement holds the key
lock exclusive, like a rotation (:mod:`governance.protection.rotation`), so no publish can wrap
a key with the KEK meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from assets.mesh import Mesh
from governance.audit import AuditEvent, AuditLog
from governance.dr.backup import ELSEWHERE, backups_elsewhere, unreadable_backups
from governance.dr.backup_keys import backup_kek_usage
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.keys import KeyError_
from governance.protection.keys import Keyring, unknown_kek
from governance.protection.rotation import UNLISTED_FIX, UnlistedRegion, unlisted_regions, wrapped_items


def kek_usage(mesh: Mesh, keyring: Keyring) -> Counter[str]:
    """How many wrapped data keys each KEK protects: stored in the mesh, and in its backups."""
    usage = Counter(item.wrapped.kek_id for item in wrapped_items(mesh, keyring))
    for in_backup in _backup_usage(mesh).values():
        usage.update(in_backup)
    return usage


def retire_kek(mesh: Mesh, keyring: Keyring, audit: AuditLog, kek_id: str, *, actor: Actor,
               on_wait: Callable[[], None] | None = None) -> None:
    """Delete a KEK that no stored data key uses any more (so no data can become unreadable).
    ``actor`` needs the ``rotate_keys`` permission. Holds the key lock exclusive, like
    :func:`rotate_keys`, so no publish can wrap a key with it meanwhile."""
    require(mesh.policy, audit, actor, "rotate_keys", action="key_retire", target=f"kek:{kek_id}")
    with keyring.lock.exclusive(on_wait):
        _retire(mesh, keyring, audit, kek_id, actor)


def _retire(mesh: Mesh, keyring: Keyring, audit: AuditLog, kek_id: str, actor: Actor) -> None:
    known = keyring.provider.kek_ids()
    if kek_id not in known:
        raise unknown_kek(kek_id, known, where="mesh keys retire")
    _, missing = backups_elsewhere(mesh.state_dir)
    if missing:  # a backup that cannot be read now may need this KEK
        raise KeyError_(f"KEK {kek_id} may still wrap keys of the backups written to {', '.join(map(str, missing))}, "
                        "which are not found now", where="mesh keys retire",
                        fix="mount them and run it again; if they are gone for good, remove their folders from "
                            f"{mesh.state_dir / 'backups' / ELSEWHERE}")
    unlisted = unlisted_regions(mesh)
    if unlisted:  # a region that cannot be listed now may hold keys this KEK wraps
        audit.append(AuditEvent(actor="service:keys", action="key_retire", target=f"kek:{kek_id}", outcome="denied",
                                source="cli", details={"unlisted_regions": [r.region for r in unlisted],
                                                       "by": actor.id}))
        raise _unlisted(kek_id, unlisted)
    unreadable = unreadable_backups(mesh.state_dir)
    if unreadable:  # deny by default: what such a folder holds cannot be accounted for
        audit.append(AuditEvent(actor="service:keys", action="key_retire", target=f"kek:{kek_id}", outcome="denied",
                                source="cli", details={"unreadable_backups": [str(p) for p, _ in unreadable],
                                                       "by": actor.id}))
        raise _unreadable(kek_id, unreadable)
    stored = Counter(item.wrapped.kek_id for item in wrapped_items(mesh, keyring))[kek_id]
    backups = {folder: usage[kek_id] for folder, usage in _backup_usage(mesh).items() if usage[kek_id]}
    if stored or backups:
        audit.append(AuditEvent(actor="service:keys", action="key_retire", target=f"kek:{kek_id}", outcome="denied",
                                source="cli", details={"still_used_by": stored + sum(backups.values()), "by": actor.id,
                                                       "backups": [folder.name for folder in backups]}))
        raise _still_used(kek_id, stored, backups)
    keyring.provider.retire(kek_id)
    audit.append(AuditEvent(actor="service:keys", action="key_retire", target=f"kek:{kek_id}", outcome="retired",
                            source="cli", details={"by": actor.id, **identity_details(actor)}))


def _still_used(kek_id: str, stored: int, backups: dict[Path, int]) -> KeyError_:
    """The refusal to retire a KEK that still wraps ``stored`` stored keys and keys in ``backups``."""
    where = f" in backup {', '.join(folder.name for folder in backups)}" if backups else ""
    if stored and backups:
        where = f" ({stored} stored,{where})"
    fixes = ["run `mesh keys rotate` to completion first"] if stored else []
    if backups:
        fixes.append("rewrap the backups under the active KEK with `mesh keys rewrap-backups`, or write a newer "
                     f"backup with `mesh dr backup` and then remove {', '.join(str(f) for f in backups)}")
    return KeyError_(f"KEK {kek_id} still wraps {stored + sum(backups.values())} data key(s){where}",
                     where="mesh keys retire", fix="; ".join(fixes))


def _unlisted(kek_id: str, unlisted: list[UnlistedRegion]) -> KeyError_:
    """The refusal to retire any KEK while a declared region cannot be listed."""
    return KeyError_(f"KEK {kek_id} is not retired: {'; '.join(map(str, unlisted))}, so the data keys stored there "
                     "cannot be counted, and retiring a KEK they need would make that region's data unreadable",
                     where="mesh keys retire", fix=UNLISTED_FIX)


def _unreadable(kek_id: str, unreadable: list[tuple[Path, str]]) -> KeyError_:
    """The refusal to retire any KEK while a backup folder cannot be read."""
    named = "; ".join(f"backup {path} ({why})" for path, why in unreadable)
    return KeyError_(f"KEK {kek_id} is not retired: {named}, so which KEKs its keys need cannot be known, and "
                     "retiring one could make its data unreadable", where="mesh keys retire",
                     fix="repair each backup by bringing its index.json (and index.sig) back from a copy of it, "
                         "or, if it is not needed, write a new backup with `mesh dr backup` and remove "
                         f"{', '.join(str(path) for path, _ in unreadable)}; then run it again")


def _backup_usage(mesh: Mesh) -> dict[Path, Counter[str]]:
    return backup_kek_usage(mesh.state_dir)
