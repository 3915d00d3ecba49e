"""What every report section shares: plain entries that turn into dicts, and the audit records
a report reads (every record up to the signed tree head it covers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from governance.audit import AuditRecord
from governance.reports.period import Period


def plain(value: Any) -> Any:
    """``value`` with dataclasses, tuples and mappings turned into JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Entry:
    """A frozen dataclass of a report: :meth:`to_dict` gives the JSON the report holds."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = plain(self)
        return data


@dataclass(frozen=True, slots=True)
class Evidence:
    """The audit records up to the tree head a report covers, and the period it reports on."""

    records: Sequence[AuditRecord]
    period: Period

    def in_period(self, *actions: str) -> Iterator[AuditRecord]:
        """The records of the period, of ``actions`` if given."""
        for record in self.records:
            if (not actions or record.action in actions) and self.period.contains(record.at):
                yield record

    def of(self, *actions: str) -> Iterator[AuditRecord]:
        """Every record of ``actions``, before and in the period (to know what came before)."""
        for record in self.records:
            if record.action in actions and record.at < self.period.end.isoformat():
                yield record
