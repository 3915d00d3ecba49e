"""The council's approvals of trust, kept beside ``mesh.toml`` in ``mesh.approvals.jsonl``.

One line per approved snapshot of the trust sections (``governance.policy.trust``), oldest
first, each naming the digest of the one before it; the last line may be a change still
collecting signatures. A signature is an Ed25519 signature over :func:`approval_payload`,
which names the mesh, so an approval cannot be carried to another mesh. The file travels with
``mesh.toml`` (commit both); forging a line needs the council's keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assets.atomic import atomic_write
from assets.errors import ConfigError
from governance.policy import digest_of
from assets.stored_json import load_json

#: The file's name, beside ``mesh.toml``.
APPROVALS_FILE = "mesh.approvals.jsonl"
#: Domain separation: an approval signature can never be mistaken for another signed message.
PAYLOAD_TYPE = "acme-mesh/trust-approval/v1"
_MAX_LINE = 1_000_000
#: The most a whole approvals file may hold: hundreds of thousands of approved changes, yet a file
#: grown by a hostile writer (or a runaway script) is refused before it is read into memory.
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustApproval:
    """One snapshot of the trust sections, the approved digest it follows, and its signatures."""

    digest: str
    previous: str | None
    snapshot: Mapping[str, Any]
    signatures: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if digest_of(self.snapshot) != self.digest:
            raise ValueError("the snapshot's digest is not the digest recorded with it")

    def signed(self, email: str, signature: str) -> TrustApproval:
        """This approval with ``email``'s signature added (or replaced)."""
        return TrustApproval(digest=self.digest, previous=self.previous, snapshot=self.snapshot,
                             signatures={**self.signatures, email: signature})

    def line(self) -> str:
        return json.dumps({"digest": self.digest, "previous": self.previous, "snapshot": self.snapshot,
                           "signatures": dict(sorted(self.signatures.items()))},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def approval_payload(mesh: str, digest: str, previous: str | None) -> bytes:
    """The exact bytes a council member signs to approve the snapshot ``digest`` of ``mesh``."""
    body = {"type": PAYLOAD_TYPE, "mesh": mesh, "digest": digest, "previous": previous}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def approvals_path(root: Path) -> Path:
    return root / APPROVALS_FILE


def read_approvals(root: Path) -> tuple[TrustApproval, ...]:
    """Every line of ``mesh.approvals.jsonl`` at ``root``, oldest first; none when there is no
    file. A line that cannot be read is a :class:`ConfigError` naming it."""
    path = approvals_path(root)
    try:
        with path.open("rb") as fh:
            too_large = os.fstat(fh.fileno()).st_size > MAX_FILE_BYTES
            data = b"" if too_large else fh.read(MAX_FILE_BYTES + 1)  # bounded: it may grow while read
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise ConfigError(f"cannot read the council's approvals: {exc.strerror}", where=str(path),
                          fix="make the file readable by this user") from None
    if too_large or len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"the file holds more than {MAX_FILE_BYTES // 2**20} MB, more than any council approves",
                          where=str(path),
                          fix="rebuild it from the audit log: `mesh policy recover --as EMAIL` (a holder of "
                              "approve_policy); it is written only by `mesh policy approve`")
    return tuple(_entry(line, path, n) for n, line in enumerate(data.splitlines(), 1) if line.strip())


def write_approvals(root: Path, approvals: Sequence[TrustApproval]) -> None:
    """Replace ``mesh.approvals.jsonl`` atomically: readers see the old file or the new one."""
    atomic_write(approvals_path(root), "".join(a.line() + "\n" for a in approvals).encode())


def _entry(line: bytes, path: Path, n: int) -> TrustApproval:
    where = f"{path}:{n}"
    fix = "rebuild it from the audit log: `mesh policy recover --as EMAIL` (a holder of approve_policy); it is " \
          "written only by `mesh policy approve`"
    if len(line) > _MAX_LINE:
        raise ConfigError("the line is too long to be an approval", where=where, fix=fix)
    try:
        body = load_json(line)
    except (UnicodeDecodeError, json.JSONDecodeError):  # not UTF-8, not JSON, or nested too deeply
        raise ConfigError("the line is not JSON", where=where, fix=fix) from None
    except ValueError as exc:  # JSON that Python refuses to read: an integer of thousands of digits
        raise ConfigError(f"the line cannot be read ({exc})", where=where, fix=fix) from None
    if not isinstance(body, dict):
        raise ConfigError("the line is not a JSON object", where=where, fix=fix)
    digest, previous, snapshot, signatures = (body.get(k) for k in ("digest", "previous", "snapshot", "signatures"))
    if not isinstance(digest, str) or not (previous is None or isinstance(previous, str)) \
            or not isinstance(snapshot, dict) or not isinstance(signatures, dict) \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in signatures.items()):
        raise ConfigError("the line lacks a digest, previous, snapshot or signatures of the right types",
                          where=where, fix=fix)
    try:
        return TrustApproval(digest=digest, previous=previous, snapshot=snapshot, signatures=signatures)
    except ValueError as exc:
        raise ConfigError(f"{exc} (the snapshot was altered)", where=where, fix=fix) from None
