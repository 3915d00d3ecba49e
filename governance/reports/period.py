"""The time a report covers: a quarter (``2026-Q4``) or a month (``2026-11``), in UTC."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from assets.errors import ConfigError

_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])\Z")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])\Z")


def _expected(option: str) -> tuple[str, str]:
    """What ``option`` takes, and how to write it."""
    if option == "--month":
        return "month", "write a month like 2026-11"
    return "quarter or month", "write a quarter like 2026-Q4 or a month like 2026-11"


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in UTC, named ``label``."""

    label: str
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ConfigError(f"period {self.label} ends before it starts", where="period",
                              fix="name a quarter (2026-Q4) or a month (2026-11)")

    @classmethod
    def parse(cls, text: str, *, option: str = "--period") -> Period:
        """``2026-Q4`` or ``2026-11``; a clear error otherwise."""
        try:
            return cls._parse(text, option)
        except (ValueError, OverflowError) as exc:  # a month 13, a year 0 or past 9999
            what, fix = _expected(option)
            raise ConfigError(f"{option} {text!r} is not a real {what} ({exc})", where=option, fix=fix) from None

    @classmethod
    def _parse(cls, text: str, option: str) -> Period:
        if match := _QUARTER.match(text.strip()):
            year, quarter = int(match.group(1)), int(match.group(2))
            start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=dt.UTC)
            end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC) if quarter == 4 else \
                dt.datetime(year, 3 * quarter + 1, 1, tzinfo=dt.UTC)
            return cls(text.strip(), start, end)
        if match := _MONTH.match(text.strip()):
            return cls.month(int(match.group(1)), int(match.group(2)))
        what, fix = _expected(option)
        raise ConfigError(f"{option} {text!r} is not a {what}", where=option, fix=fix)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        end = start + dt.timedelta(days=calendar.monthrange(year, month)[1])
        return cls(f"{year:04d}-{month:02d}", start, end)

    @classmethod
    def containing(cls, when: dt.datetime, *, quarter: bool = True) -> Period:
        """The quarter (or month) ``when`` falls in."""
        if quarter:
            return cls.parse(f"{when.year}-Q{(when.month - 1) // 3 + 1}")
        return cls.month(when.year, when.month)

    def contains(self, at: str | dt.datetime) -> bool:
        """Whether the time ``at`` (an ISO string as audit records hold) falls in the period."""
        when = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return self.start <= when < self.end

    def days(self) -> list[dt.date]:
        """Every day of the period."""
        count = (self.end - self.start).days
        return [self.start.date() + dt.timedelta(days=i) for i in range(count)]

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}
