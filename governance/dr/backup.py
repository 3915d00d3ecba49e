"""Backups of everything that describes the data: ``mesh.toml``, manifests, the audit log and
the wrapped data keys, as one signed, self-verifying checkpoint.

A backup is built in a hidden folder and renamed into place, so it is complete or absent. Its
``index.json`` lists every file with its SHA-256 and is signed with the audit log's Ed25519 key.
The data itself is not copied (replication keeps it in a second region), and neither are
key-encryption keys: they stay with the key provider, and a backup never holds key material
that could unwrap anything on its own.

:func:`restore` verifies the signature, every file's checksum and the audit chain of the backup
before touching anything, then brings back what is missing or broken, never overwriting newer
good state: a lost ``mesh.toml``, a missing or tampered audit log, missing wrapped keys and
tokenization keys whose fingerprint differs from the backup's (the current file is kept aside as
evidence), a lost ``mesh.approvals.jsonl`` (the council's approvals; a changed one is kept), and manifests and ``CURRENT`` pointers of versions whose data is still there and matches.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assets.atomic import atomic_write
from assets.disk_full import disk_full_reason, is_disk_full
from assets.errors import MeshError
from assets.mesh import Mesh
from assets.storage import Manifest, StorageRoot
from assets.storage.digest import UnknownChecksumAlgorithm, algorithm_of
from assets.named_files import NotRegularFile
from governance.audit import AuditEvent, AuditLog, audit_log_at
from governance.council import APPROVALS_FILE
from governance.identity import Actor
from governance.identity.authorization import identity_details, require
from governance.protection import Keyring
from governance.services import governed
from assets.stored_json import load_json

INDEX, SIGNATURE = "index.json", "index.sig"
MANIFEST, CURRENT = "manifest.json", "CURRENT"


class BackupError(MeshError):
    """A backup is missing, incomplete, altered or cannot be written."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    files: int
    manifests: int
    audit_records: int
    skipped_regions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "manifests": self.manifests,
                "audit_records": self.audit_records, "skipped_regions": list(self.skipped_regions)}


@dataclass(frozen=True, slots=True)
class RestoreReport:
    path: Path
    verified_files: int
    restored: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "verified_files": self.verified_files, "restored": list(self.restored),
                "kept": list(self.kept), "problems": list(self.problems)}


#: Under ``.mesh/backups``: the folders of the backups written elsewhere (``--to DIR``).
ELSEWHERE = "elsewhere.json"


def backups_dir(state_dir: Path) -> Path:
    return state_dir / "backups"


def backup(mesh: Mesh, dest: Path | None = None, *, actor: Actor) -> BackupReport:
    """Write a backup checkpoint to ``dest`` (default ``.mesh/backups/<UTC time>``).

    ``actor`` needs the ``operate_dr`` permission: a backup copies the council's file, every
    manifest, the audit log and the wrapped data keys."""
    require(mesh.policy, governed(mesh).audit, actor, "operate_dr", action="dr_backup", target=str(dest or "backups"))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = Path(dest) if dest else backups_dir(mesh.state_dir) / stamp
    if dest.exists():
        raise BackupError("the backup folder already exists", where=str(dest), fix="name a new folder")
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup folder ({type(exc).__name__}: {exc.strerror or exc})", where=str(dest),
                          fix="name a folder under one that exists and you may write to (--to DIR)") from None
    manifests, skipped = 0, []
    log = governed(mesh).audit
    try:
        # shared key lock: no KEK is retired while the wrapped keys copied here are not yet in place
        with governed(mesh).keyring.lock.shared():
            shutil.copyfile(mesh.policy.path, partial / "mesh.toml")
            if (approvals := mesh.root / APPROVALS_FILE).exists():  # the council's approvals of its trust
                shutil.copyfile(approvals, partial / APPROVALS_FILE)
            wrapped = mesh.state_dir / "keys" / "data"
            if wrapped.exists():
                shutil.copytree(wrapped, partial / "keys" / "data")
            for region in mesh.policy.regions:
                try:
                    manifests += _copy_manifests(functools.partial(_region_root, mesh, region),
                                                 partial / "manifests" / region)
                except _RegionUnreadable:  # recorded, the rest is still backed up; a failed write is not this
                    shutil.rmtree(partial / "manifests" / region, ignore_errors=True)
                    skipped.append(region)
            checkpoint = log.snapshot(partial / "audit")  # last: it covers every manifest above
            files = {p.relative_to(partial).as_posix(): file_digest(p)
                     for p in sorted(partial.rglob("*")) if p.is_file()}
            write_index(partial, {"format": 1, "mesh": mesh.policy.settings.name, "created_at": stamp,
                                  "active_region": mesh.active_region, "audit_checkpoint": checkpoint,
                                  "skipped_regions": skipped, "files": files}, log)
            os.replace(partial, dest)
    except OSError as exc:  # a full disk, a file-size limit: nothing of this backup is kept
        shutil.rmtree(partial, ignore_errors=True)
        raise _unwritten(exc, dest) from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    report = BackupReport(dest, len(files), manifests, int(checkpoint["size"]), tuple(skipped))
    if dest.resolve().parent != backups_dir(mesh.state_dir).resolve():
        _remember_elsewhere(mesh.state_dir, dest)
    log.append(AuditEvent(actor=actor.id, action="dr_backup", target=str(dest), outcome="written", source="dr",
                          details={**report.to_dict(), **identity_details(actor)}))
    return report


