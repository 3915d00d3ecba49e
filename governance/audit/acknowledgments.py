"""Acknowledged losses: witnessed tree heads the council accepts the local log no longer matches.

After a deliberate ``mesh dr restore`` of an older audit log, the witness still holds the heads
it saw before, so ``mesh audit verify`` keeps reporting the records after the backup as deleted.
That is true, and it must stay visible, but it must not fail every later check. A person allowed
to operate DR acknowledges the loss with ``mesh audit acknowledge-loss --reason TEXT``: their own
Ed25519 key (registered in ``[people]``, not the audit key the local writer holds) signs the exact
heads that no longer match, and the acknowledgment is written beside the heads in every region's
witness (``_witness/audit/acknowledged.jsonl``) and recorded in the log. Verification then skips
those heads, and only those, and says which records were lost, when and by whose word.

A forged acknowledgment (no signature, a signature by someone without the permission, or one
over other heads) acknowledges nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governance.audit.lines import canonical
from governance.identity.keys import verify_text
from assets.stored_json import load_json

#: Domain separation: an acknowledgment signature can never be taken for another signed message.
PAYLOAD_TYPE = "acme-mesh/audit-loss-acknowledgment/v1"
FILE = ("_witness", "audit", "acknowledged.jsonl")

#: The public key (``ed25519:...`` text) of a person who may acknowledge a loss, or ``None``.
Acknowledgers = Callable[[str], "str | None"]


def payload(heads: Sequence[Mapping[str, Any]], by: str, reason: str, at: str) -> bytes:
    """The exact bytes the acknowledging person signs."""
    return canonical({"type": PAYLOAD_TYPE, "heads": [json.loads(canonical(h)) for h in heads], "by": by,
                      "reason": reason, "at": at})


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """``by`` accepts that the local log no longer matches ``heads``, for ``reason``."""

    heads: tuple[Mapping[str, Any], ...]
    by: str
    reason: str
    at: str
    signature: str

    def __post_init__(self) -> None:
        if not self.heads or not self.by or not self.reason.strip():
            raise ValueError("an acknowledgment names heads, who acknowledges and why")

    @classmethod
    def make(cls, heads: Sequence[Mapping[str, Any]], by: str, reason: str, sign: Callable[[bytes], str]
             ) -> Acknowledgment:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(tuple(heads), by, reason, at, sign(payload(heads, by, reason, at)))

    def to_line(self) -> bytes:
        return canonical({"heads": list(self.heads), "by": self.by, "reason": self.reason, "at": self.at,
                          "signature": self.signature}) + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> Acknowledgment | None:
        """The acknowledgment on ``line``, or ``None`` when it is not one."""
        try:
            data = load_json(line)
            heads = data["heads"]
            if not isinstance(heads, list) or not all(isinstance(h, dict) for h in heads):
                return None
            fields = data["by"], data["reason"], data["at"], data["signature"]
            if not all(isinstance(f, str) for f in fields):
                return None
            return cls(tuple(heads), *fields)
        except (ValueError, KeyError, TypeError):
            return None

    def valid(self, acknowledgers: Acknowledgers) -> bool:
        key = acknowledgers(self.by)
        return key is not None and verify_text(key, payload(self.heads, self.by, self.reason, self.at),
                                               self.signature)


def acknowledged_heads(found: Sequence[Acknowledgment], acknowledgers: Acknowledgers) -> dict[bytes, Acknowledgment]:
    """The canonical form of every head a valid acknowledgment covers, with that acknowledgment."""
    covered: dict[bytes, Acknowledgment] = {}
    for ack in found:
        if ack.valid(acknowledgers):
            covered.update({canonical(head): ack for head in ack.heads})
    return covered


def parse_all(raw: bytes) -> list[Acknowledgment]:
    return [ack for line in raw.splitlines() if (ack := Acknowledgment.parse(line)) is not None]
