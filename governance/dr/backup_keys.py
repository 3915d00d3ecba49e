"""The wrapped data keys a backup holds, and rewrapping them under the active KEK.

A backup (:mod:`governance.dr.backup`) holds copies of the wrapped tokenization keys
(``keys/data/tokenize-*.json``) and of every manifest, whose ``data_key`` stays wrapped by the
KEK that was active when the backup was written. Restoring from it needs that KEK, so
retirement counts these keys (:func:`governance.dr.kek_retirement.kek_usage`) in every folder
under ``.mesh/backups`` that holds a backup index. Backups written elsewhere (``--to``) are not
seen: keep their KEK, or rewrap them after moving them there.

:func:`rewrap_backups` brings every backup under the active KEK. A backup is verified first
(signature, checksums, audit chain), so a tampered one is never signed again; it is rewrapped
in a copy (``.<name>.rewrap``), whose index is written and signed, and then swapped in by two
renames (the old one aside as ``.<name>.before-rewrap``, then removed). An interruption at any
point is finished, or undone, by the next run.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from assets.mesh import Mesh
from assets.storage import StorageRoot
from governance.audit import AuditEvent, AuditLog
from governance.dr.backup import (
    backup_folders,
    backups_dir,
    backups_elsewhere,
    file_digest,
    verify_backup,
    write_index,
)
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.keys import KeyError_
from governance.protection import Keyring, WrappedKey
from governance.protection.keys import dek_aad
from governance.protection.rotation import (
    WrappedItem,
    rewrap,
    rewrite_document,
    write_wrapped,
)
from assets.stored_json import load_json

MANIFEST = "manifest.json"
REWRAP, ASIDE = ".rewrap", ".before-rewrap"


def wrapped_in_backup(folder: Path) -> Iterator[WrappedItem]:
    """Every wrapped key in the backup at ``folder``: its tokenization keys, then the data key
    of each manifest. A file that cannot be read raises: nobody can tell which KEK it needs."""
    for file in sorted((folder / "keys" / "data").glob("tokenize-*.json")):
        classification = file.stem.removeprefix("tokenize-")
        yield WrappedItem(f"{folder.name}:{file.relative_to(folder)}", _wrapped(folder, file, _read(folder, file)),
                          f"tokenize:{classification}".encode(), partial(write_wrapped, file))
    root = StorageRoot(str(folder))
    for file in sorted((folder / "manifests").rglob(MANIFEST)):
        document = _read(folder, file)
        if document.get("data_key"):
            asset = document.get("key")
            if not isinstance(asset, str):
                raise _unreadable(folder, file, "the manifest names no asset")
            yield WrappedItem(f"{folder.name}:{file.relative_to(folder)}",
                              _wrapped(folder, file, document["data_key"]), dek_aad(asset),
                              partial(rewrite_document, root, str(file), document))


def backup_kek_usage(state_dir: Path) -> dict[Path, Counter[str]]:
    """For each backup folder under ``<state_dir>/backups``, and each written elsewhere that is
    still found: how many keys each KEK wraps there."""
    return {folder: Counter(item.wrapped.kek_id for item in wrapped_in_backup(folder))
            for folder in _all_backups(state_dir)}


def _all_backups(state_dir: Path) -> list[Path]:
    return [*backup_folders(state_dir), *backups_elsewhere(state_dir)[0]]


def rewrap_backups(mesh: Mesh, keyring: Keyring, audit: AuditLog, *, actor: Actor) -> dict[Path, int]:
    """Rewrap the keys of every backup under ``.mesh/backups`` with the active KEK (see the
    module docstring); returns the backups rewrapped, with the number of keys rewrapped in each.
    ``actor`` needs the ``rotate_keys`` permission. Holds the key lock exclusive, like a
    rotation, so the active KEK does not change meanwhile."""
    require(mesh.policy, audit, actor, "rotate_keys", action="key_rewrap_backup", target="backups")
    done: dict[Path, int] = {}
    with keyring.lock.exclusive():
        _finish_interrupted(backups_dir(mesh.state_dir))
        target = keyring.provider.active_kek_id()
        for folder in _all_backups(mesh.state_dir):
            if folder.name.startswith(".") or all(i.wrapped.kek_id == target for i in wrapped_in_backup(folder)):
                continue
            done[folder] = _rewrap_backup(mesh.state_dir, folder, keyring, audit, target)
            audit.append(AuditEvent(actor="service:keys", action="key_rewrap_backup", target=str(folder),
                                    outcome="rewrapped", source="cli",
                                    details={"rewrapped": done[folder], "kek": target, "by": actor.id,
                                             **identity_details(actor)}))
    return done


def _rewrap_backup(state_dir: Path, folder: Path, keyring: Keyring, audit: AuditLog, target: str) -> int:
    index = verify_backup(state_dir, folder)  # never sign again what was altered
    work, aside = _work(folder), _aside(folder)
    shutil.rmtree(work, ignore_errors=True)
    try:
        shutil.copytree(folder, work)  # in the try: a half copy holds an index, and would count as a backup
        count = 0
        for item in list(wrapped_in_backup(work)):
            if item.wrapped.kek_id != target:
                rewrap(item, keyring)
                count += 1
        files = {rel: file_digest(work / rel) for rel in index["files"]}
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        write_index(work, {**index, "files": files, "rewrapped": {"at": stamp, "kek": target}}, audit)
    except OSError as exc:  # a full disk: shutil.Error (copytree) carries no strerror
        shutil.rmtree(work, ignore_errors=True)
        raise KeyError_(f"the backup could not be rewrapped: its copy could not be written "
                        f"({exc.strerror or 'a file could not be copied'}); the backup is unchanged", where=str(folder),
                        fix="free space on that disk, then run `mesh keys rewrap-backups` again") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.rename(folder, aside)  # from here on, the work folder is complete: the next run finishes the swap
    os.rename(work, folder)
    shutil.rmtree(aside)
    return count


def _finish_interrupted(folder: Path) -> None:
    """Finish the swap of a rewrap interrupted after its copy was signed; remove a copy left
    before that."""
    if not folder.is_dir():
        return
    for aside in sorted(folder.glob(f".*{ASIDE}")):
        backup = aside.with_name(aside.name[1:].removesuffix(ASIDE))
        if not backup.exists():
            work = _work(backup)  # signed before the backup was set aside: complete
            os.rename(work if work.is_dir() else aside, backup)
        shutil.rmtree(aside, ignore_errors=True)
    for work in sorted(folder.glob(f".*{REWRAP}")):
        shutil.rmtree(work)


def _work(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}{REWRAP}")


def _aside(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}{ASIDE}")


def _read(folder: Path, file: Path) -> dict[str, Any]:
    try:
        document = load_json(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise _unreadable(folder, file, str(exc)) from None
    if not isinstance(document, dict):
        raise _unreadable(folder, file, "not a JSON object")
    return document


def _wrapped(folder: Path, file: Path, data: object) -> WrappedKey:
    try:
        return WrappedKey.from_dict(data)  # type: ignore[arg-type]  # checked by from_dict
    except TypeError as exc:
        raise _unreadable(folder, file, str(exc)) from None


def _unreadable(folder: Path, file: Path, why: str) -> KeyError_:
    return KeyError_(f"cannot tell which KEK the data key in this file of backup {folder.name} needs: {why}",
                     where=str(file), fix=f"write a new backup with `mesh dr backup` and remove {folder}, or bring "
                                          "the file back from a copy of the backup; then run the command again")