def backup_folders(state_dir: Path) -> list[Path]:
    """Every folder under ``<state_dir>/backups`` that holds a backup index, by name: complete
    backups, and leftovers of an interrupted backup or rewrap (their names start with a dot)."""
    folder = backups_dir(state_dir)
    return sorted(p for p in folder.iterdir() if (p / INDEX).is_file()) if folder.is_dir() else []


def unreadable_backups(state_dir: Path) -> list[tuple[Path, str]]:
    """Every folder under ``<state_dir>/backups`` (and every backup written elsewhere that is
    found) whose index cannot be read, with why: its ``index.json`` is missing or damaged. Such
    a folder may hold wrapped keys no one can account for, so no KEK is retired while it is
    there (deny by default)."""
    folder = backups_dir(state_dir)
    found = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    unreadable = []
    for path in [*found, *backups_elsewhere(state_dir)[0]]:
        why = _index_problem(path / INDEX)
        if why:
            unreadable.append((path, why))
    return unreadable


def _index_problem(index_file: Path) -> str:
    """Why the backup index ``index_file`` cannot be read ("" when it can)."""
    try:
        index = load_json(index_file.read_bytes())
    except FileNotFoundError:
        return "its index.json is missing"
    except (OSError, ValueError) as exc:
        return f"its index.json is damaged ({exc})"
    if not isinstance(index, dict) or not isinstance(index.get("files"), dict):
        return "its index.json is damaged (no list of files)"
    return ""


def backups_elsewhere(state_dir: Path) -> tuple[list[Path], list[Path]]:
    """The backups written outside ``<state_dir>/backups`` (``mesh dr backup --to DIR``), as
    recorded when they were written: those still found (with an index), and those not found
    (removed, or on a disk not mounted now). A KEK is retired only when neither wraps a key."""
    try:
        recorded = load_json((backups_dir(state_dir) / ELSEWHERE).read_text())
    except FileNotFoundError:
        return [], []
    except (OSError, ValueError) as exc:
        raise BackupError(f"the list of backups written elsewhere is unreadable: {exc}",
                          where=str(backups_dir(state_dir) / ELSEWHERE),
                          fix="restore it, or write the backups' folders into it as a JSON list") from None
    folders = [Path(p) for p in recorded if isinstance(p, str)] if isinstance(recorded, list) else []
    found = [p for p in folders if (p / INDEX).is_file()]
    return found, [p for p in folders if p not in found]


def _remember_elsewhere(state_dir: Path, dest: Path) -> None:
    found, missing = backups_elsewhere(state_dir)
    folders = sorted({str(p) for p in (*found, *missing, dest.resolve())})
    atomic_write(backups_dir(state_dir) / ELSEWHERE, json.dumps(folders, indent=2).encode())


