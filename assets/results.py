"""What a run reports: one :class:`AssetResult` per asset, gathered in a :class:`RunResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from assets.events import HandlerOutcome
from assets.gate import GateReport
from assets.storage import Manifest


class Status(StrEnum):
    MATERIALIZED = "materialized"
    GATE_FAILED = "gate_failed"
    ERROR = "error"
    SKIPPED = "skipped"
    #: The output was identical to the current version: nothing was published (or, downstream of
    #: such an asset, its inputs did not change and it did not run). ``manifest`` is the current one.
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetResult:
    """The outcome of one asset in one run.

    ``manifest`` is set when it materialized; ``gate`` when its gate ran; ``error`` says
    what failed (or, for a skip, which upstream failed); ``quarantine`` is where rejected
    data went; ``handlers`` says what each update handler did after the publish.
    ``transient`` marks an error a retry may fix (see :mod:`assets.retrying`); ``attempts``
    counts the tries the result comes from. ``note`` says why an :attr:`Status.UNCHANGED`
    result published nothing. ``ok`` holds for a publish and for an unchanged result;
    ``published`` only for a publish.
    """

    key: str
    status: Status
    manifest: Manifest | None = None
    gate: GateReport | None = None
    error: str | None = None
    quarantine: str | None = None
    seconds: float = 0.0
    handlers: tuple[HandlerOutcome, ...] = ()
    transient: bool = False
    attempts: int = 1
    note: str | None = None
    #: The partition this result is of (``None``: an unpartitioned asset).
    partition: str | None = None
    #: The version ``CURRENT`` named before this run published (a publish only; ``None``: none),
    #: so that a publish whose audit record cannot be written is undone without reading it again.
    replaced: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (Status.MATERIALIZED, Status.UNCHANGED)

    @property
    def published(self) -> bool:
        """Whether this run published a new version."""
        return self.status is Status.MATERIALIZED

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, **({"partition": self.partition} if self.partition is not None else {}),
            "status": str(self.status), "seconds": round(self.seconds, 3), "attempts": self.attempts,
            "version": self.manifest.version if self.manifest else None,
            "rows": self.manifest.rows if self.manifest else None,
            "error": self.error, "quarantine": self.quarantine, "note": self.note,
            "failed_checks": [{"column": f.column, "check": f.check, "rows": f.rows}
                              for f in (self.gate.failures if self.gate else ())],
            "warnings": [{"column": w.column, "check": w.check, "rows": w.rows}
                         for w in (self.gate.warnings if self.gate else ())],
            "handlers": [{"kind": h.kind, "ok": h.ok, "message": h.message} for h in self.handlers],
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """Every asset's result in one run, in the order they finished."""

    run_id: str
    results: Mapping[str, AssetResult] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results.values())

    def __getitem__(self, key: str) -> AssetResult:
        return self.results[key]

    def by_status(self, status: Status) -> list[str]:
        return [k for k, r in self.results.items() if r.status is status]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "ok": self.ok,
                "assets": [r.to_dict() for r in self.results.values()]}
