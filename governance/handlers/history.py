"""The ``history`` handler: records each asset update in the run history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from assets.events import AssetUpdate
from governance.history import RunHistory


@dataclass(frozen=True, slots=True)
class HistoryHandler:
    """Writes every update to :class:`RunHistory`; a replayed update is a no-op."""

    history: RunHistory
    kind: ClassVar[str] = "history"

    def handle(self, update: AssetUpdate) -> str:
        new = self.history.record(update)
        verb = "recorded" if new else "already recorded"
        return f"{verb} {update.key} version {update.version} ({update.source})"
