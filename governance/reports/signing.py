"""Signed reports: the report's JSON, signed with the audit log's Ed25519 key, and the check
that a report file is authentic and that the audit records it covers are still in the log.

A report travels as JSON, HTML or PDF; each carries the same envelope::

    {"format": "acme-mesh/compliance-report/v1", "report": {...},
     "signature": {"algorithm": "ed25519", "key_id": "...", "value": "<hex>"}}

signed over the canonical JSON of ``format`` and ``report``. Checking a report file is
:mod:`governance.reports.verification`. HTML holds it in a
``<script type="application/json" id="mesh-signed-report">`` element, PDF as the attached file
``mesh-report.json``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets.errors import MeshError
from assets.mesh import Mesh
from assets.named_files import TooLarge, read_named_file
from assets.stored_json import load_json
from governance.audit.lines import canonical
from governance.keys.local import public_key_id
from governance.reports.records import Entry
from governance.services import governed

FORMAT = "acme-mesh/compliance-report/v1"
SCRIPT_ID = "mesh-signed-report"
ATTACHMENT = "mesh-report.json"
#: The most a PDF's attached report may inflate to: a report is kilobytes; more is a zip bomb.
MAX_ATTACHMENT = 64 * 1024 * 1024
#: The most a report file may hold: a report `mesh report compliance` writes is kilobytes to a few
#: MB (a PDF with its charts); a larger file is refused before it is read into memory.
MAX_REPORT_BYTES = 64 * 1024 * 1024
#: What to do with a file that holds no signed report.
NOT_A_REPORT_FIX = "verify the .json, .html or .pdf that `mesh report compliance` wrote"


class ReportError(MeshError):
    """A report file that cannot be read as a signed report."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedReport(Entry):
    report: Mapping[str, Any]
    key_id: str
    signature: str
    format: str = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "report": dict(self.report),
                "signature": {"algorithm": "ed25519", "key_id": self.key_id, "value": self.signature}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> SignedReport:
        try:
            signature, report = data["signature"], data["report"]
            if not isinstance(report, Mapping) or not isinstance(signature, Mapping):
                raise TypeError("report and signature are objects")
            return cls(report=report, key_id=str(signature["key_id"]), signature=str(signature["value"]),
                       format=str(data["format"]))
        except (KeyError, TypeError):
            raise ReportError("the file holds no signed report (format, report, signature)", where=where,
                              fix=NOT_A_REPORT_FIX) from None


def signed_payload(fmt: str, report: Mapping[str, Any]) -> bytes:
    """The bytes a report's signature covers: the canonical JSON of ``format`` and ``report``."""
    return canonical({"format": fmt, "report": json.loads(json.dumps(report, default=str))})


def sign_report(mesh: Mesh, report: Entry) -> SignedReport:
    """``report`` signed with the audit log's key."""
    signer = governed(mesh).audit.signer
    data = json.loads(json.dumps(report.to_dict(), default=str))
    return SignedReport(report=data, key_id=public_key_id(signer.public_key()),
                        signature=signer.sign(signed_payload(FORMAT, data)).hex())


def load_signed(path: Path) -> SignedReport:
    """The signed report a ``.json``, ``.html`` or ``.pdf`` file carries."""
    where = str(path)
    raw = read_report(path)
    text: bytes | None = None
    if raw.startswith(b"%PDF"):
        text = _pdf_attachment(raw, where)
    elif b'id="' + SCRIPT_ID.encode() + b'"' in raw:
        match = re.search(rb'<script type="application/json" id="' + SCRIPT_ID.encode() + rb'">(.*?)</script>',
                          raw, re.S)
        text = match.group(1).replace(b"<\\/", b"</") if match else None
    else:
        text = raw.decode("utf-8", errors="replace").encode()
    try:
        data = load_json(text) if text is not None else None
    except ValueError:  # not UTF-8, not JSON, or nested too deeply
        data = None
    if not isinstance(data, dict):
        raise ReportError("the file holds no signed report", where=where, fix=NOT_A_REPORT_FIX)
    return SignedReport.from_dict(data, where)


def read_report(path: Path) -> bytes:
    """The bytes of the report file ``path``, refused unread above :data:`MAX_REPORT_BYTES`
    (with :class:`ReportError` naming the file and the fix), as is a file that cannot be read."""
    where = str(path)
    try:
        return read_named_file(path, MAX_REPORT_BYTES)
    except TooLarge:
        raise ReportError(f"the file holds more than {MAX_REPORT_BYTES // 2**20} MB, more than any report the mesh "
                          "writes, so it was not read", where=where, fix=NOT_A_REPORT_FIX) from None
    except OSError as exc:
        raise ReportError(f"cannot read the report: {exc.strerror}", where=where, fix="name an existing file") from None


def _pdf_attachment(raw: bytes, where: str) -> bytes | None:
    """The attached ``mesh-report.json`` of a PDF WeasyPrint wrote (its streams are Flate or raw)."""
    for match in re.finditer(rb"/Type\s*/EmbeddedFile(.*?)stream\r?\n", raw, re.S):
        start = match.end()
        end = raw.find(b"endstream", start)
        data = raw[start:end].rstrip(b"\r\n")
        if b"/FlateDecode" in match.group(1):
            try:
                data = _inflate(data, where)
            except zlib.error:
                continue
        if FORMAT.encode() in data:
            return data
    return None


def _inflate(data: bytes, where: str) -> bytes:
    """``data`` decompressed, refused past :data:`MAX_ATTACHMENT` bytes rather than filling memory."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_ATTACHMENT)
    if inflater.unconsumed_tail:
        raise ReportError(f"the PDF's attached report inflates to more than {MAX_ATTACHMENT // 2**20} MB: it is "
                          "not one the mesh wrote", where=where, fix=NOT_A_REPORT_FIX)
    return out
