"""Checking a signed report file: its signature with the mesh's pinned audit key, an HTML page
against the signed JSON it carries, and the audit records it covers against the log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from assets.mesh import Mesh
from governance.reports.integrity import recheck
from governance.reports.records import Entry
from governance.reports.render import render_html
from governance.reports.signing import FORMAT, load_signed, signed_payload
from governance.services import governed


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportCheck(Entry):
    """The outcome of :func:`verify_report`: ``problems`` name what differs."""

    file: str
    period: str
    records_covered: int
    tree_head_size: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_report(mesh: Mesh, path: Path) -> ReportCheck:
    """Check ``path``'s signature with the mesh's pinned audit key, and recompute from the log
    that the tree head and the records it covers are still there, unchanged."""
    signed = load_signed(path)
    log = governed(mesh).audit
    public = log.trusted_key()
    problems: list[str] = []
    if signed.format != FORMAT:
        problems.append(f"unknown report format {signed.format!r}")
    try:
        public.verify(bytes.fromhex(signed.signature), signed_payload(signed.format, signed.report))
    except (InvalidSignature, ValueError):
        problems.append("the report's signature does not verify with the audit key: the report was altered "
                        "or signed by another key")
    if not problems and path.suffix.lower() in (".html", ".htm"):
        if render_html(signed).encode() != path.read_bytes():
            problems.append("the page differs from the signed report it carries: what it shows was edited (the "
                            "signed JSON inside is intact; verify it as JSON to see what was signed), or another "
                            "version of the mesh wrote it")
    integrity = signed.report.get("integrity") or {}
    head, covered = integrity.get("tree_head") or {}, integrity.get("covered") or []
    if not head:
        problems.append("the report names no signed tree head")
    elif not problems:
        problems += recheck(log, head, covered)
    period = signed.report.get("period") or {}
    return ReportCheck(file=str(path), period=str(period.get("label", "?")), records_covered=len(covered),
                       tree_head_size=int(head.get("size", 0)), problems=tuple(problems))
