"""Key rotation: a new key-encryption key, every data key rewrapped, no data rewritten.

The wrapped keys live in three places: the tokenization keys of the keyring, the ``data_key``
of every manifest (every version, partition, leftover staging folder and archive, in every
region), and quarantine reports. Rotation and retirement hold the key lock exclusive
(:mod:`governance.protection.key_lock`), so no data key is in flight between a publisher's
memory and storage while they scan. Rotation records its
target KEK in ``rotation.json`` before it starts, rewraps each key (skipping those already
under the target) and removes the file when done, so an interrupted rotation is finished by
running it again. Retiring a KEK once nothing uses it is :mod:`governance.dr.kek_retirement`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from assets.atomic import atomic_write
from assets.mesh import Mesh
from assets.quarantine import QUARANTINE
from assets.storage import StorageRoot
from governance.audit import AuditEvent, AuditLog
from governance.audit.witness import HEADS
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.keys import KeyError_
from governance.protection.keys import Keyring, WrappedKey, dek_aad
from assets.stored_json import load_json

STATE = "rotation.json"
#: The folder of a region that holds the audit log's signed heads, not data.
WITNESS = HEADS[0]
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
    #: Regions that could not be listed, so their keys were not rewrapped: the rotation is
    #: incomplete (``rotation.json`` kept) until they are back and it is run again.
    unlisted: tuple[UnlistedRegion, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.unlisted


@dataclass(frozen=True, slots=True)
class UnlistedRegion:
    """A region declared in ``mesh.toml`` whose storage cannot be listed now (its folder is
    missing, a volume not mounted, or cannot be read): the keys it holds cannot be counted."""

    region: str
    where: str
    why: str

    def __str__(self) -> str:
        return f"region {self.region} ({self.where}: {self.why})"


#: What to do about an :class:`UnlistedRegion`.
UNLISTED_FIX = ("mount or restore its storage (mesh dr restore), or, if the region is gone for good, remove it "
                "from [regions] of mesh.toml through the council; if it never held data, copy it there with "
                "`mesh dr replicate`; then run the command again")


def wrapped_items(mesh: Mesh, keyring: Keyring) -> Iterator[WrappedItem]:
    """Every stored wrapped data key of the mesh: the tokenization keys, and in every region
    each ``manifest.json`` (published, partitioned, staged or archived) and quarantine report.
    A file that cannot be read raises: nobody can tell which KEK it needs."""
    for path in keyring.wrapped_tokenization_keys():
        classification = path.stem.removeprefix("tokenize-")
        try:
            document: object = load_json(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise _unknown_kek(str(path), str(exc), _TOKENIZATION_FIX) from None
        yield WrappedItem(f"tokenization key {classification}", _wrapped_key(document, str(path), _TOKENIZATION_FIX),
                          f"tokenize:{classification}".encode(), partial(write_wrapped, path))
    for stored in stored_documents(mesh):
        document = stored.document
        if document.get("data_key"):
            asset = document.get("asset" if stored.inner.startswith(f"{QUARANTINE}/") else "key")
            where = stored.root.uri_of(stored.file)
            if not isinstance(asset, str):
                raise _unknown_kek(where, "it names no asset, whose name the key is bound to")
            yield WrappedItem(f"{stored.region}:{stored.inner}", _wrapped_key(document["data_key"], where),
                              dek_aad(asset), partial(rewrite_document, stored.root, stored.file, document))


_VERSION_FIX = "restore the file (mesh dr restore) or remove its version; then run the command again"
_TOKENIZATION_FIX = "restore the key with `mesh dr restore` (every backup holds it, wrapped); then run the command again"


def _wrapped_key(data: object, where: str, fix: str = _VERSION_FIX) -> WrappedKey:
    """``data`` as a wrapped key, or the error naming ``where`` it is stored."""
    try:
        return WrappedKey.from_dict(data)  # type: ignore[arg-type]  # checked by from_dict
    except TypeError as exc:
        raise _unknown_kek(where, str(exc), fix) from None


def _unknown_kek(where: str, why: str, fix: str = _VERSION_FIX) -> KeyError_:
    """The refusal to go on when a stored wrapped key cannot be read: nobody can tell which KEK it needs."""
    return KeyError_(f"cannot tell which KEK the data key in this file needs: {why}", where=where, fix=fix)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A manifest or quarantine report in a region's storage, which may hold a wrapped key."""

    region: str
    root: StorageRoot
    file: str
    inner: str
    document: dict[str, Any]


def stored_documents(mesh: Mesh) -> Iterator[StoredDocument]:
    """Every ``manifest.json`` and quarantine ``report.json`` of every region. A region whose
    storage is missing holds nothing here: callers that must account for every key (rotation,
    retirement) check :func:`unlisted_regions` first. A folder inside a region that cannot be
    listed raises: what it holds cannot be known."""
    for region in mesh.policy.regions:
        root = mesh.store(region).root
        if not root.exists(root.root):
            continue
        for file in sorted(_files(root)):
            inner = file[len(root.root) + 1:]
            if inner.endswith(f"/{MANIFEST}") or inner.startswith(f"{QUARANTINE}/") and inner.endswith(f"/{REPORT}"):
                yield StoredDocument(region, root, file, inner, _read_json(root, file))