def write_index(folder: Path, index: dict[str, Any], log: AuditLog) -> None:
    """Write a backup's ``index.json`` and its signature with the audit log's key."""
    raw = json.dumps(index, indent=2, sort_keys=True).encode()
    atomic_write(folder / INDEX, raw)  # fsynced: the signed index is what a restore trusts
    atomic_write(folder / SIGNATURE, log.signer.sign(raw).hex().encode())


def latest_backup(state_dir: Path) -> Path:
    """The newest complete backup under ``<state_dir>/backups``."""
    found = [p for p in backup_folders(state_dir) if not p.name.startswith(".")]
    if not found:
        raise BackupError("there is no backup", where=str(backups_dir(state_dir)),
                          fix="write one with `mesh dr backup`")
    return found[-1]


def verify_backup(state_dir: Path, path: Path) -> dict[str, Any]:
    """Check the signature (with the audit key under ``state_dir``), every file's checksum and
    the audit chain; return the index."""
    index_file = path / INDEX
    if not index_file.exists():
        raise BackupError("not a backup (no index.json)", where=str(path), fix="name a folder written by `mesh dr backup`")
    raw = index_file.read_bytes()
    log = audit_log_at(state_dir)
    public: Ed25519PublicKey = log.signer.public_key()
    try:
        public.verify(bytes.fromhex((path / SIGNATURE).read_text()), raw)
    except (OSError, ValueError, InvalidSignature):
        raise BackupError("the backup's index is not signed by this mesh's audit key (altered or foreign)",
                          where=str(index_file), fix="restore from another backup") from None
    index = load_json(raw)
    bad = [rel for rel, digest in index["files"].items()
           if not (path / rel).is_file() or file_digest(path / rel) != digest]
    if bad:
        raise BackupError(f"{len(bad)} file(s) of the backup are missing or altered: {', '.join(bad[:10])}",
                          where=str(path), fix="restore from another backup")
    chain = AuditLog(path / "audit", log.signer).verify()
    if not chain.ok:
        raise BackupError(f"the backup's audit log does not verify: {chain.problem}", where=str(path / "audit"),
                          fix="restore from another backup")
    return index


def restore(mesh: Mesh, path: Path, *, actor: Actor) -> RestoreReport:
    """Verify the backup at ``path``, then restore what is missing or broken (module docstring).
    ``actor`` needs the ``operate_dr`` permission."""
    require(mesh.policy, governed(mesh).audit, actor, "operate_dr", action="dr_restore", target=str(path))
    index = verify_backup(mesh.state_dir, path)
    try:
        return _restore(mesh, path, index, actor)
    except OSError as exc:  # a full disk: each file came back whole or not at all
        raise BackupError(f"the restore stopped: {exc.filename or 'a file'} could not be written "
                          f"({exc.strerror or exc})", where=str(path),
                          fix="free space on that disk, then run `mesh dr restore` again: what came back stays, "
                              "and the rest is brought back then") from None


def _restore(mesh: Mesh, path: Path, index: dict[str, Any], actor: Actor) -> RestoreReport:
    restored: list[str] = []
    kept: list[str] = []
    problems: list[str] = []
    if not mesh.policy.path.exists():
        atomic_write(mesh.policy.path, (path / "mesh.toml").read_bytes())
        restored.append("mesh.toml")
    elif mesh.policy.path.read_bytes() != (path / "mesh.toml").read_bytes():
        kept.append("mesh.toml (changed since the backup; the current file is kept)")
    if APPROVALS_FILE in index["files"]:
        current = mesh.root / APPROVALS_FILE
        if not current.exists():
            atomic_write(current, (path / APPROVALS_FILE).read_bytes())
            restored.append(APPROVALS_FILE)
        elif current.read_bytes() != (path / APPROVALS_FILE).read_bytes():
            kept.append(f"{APPROVALS_FILE} (changed since the backup; the current file is kept)")
    log = governed(mesh).audit
    restored_log, note = _restore_audit(log, path / "audit", int(index["audit_checkpoint"]["size"]), mesh.state_dir)
    (restored if restored_log else kept).append(note)
    with governed(mesh).keyring.lock.shared():  # keys and manifests come back whole before a rotation scans
        _restore_keys(mesh, path, [rel for rel in index["files"] if rel.startswith("keys/data/")],
                      restored, problems)
        pointers_last = sorted(index["files"], key=lambda rel: rel.endswith(CURRENT))
        for rel in pointers_last:
            if rel.startswith("manifests/"):
                _, region, inner = rel.split("/", 2)
                if region in mesh.policy.regions:
                    outcome = _restore_pointer(mesh.store(region).root, path / rel, inner)
                    if outcome.startswith("restored"):
                        restored.append(f"{region}:{inner}")
                    elif outcome:
                        problems.append(f"{region}:{inner}: {outcome}")
    report = RestoreReport(path, len(index["files"]), tuple(restored), tuple(kept), tuple(problems))
    log.append(AuditEvent(actor=actor.id, action="dr_restore", target=str(path), outcome="restored", source="dr",
                          details={"restored": len(restored), "problems": problems[:50], **identity_details(actor)}))
    return report


