"""Key rotation: a new key-encryption key, every data key rewrapped, no data rewritten.

The wrapped keys live in three places: the tokenization keys of the keyring, the ``data_key``
of every manifest (every version, partition, leftover staging folder and archive, in every
region), and quarantine reports. Rotation and retirement hold the key lock exclusive
(:mod:`governance.protection.key_lock`), so no data key is in flight between a publisher's
memory and storage while they scan. Rotation records its
target KEK in ``rotation.json`` before it starts, rewraps each key (skipping those already
under the target) and removes the file when done, so an interrupted rotation is finished by
running it again. A KEK can be retired once no wrapped key uses it, stored or in a backup under
``.mesh/backups`` (backups are rewrapped on request: :mod:`governance.dr.backup_keys`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from assets.atomic import atomic_write
from assets.mesh import Mesh
from assets.quarantine import QUARANTINE
from assets.storage import StorageRoot
from governance.access.authorization import identity_details, require
from governance.audit import AuditEvent, AuditLog
from governance.identity import Actor
from governance.keys import KeyError_
from governance.protection.keys import Keyring, WrappedKey, dek_aad, unknown_kek

STATE = "rotation.json"
MANIFEST, REPORT = "manifest.json", "report.json"


@dataclass(frozen=True, slots=True)
class WrappedItem:
    """One wrapped key, where it is stored, and how to write it back."""

    label: str
    wrapped: WrappedKey
    aad: bytes
    write: Callable[[WrappedKey], None]


@dataclass(frozen=True, slots=True)
class RotationReport:
    kek_id: str
    rewrapped: int
    already: int
    resumed: bool


def wrapped_items(mesh: Mesh, keyring: Keyring) -> Iterator[WrappedItem]:
    """Every stored wrapped data key of the mesh: the tokenization keys, and in every region
    each ``manifest.json`` (published, partitioned, staged or archived) and quarantine report.
    A file that cannot be read raises: nobody can tell which KEK it needs."""
    for path in keyring.wrapped_tokenization_keys():
        classification = path.stem.removeprefix("tokenize-")
        yield WrappedItem(f"tokenization key {classification}", WrappedKey.from_dict(json.loads(path.read_text())),
                          f"tokenize:{classification}".encode(), partial(write_wrapped, path))
    for stored in stored_documents(mesh):
        document = stored.document
        if document.get("data_key"):
            asset = document["asset"] if stored.inner.startswith(f"{QUARANTINE}/") else document["key"]
            yield WrappedItem(f"{stored.region}:{stored.inner}", WrappedKey.from_dict(dict(document["data_key"])),
                              dek_aad(asset), partial(rewrite_document, stored.root, stored.file, document))


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A manifest or quarantine report in a region's storage, which may hold a wrapped key."""

    region: str
    root: StorageRoot
    file: str
    inner: str
    document: dict[str, Any]


def stored_documents(mesh: Mesh) -> Iterator[StoredDocument]:
    """Every ``manifest.json`` and quarantine ``report.json`` of every region."""
    for region in mesh.policy.regions:
        root = mesh.store(region).root
        if not root.exists(root.root):
            continue
        for file in sorted(root.walk_files(root.root)):
            inner = file[len(root.root) + 1:]
            if inner.endswith(f"/{MANIFEST}") or inner.startswith(f"{QUARANTINE}/") and inner.endswith(f"/{REPORT}"):
                yield StoredDocument(region, root, file, inner, _read_json(root, file))


def tokenized_before(mesh: Mesh, classification: str) -> bool:
    """Whether any stored version or quarantine report holds tokens of ``classification``."""
    method = f"tokenize:{classification}"
    return any(method in dict(stored.document.get("protection") or {}).values() for stored in stored_documents(mesh))


def kek_usage(mesh: Mesh, keyring: Keyring) -> Counter[str]:
    """How many wrapped data keys each KEK protects: stored in the mesh, and in its backups."""
    usage = Counter(item.wrapped.kek_id for item in wrapped_items(mesh, keyring))
    for in_backup in _backup_usage(mesh).values():
        usage.update(in_backup)
    return usage