def unlisted_regions(mesh: Mesh) -> list[UnlistedRegion]:
    """The declared regions whose storage cannot be listed now, so the keys they hold cannot be
    counted. A local region's folder must exist and be listable (a missing one is most likely a
    volume not mounted), and must not be empty (nothing but the audit witness's heads, which are
    written to the standby even when its volume is not mounted) while another region holds data:
    an empty mount point. An object store's prefix may be empty, but the store must answer."""
    found = {region: _listing(mesh.store(region).root) for region in mesh.policy.regions}
    holding = [region for region, names in found.items() if isinstance(names, list) and set(names) - {WITNESS}]
    unlisted = []
    for region, names in found.items():
        root = mesh.store(region).root
        if isinstance(names, str):
            unlisted.append(UnlistedRegion(region, root.uri_of(root.root), names))
        elif root.is_local and holding and region not in holding:
            unlisted.append(UnlistedRegion(region, root.uri_of(root.root), "it holds no data while "
                                           f"{', '.join(holding)} does (an empty mount point: not mounted?)"))
    return unlisted


def _listing(root: StorageRoot) -> list[str] | str:
    """The names in ``root``'s top folder, or why they cannot be listed."""
    try:
        return os.listdir(root.root) if root.is_local else root.listdir(root.root)
    except FileNotFoundError:
        return "its folder is missing (not mounted?)"
    except OSError as exc:
        return f"it cannot be listed ({exc.strerror or exc})"


def _files(root: StorageRoot) -> Iterator[str]:
    """Every file under ``root``. Locally a folder that cannot be listed raises (fsspec's walk
    would take it for an empty one)."""
    if not root.is_local:
        yield from root.walk_files(root.root)
        return
    for folder, _dirs, names in os.walk(root.root, onerror=_unlistable):
        for name in names:
            yield f"{folder}/{name}"


def _unlistable(exc: OSError) -> None:
    raise _unknown_kek(str(exc.filename), f"its folder cannot be listed ({exc.strerror or exc})",
                       "make the folder readable (or restore it with mesh dr restore); then run the command again")


def tokenized_before(mesh: Mesh, classification: str) -> bool:
    """Whether any stored version or quarantine report holds tokens of ``classification``."""
    method = f"tokenize:{classification}"
    return any(method in dict(stored.document.get("protection") or {}).values() for stored in stored_documents(mesh))


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
        try:
            return _rotate(mesh, keyring, audit, actor, on_item)
        except OSError as exc:  # a full disk, a file-size limit: each key file was written whole or not at all
            raise KeyError_(f"key rotation stopped: a file could not be written ({exc.strerror or exc})",
                            where=exc.filename or str(keyring.folder),
                            fix="free space on that disk, then run `mesh keys rotate` again: it finishes the "
                                "interrupted rotation; meanwhile every data key is read with the KEK it is wrapped "
                                "by") from None


def _rotate(mesh: Mesh, keyring: Keyring, audit: AuditLog, actor: Actor,
            on_item: Callable[[str], None] | None) -> RotationReport:
    who = {"by": actor.id, **identity_details(actor)}
    state = keyring.folder / STATE
    resumed = state.exists()
    if resumed:
        target = load_json(state.read_text())["to"]
    else:
        target = keyring.provider.rotate()
        keyring.folder.mkdir(parents=True, exist_ok=True)
        _write_json(state, {"to": target})
        audit.append(AuditEvent(actor="service:keys", action="key_rotate", target=f"kek:{target}", outcome="started",
                                source="cli", details={"new_kek": target, **who}))
    if keyring.provider.active_kek_id() != target:
        raise KeyError_(f"an interrupted rotation targets KEK {target}, but KEK {keyring.provider.active_kek_id()} "
                        "is active", where=str(state), fix="remove rotation.json only if you know why they differ")
    unlisted = tuple(unlisted_regions(mesh))
    rewrapped = already = 0
    for item in list(wrapped_items(mesh, keyring)):
        if item.wrapped.kek_id == target:
            already += 1
            continue
        rewrap(item, keyring)
        rewrapped += 1
        if on_item is not None:
            on_item(item.label)
    counts = {"rewrapped": rewrapped, "already": already, "resumed": resumed, **who}
    if unlisted:  # rotation.json stays: running it again once the regions are back finishes it
        audit.append(AuditEvent(actor="service:keys", action="key_rotate", target=f"kek:{target}",
                                outcome="incomplete", source="cli",
                                details={**counts, "unlisted_regions": [r.region for r in unlisted]}))
        return RotationReport(target, rewrapped, already, resumed, unlisted)
    state.unlink()
    audit.append(AuditEvent(actor="service:keys", action="key_rotate", target=f"kek:{target}", outcome="completed",
                            source="cli", details=counts))
    return RotationReport(target, rewrapped, already, resumed)


def _read_json(root: StorageRoot, path: str) -> dict[str, Any]:
    try:
        document = load_json(root.read_bytes(path))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document
    except (OSError, ValueError) as exc:
        raise _unknown_kek(root.uri_of(path), str(exc)) from None


def rewrite_document(root: StorageRoot, path: str, document: dict[str, Any], wrapped: WrappedKey) -> None:
    """Write a manifest or quarantine report again, its data key replaced by ``wrapped``."""
    indent: dict[str, Any] = {"indent": 2} if path.endswith(f"/{REPORT}") else {"indent": 2, "sort_keys": True}
    root.write_atomic(path, json.dumps({**document, "data_key": wrapped.to_dict()}, **indent).encode())


def write_wrapped(path: Path, wrapped: WrappedKey) -> None:
    """Write a wrapped tokenization key (owner-only, atomically)."""
    _write_json(path, wrapped.to_dict())


def _write_json(path: Path, data: object) -> None:
    atomic_write(path, json.dumps(data).encode(), mode=0o600)