def restore_config(mesh_file: Path, path: Path) -> list[str]:
    """Bring back a lost ``mesh.toml`` and a lost ``mesh.approvals.jsonl`` (the council's
    approvals, without which a mesh the council approved does not load) from a verified backup,
    so the mesh can load again; then :func:`restore` the rest. Returns the names restored."""
    lost = [name for name in ("mesh.toml", APPROVALS_FILE) if not (mesh_file.parent / name).exists()]
    if not lost:
        raise BackupError("mesh.toml and mesh.approvals.jsonl exist; restore keeps the current files",
                          where=str(mesh_file), fix="run `mesh dr restore` for the rest of the backup")
    index = verify_backup(mesh_file.parent / ".mesh", path)
    restored = [name for name in lost if name in index["files"]]
    for name in restored:
        atomic_write(mesh_file.parent / name, (path / name).read_bytes())
    return restored


def _unwritten(exc: OSError, dest: Path) -> BackupError:
    """The error of a backup whose write failed: on a full disk it says so and names the file."""
    if not is_disk_full(exc):
        return BackupError(f"the backup could not be written ({exc.strerror or exc}); nothing of it was kept",
                           where=str(dest), fix="check that the folder is writable, or write the backup elsewhere "
                                                "(mesh dr backup --to DIR); earlier backups are untouched")
    at = f" writing {exc.filename}" if exc.filename else ""
    return BackupError(f"the backup could not be written: {disk_full_reason(exc)}{at}; nothing of it was kept",
                       where=str(dest), fix=f"free space on the disk that holds {dest.parent} (df {dest.parent}), "
                                            "then run it again, or write the backup elsewhere (mesh dr backup "
                                            "--to DIR); earlier backups are untouched")


def _region_root(mesh: Mesh, region: str) -> StorageRoot:
    return mesh.store(region).root


class _RegionUnreadable(Exception):
    """A region's manifests could not be listed or read (not: the backup could not be written)."""


def _copy_manifests(region: Callable[[], StorageRoot], dest: Path) -> int:
    """Copy every manifest and ``CURRENT`` of the ``region``'s root under ``dest``. A failure to
    open or read the region is :class:`_RegionUnreadable`; a failure to write the copy is the
    ``OSError``, with the file it was writing."""
    count = 0
    try:
        root = region()
        files = list(root.walk_files(root.root))
    except Exception as exc:  # any storage failure: the region cannot be listed now
        raise _RegionUnreadable(str(exc)) from exc
    for file in files:
        name = file.rsplit("/", 1)[-1]
        if name not in (MANIFEST, CURRENT) or "/.staging/" in file:
            continue
        try:
            data = root.read_bytes(file)
        except Exception as exc:  # as above
            raise _RegionUnreadable(str(exc)) from exc
        target = dest / file[len(root.root) + 1:]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:  # a full disk says ENOSPC without a name
            if exc.filename is None and exc.errno is not None:
                raise OSError(exc.errno, exc.strerror, str(target)) from exc
            raise
        count += name == MANIFEST
    return count


