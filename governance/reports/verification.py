"""Checking a signed report file: its signature with the mesh's pinned audit key, an HTML page
against the signed JSON it carries, and the audit records it covers against the log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from assets.mesh import Mesh
from governance.reports.integrity import recheck
from governance.reports.records import Entry
from governance.reports.render import render_html
from governance.reports.signing import (
    FORMAT,
    NOT_A_REPORT_FIX,
    ReportError,
    SignedReport,
    load_signed,
    read_report,
    signed_payload,
)
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
        if render_html(signed).encode() != read_report(path):
            problems.append("the page differs from the signed report it carries: what it shows was edited (the "
                            "signed JSON inside is intact; verify it as JSON to see what was signed), or another "
                            "version of the mesh wrote it")
    head, covered = _integrity(signed, str(path))
    if not head:
        problems.append("the report names no signed tree head")
    elif not problems:
        problems += recheck(log, head, covered)
    period = signed.report.get("period")
    label = period.get("label", "?") if isinstance(period, dict) else "?"
    return ReportCheck(file=str(path), period=str(label), records_covered=len(covered),
                       tree_head_size=head.get("size", 0), problems=tuple(problems))


def _integrity(signed: SignedReport, where: str) -> tuple[dict[str, Any], list[Any]]:
    """The report's signed tree head and the ``[seq, hash]`` pairs it covers; :class:`ReportError`
    if they are not an object with an integer size and a list of pairs."""
    integrity = signed.report.get("integrity") or {}
    head = integrity.get("tree_head") or {} if isinstance(integrity, dict) else None
    covered = integrity.get("covered") or [] if isinstance(integrity, dict) else None
    if not isinstance(head, dict) or not isinstance(head.get("size", 0), int) or not isinstance(covered, list) \
            or not all(isinstance(c, list) and len(c) == 2 and isinstance(c[0], int) for c in covered):
        raise ReportError("the report's integrity section is malformed (tree_head needs an integer size, covered "
                          "a list of [seq, hash])", where=where, fix=NOT_A_REPORT_FIX)
    return head, covered