def rewrap(item: WrappedItem, keyring: Keyring) -> None:
    """Store ``item``'s data key wrapped by the active KEK."""
    item.write(keyring.provider.wrap(keyring.provider.unwrap(item.wrapped, item.aad), item.aad))


def rotate_keys(mesh: Mesh, keyring: Keyring, audit: AuditLog, *, actor: Actor,
                on_item: Callable[[str], None] | None = None,
                on_wait: Callable[[], None] | None = None) -> RotationReport:
    """Make a new KEK active and rewrap every data key under it (resuming an interrupted run).
    ``actor`` needs the ``rotate_keys`` permission. Holds the key lock exclusive: it first
    waits for running publishes to store their data keys (calling ``on_wait`` if it must
    wait), and publishes wait for it."""
    require(mesh.policy, audit, actor, "rotate_keys", action="key_rotate", target="kek")
    with keyring.lock.exclusive(on_wait):
        return _rotate(mesh, keyring, audit, actor, on_item)


def _rotate(mesh: Mesh, keyring: Keyring, audit: AuditLog, actor: Actor,
            on_item: Callable[[str], None] | None) -> RotationReport:
    who = {"by": actor.id, **identity_details(actor)}
    state = keyring.folder / STATE
    resumed = state.exists()
    if resumed:
        target = json.loads(state.read_text())["to"]
    else:
        target = keyring.provider.rotate()
        keyring.folder.mkdir(parents=True, exist_ok=True)
        _write_json(state, {"to": target})
        audit.append(AuditEvent(actor="service:keys", action="key_rotate", target=f"kek:{target}", outcome="started",
                                source="cli", details={"new_kek": target, **who}))
    if keyring.provider.active_kek_id() != target:
        raise KeyError_(f"an interrupted rotation targets KEK {target}, but KEK {keyring.provider.active_kek_id()} "
                        "is active", where=str(state), fix="remove rotation.json only if you know why they differ")
    rewrapped = already = 0
    for item in list(wrapped_items(mesh, keyring)):
        if item.wrapped.kek_id == target:
            already += 1
            continue
        rewrap(item, keyring)
        rewrapped += 1
        if on_item is not None:
            on_item(item.label)
    state.unlink()
    audit.append(AuditEvent(actor="service:keys", action="key_rotate", target=f"kek:{target}", outcome="completed",
                            source="cli", details={"rewrapped": rewrapped, "already": already, "resumed": resumed,
                                                   **who}))
    return RotationReport(target, rewrapped, already, resumed)


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


def _backup_usage(mesh: Mesh) -> dict[Path, Counter[str]]:
    # imported here: governance.dr imports the wiring, which imports this module
    from governance.dr.backup_keys import backup_kek_usage

    return backup_kek_usage(mesh.state_dir)


def _read_json(root: StorageRoot, path: str) -> dict[str, Any]:
    try:
        document = json.loads(root.read_bytes(path))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document
    except (OSError, ValueError) as exc:
        raise KeyError_(f"cannot tell which KEK the data key in this file needs: {exc}", where=root.uri_of(path),
                        fix="restore the file (mesh dr restore) or remove its version; then run the command again") \
            from None


def rewrite_document(root: StorageRoot, path: str, document: dict[str, Any], wrapped: WrappedKey) -> None:
    """Write a manifest or quarantine report again, its data key replaced by ``wrapped``."""
    indent: dict[str, Any] = {"indent": 2} if path.endswith(f"/{REPORT}") else {"indent": 2, "sort_keys": True}
    root.write_atomic(path, json.dumps({**document, "data_key": wrapped.to_dict()}, **indent).encode())


def write_wrapped(path: Path, wrapped: WrappedKey) -> None:
    """Write a wrapped tokenization key (owner-only, atomically)."""
    _write_json(path, wrapped.to_dict())


def _write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data).encode(), mode=0o600)