def _restore_keys(mesh: Mesh, backup_path: Path, rels: list[str], restored: list[str], problems: list[str]) -> None:
    """Bring back each wrapped data key that is missing, and each tokenization key whose
    fingerprint differs from the backup's (with its recorded fingerprint); the differing
    current file is kept beside it as evidence."""
    keyring = governed(mesh).keyring
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}"
    for rel in rels:
        source, target = backup_path / rel, mesh.state_dir / rel
        note = rel
        if target.exists():
            if not (target.name.startswith("tokenize-") and target.suffix == ".json"):
                continue
            try:
                wanted = keyring.fingerprint_of(source)
            except MeshError as exc:
                problems.append(f"{rel}: the backup's key cannot be checked: {exc}")
                continue
            if _fingerprint_or_none(keyring, target) == wanted:
                continue
            for current in (target, target.with_suffix(".fingerprint")):
                if current.exists():
                    os.replace(current, current.with_name(f"{current.name}.before-restore-{stamp}"))
            fingerprint_rel = rel.removesuffix(".json") + ".fingerprint"
            if (backup_path / fingerprint_rel).exists():
                _copy_key(backup_path / fingerprint_rel, mesh.state_dir / fingerprint_rel)
            note = f"{rel} (differed from the backup; the current file was kept as {target.name}.before-restore-{stamp})"
        _copy_key(source, target)
        restored.append(note)


def _fingerprint_or_none(keyring: Keyring, path: Path) -> str | None:
    try:
        return keyring.fingerprint_of(path)
    except (MeshError, ValueError, KeyError, TypeError):  # unreadable or foreign: it differs
        return None


def _copy_key(source: Path, target: Path) -> None:
    """Whole or not at all, owner-only from the start: a key file cut short by a full disk would
    be taken for the restored key by the next run."""
    atomic_write(target, source.read_bytes(), mode=0o600)


def _restore_pointer(root: StorageRoot, source: Path, inner: str) -> str:
    """Restore one manifest or CURRENT pointer if it is missing and its data is intact."""
    path = root.path(inner)
    if root.exists(path):
        return ""
    if inner.endswith(CURRENT):
        version = load_json(source.read_bytes())["version"]
        if not root.exists(root.path(inner.rsplit("/", 1)[0], version, MANIFEST)):
            return f"points at version {version}, which is not here"
        root.write_atomic(path, source.read_bytes())
        return "restored"
    manifest = Manifest.from_json(source.read_bytes())
    data = path.rsplit("/", 1)[0] + "/data.parquet"
    if not root.exists(data):
        return "data missing (replicate it back, or fail over to a region that holds it)"
    try:
        algorithm = algorithm_of(manifest.checksum)
    except UnknownChecksumAlgorithm as exc:
        return f"{exc}; not restored"
    try:
        checksum = root.checksum(data, algorithm)
    except NotRegularFile as exc:  # a link, a device or a FIFO: never read (see assets.storage.filesystem)
        return f"data is {exc.strerror}; not restored"
    if checksum != manifest.checksum:
        return "data does not match the manifest's checksum; not restored"
    root.write_atomic(path, source.read_bytes())
    return "restored"


def _restore_audit(log: AuditLog, backup_folder: Path, backup_size: int, state_dir: Path) -> tuple[bool, str]:
    """Bring the audit log back if it is missing or fails verification; keep a good current one
    (a replaced one is kept in a folder beside the audit folder, as evidence)."""
    current = log.verify() if log.storage.size() else None
    if current is not None and current.ok and current.records >= backup_size:
        backed_up = _last_hash(AuditLog(backup_folder, log.signer), backup_size)
        if _last_hash(log, backup_size) == backed_up:
            return False, f"audit log ({current.records} records, verifies, and extends the backup's {backup_size})"
    aside = state_dir / f"audit.before-restore-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    log.storage.replace_with(backup_folder, aside)
    kept = f"; the damaged log was kept in {aside}" if aside.exists() else ""
    return True, f"audit log ({backup_size} records){kept}"


def _last_hash(log: AuditLog, count: int) -> str | None:
    """The hash of record ``count - 1`` of ``log``: equal in two logs when one extends the other."""
    return next((r.hash for r in log.records() if r.seq == count - 1), None)


def file_digest(path: Path) -> str:
    """The SHA-256 (hex) of a file, as a backup's index lists it."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
