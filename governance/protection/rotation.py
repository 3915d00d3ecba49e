"""Key rotation: a new key-encryption key, every data key rewrapped, no data rewritten.

The wrapped keys live in three places: the tokenization keys of the keyring, the ``data_key``
of every version's manifest (in every region), and quarantine reports. Rotation records its
target KEK in ``rotation.json`` before it starts, rewraps each key (skipping those already
under the target) and removes the file when done, so an interrupted rotation is finished by
running it again. A KEK can be retired once no wrapped key uses it.
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
from assets.storage import Manifest, VersionStore
from governance.access.authorization import identity_details, require
from governance.audit import AuditEvent, AuditLog
from governance.identity import Actor
from governance.keys import KeyError_
from governance.protection.keys import Keyring, WrappedKey, unknown_kek

STATE = "rotation.json"


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
    """Every wrapped data key of the mesh."""
    for path in keyring.wrapped_tokenization_keys():
        classification = path.stem.removeprefix("tokenize-")
        yield WrappedItem(f"tokenization key {classification}", WrappedKey.from_dict(json.loads(path.read_text())),
                          f"tokenize:{classification}".encode(), partial(_write_wrapped, path))
    for region in mesh.policy.regions:
        store = mesh.store(region)
        for manifest in _manifests(store):
            if manifest.data_key:
                yield WrappedItem(f"{region}:{manifest.key}@{manifest.version}", WrappedKey.from_dict(dict(manifest.data_key)),
                                  f"dek:{manifest.key}".encode(), partial(_rewrite_manifest, store, manifest))
        quarantine = store.root.path("_quarantine")
        reports = [p for p in store.root.walk_files(quarantine) if p.endswith("report.json")] \
            if store.root.exists(quarantine) else []
        for report_path in reports:
            report = json.loads(store.root.read_bytes(report_path))
            if report.get("data_key"):
                yield WrappedItem(f"quarantine {report_path}", WrappedKey.from_dict(report["data_key"]),
                                  f"dek:{report['asset']}".encode(),
                                  partial(_rewrite_report, store, report_path, report))


def kek_usage(mesh: Mesh, keyring: Keyring) -> Counter[str]:
    return Counter(item.wrapped.kek_id for item in wrapped_items(mesh, keyring))


def rotate_keys(mesh: Mesh, keyring: Keyring, audit: AuditLog, *, actor: Actor,
                on_item: Callable[[str], None] | None = None) -> RotationReport:
    """Make a new KEK active and rewrap every data key under it (resuming an interrupted run).
    ``actor`` needs the ``rotate_keys`` permission."""
    require(mesh.policy, audit, actor, "rotate_keys", action="key_rotate", target="kek")
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
        item.write(keyring.provider.wrap(keyring.provider.unwrap(item.wrapped, item.aad), item.aad))
        rewrapped += 1
        if on_item is not None:
            on_item(item.label)
    state.unlink()
    audit.append(AuditEvent(actor="service:keys", action="key_rotate", target=f"kek:{target}", outcome="completed",
                            source="cli", details={"rewrapped": rewrapped, "already": already, "resumed": resumed,
                                                   **who}))
    return RotationReport(target, rewrapped, already, resumed)


def retire_kek(mesh: Mesh, keyring: Keyring, audit: AuditLog, kek_id: str, *, actor: Actor) -> None:
    """Delete a KEK that no wrapped key uses any more (so no data can become unreadable).
    ``actor`` needs the ``rotate_keys`` permission."""
    require(mesh.policy, audit, actor, "rotate_keys", action="key_retire", target=f"kek:{kek_id}")
    known = keyring.provider.kek_ids()
    if kek_id not in known:
        raise unknown_kek(kek_id, known, where="mesh keys retire")
    users = kek_usage(mesh, keyring).get(kek_id, 0)
    if users:
        audit.append(AuditEvent(actor="service:keys", action="key_retire", target=f"kek:{kek_id}", outcome="denied",
                                source="cli", details={"still_used_by": users, "by": actor.id}))
        raise KeyError_(f"KEK {kek_id} still wraps {users} data key(s)", where="mesh keys retire",
                        fix="run `mesh keys rotate` to completion first")
    keyring.provider.retire(kek_id)
    audit.append(AuditEvent(actor="service:keys", action="key_retire", target=f"kek:{kek_id}", outcome="retired",
                            source="cli", details={"by": actor.id, **identity_details(actor)}))


def _manifests(store: VersionStore) -> Iterator[Manifest]:
    root = store.root
    for domain in root.listdir(root.root):
        if domain.startswith(("_", ".")):
            continue
        for name in root.listdir(root.path(domain)):
            key = f"{domain}.{name}"
            for version in store.versions(key):
                yield store.manifest(key, version)


def _rewrite_manifest(store: VersionStore, manifest: Manifest, wrapped: WrappedKey) -> None:
    domain, name = manifest.key.split(".", 1)
    path = store.root.path(domain, name, manifest.version, "manifest.json")
    data = json.loads(store.root.read_bytes(path))
    store.root.write_atomic(path, json.dumps({**data, "data_key": wrapped.to_dict()}, indent=2, sort_keys=True).encode())


def _rewrite_report(store: VersionStore, path: str, report: dict[str, Any], wrapped: WrappedKey) -> None:
    store.root.write_atomic(path, json.dumps({**report, "data_key": wrapped.to_dict()}, indent=2).encode())


def _write_wrapped(path: Path, wrapped: WrappedKey) -> None:
    _write_json(path, wrapped.to_dict())


def _write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data).encode(), mode=0o600)
