"""Partition definitions: how an asset is split into pieces that are gated, versioned and published
on their own.

Declaring (frozen values, validated when made; no I/O, no polars)::

    from assets.partitions import daily, hourly, weekly, monthly, static, multi

    daily(start="2026-01-01")                       # keys "2026-01-01", "2026-01-02", ...
    hourly(start="2026-01-01T00")                   # keys "2026-01-01T05"
    weekly(start="2026-01-05")                      # keys "2026-01-05-W02" (the Monday, its ISO week)
    monthly(start="2026-01")                        # keys "2026-01"
    static(["eu", "us"])                            # keys "eu", "us"
    multi(date=daily(start="2026-01-01"), region=static(["eu", "us"]))   # keys "2026-01-01+eu"

Key format: every key is a safe single folder name (letters, digits, ``-``, ``_``, ``+``; no
``/``, ``.`` or space), which is the partition's folder in storage
(``<domain>/<asset>/<partition>/<version>/``). Time keys sort in time order. A two-dimension key
joins its parts with ``+`` in the order the dimensions were declared (``+`` never appears in a
static key). Time is UTC. ``end`` is the last partition (inclusive); ``None`` leaves it open.

The same formats are Airflow partition-key formats (``%Y-%m-%dT%H``, ``%Y-%m-%d``,
``%Y-%m-%d-W%V``, ``%Y-%m``; ``ProductMapper(delimiter="+")``), so keys on Asset events are these
keys.

How an input's partitions map to the asset's is declared per input (:mod:`assets.partition_mapping`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from assets.errors import DefinitionError, PartitionKeyError, did_you_mean
from assets.names import NAME

Unit: TypeAlias = Literal["hour", "day", "week", "month"]
#: Units from finest to coarsest: a roll-up goes from an earlier one to a later one.
UNITS: tuple[Unit, ...] = ("hour", "day", "week", "month")
#: Joins the parts of a two-dimension key; never part of a static key.
DELIMITER = "+"
#: The longest key accepted anywhere (a folder name stays well under file-system limits).
MAX_KEY = 80
#: The most partitions one range may hold (about 11 years of hours, 270 years of days).
MAX_RANGE = 100_000

_STATIC_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_KEY_RE: dict[Unit, re.Pattern[str]] = {
    "hour": re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2})\Z"),
    "day": re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})\Z"),
    "week": re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})-W([0-9]{2})\Z"),
    "month": re.compile(r"^([0-9]{4})-([0-9]{2})\Z"),
}
_EXAMPLE: dict[Unit, str] = {"hour": "2026-01-01T05", "day": "2026-01-01", "week": "2026-01-05-W02",
                             "month": "2026-01"}
#: The strftime format of each unit's keys (Airflow's partition-key format).
KEY_FORMATS: dict[Unit, str] = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "week": "%Y-%m-%d-W%V", "month": "%Y-%m"}
#: When each unit's next partition begins, as cron (what schedules a partitioned root's runs).
CRONS: dict[Unit, str] = {"hour": "0 * * * *", "day": "0 0 * * *", "week": "0 0 * * 1", "month": "0 0 1 * *"}


class Partitions(ABC):
    """What every partition definition answers. Subclasses: :class:`TimePartitions`,
    :class:`StaticPartitions`, :class:`MultiPartitions`."""

    kind: ClassVar[str]

    @abstractmethod
    def keys(self, until: dt.datetime | dt.date | str | None = None) -> tuple[str, ...]:
        """Every key, in order; time partitions stop at the one containing ``until``
        (a datetime, date or key; default now, UTC) or at ``end``."""
        ...

    @abstractmethod
    def keys_between(self, first: str | dt.date | dt.datetime, last: str | dt.date | dt.datetime) -> tuple[str, ...]:
        """The keys from the one containing ``first`` to the one containing ``last`` (both
        included), in order. A two-dimension definition takes its time dimension's bounds."""
        ...

    @abstractmethod
    def validate(self, key: str) -> str:
        """``key`` if it is a key of this definition; else :class:`PartitionKeyError` naming the
        format. Never raises anything else, whatever ``key`` holds."""
        ...

    def contains(self, key: str) -> bool:
        """Whether ``key`` is a key of this definition."""
        try:
            self.validate(key)
        except PartitionKeyError:
            return False
        return True

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A plain JSON value; :func:`partitions_from_dict` reads it back."""
        ...

    @abstractmethod
    def describe(self) -> str:
        """One line for people: ``daily from 2026-01-01``."""
        ...


@dataclass(frozen=True, slots=True)
class TimePartitions(Partitions):
    """One partition per hour, day, ISO week (Monday to Sunday) or month, from ``start`` (the
    first partition's start) to ``end`` (the last partition's start, or open), in UTC."""

    unit: Unit
    start: dt.datetime
    end: dt.datetime | None = None
    kind: ClassVar[str] = "time"

    def __post_init__(self) -> None:
        where = f"{_ADJECTIVE.get(self.unit, self.unit)}(...)"
        if self.unit not in UNITS:
            raise DefinitionError(f"unknown partition unit {self.unit!r}", where=where,
                                  fix=f"use one of {', '.join(UNITS)}. " + did_you_mean(str(self.unit), UNITS))
        for name, value in (("start", self.start), ("end", self.end)):
            if value is None:
                continue
            if not isinstance(value, dt.datetime) or value.tzinfo is not None:
                raise DefinitionError(f"{name}={value!r} is not a naive UTC datetime", where=where,
                                      fix=f"write {name}='{_EXAMPLE[self.unit]}'")
            if _floor(value, self.unit) != value:
                floor = _floor(value, self.unit)
                shown = f"{floor:%Y-%m-%d}" if self.unit == "week" else _key(floor, self.unit)
                raise DefinitionError(f"{name}={value.isoformat()} is not the start of a {self.unit}", where=where,
                                      fix=f"write {name}='{shown}' (the {self.unit}'s start)")
        if self.end is not None and self.end < self.start:
            raise DefinitionError(f"end {_key(self.end, self.unit)} is before start {_key(self.start, self.unit)}",
                                  where=where, fix="swap them, or leave end=None for an open range")

    # -- keys -----------------------------------------------------------------------------------
    def key_of(self, moment: dt.datetime | dt.date) -> str:
        """The key of the partition containing ``moment`` (whether or not it is in range)."""
        return _key(_floor(_as_datetime(moment), self.unit), self.unit)

    def start_of(self, key: str) -> dt.datetime:
        """The start of partition ``key`` (UTC, naive)."""
        return self._parse(self.validate(key))

    def end_of(self, key: str) -> dt.datetime:
        """The start of the partition after ``key``: ``key`` covers ``[start_of, end_of)``. The
        calendar's last partition (of 9999-12-31) ends at ``datetime.max``."""
        start = self.start_of(key)
        try:
            return _step(start, self.unit, 1)
        except (OverflowError, ValueError):  # past year 9999, as in _range
            return dt.datetime.max

    def shift(self, key: str, n: int) -> str:
        """The key ``n`` partitions after (negative: before) ``key``, in range or not."""
        return _key(_step(self._parse(_checked_format(key, self.unit)), self.unit, n), self.unit)

    def keys(self, until: dt.datetime | dt.date | str | None = None) -> tuple[str, ...]:
        last = self._bound(until) if until is not None else _floor(dt.datetime.now(dt.UTC).replace(tzinfo=None), self.unit)
        return self._range(self.start, last)

    def keys_between(self, first: str | dt.date | dt.datetime, last: str | dt.date | dt.datetime) -> tuple[str, ...]:
        low, high = self._bound(first), self._bound(last)
        if high < low:
            raise PartitionKeyError(f"the range {_key(low, self.unit)} .. {_key(high, self.unit)} is backwards",
                                    where=self.describe(), fix="give the earlier bound first (--from before --to)")
        return self._range(max(low, self.start), high)

    def validate(self, key: str) -> str:
        moment = self._parse(_checked_format(key, self.unit))
        if moment < self.start or (self.end is not None and moment > self.end):
            raise PartitionKeyError(f"partition {key!r} is outside {self.describe()}", where=self.describe(),
                                    fix=f"use a key from {self.first_key} {'to ' + self.last_key if self.last_key else 'on'}")
        return key

    @property
    def first_key(self) -> str:
        return _key(self.start, self.unit)

    @property
    def last_key(self) -> str | None:
        return _key(self.end, self.unit) if self.end is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.unit, "start": self.first_key, "end": self.last_key}

    def describe(self) -> str:
        until = f" to {self.last_key}" if self.end is not None else ""
        return f"{_ADJECTIVE[self.unit]} from {self.first_key}{until}"

    # -- helpers --------------------------------------------------------------------------------
    def _range(self, low: dt.datetime, high: dt.datetime) -> tuple[str, ...]:
        if self.end is not None:
            high = min(high, self.end)
        keys: list[str] = []
        moment = low
        while moment <= high:
            if len(keys) == MAX_RANGE:
                raise PartitionKeyError(
                    f"the range {_key(low, self.unit)} .. {_key(high, self.unit)} holds more than {MAX_RANGE:,} "
                    "partitions", where=self.describe(), fix="split it into shorter ranges")
            keys.append(_key(moment, self.unit))
            try:
                moment = _step(moment, self.unit, 1)
            except (OverflowError, ValueError):  # past year 9999: the range ends with the calendar
                break
        return tuple(keys)

    def _bound(self, value: str | dt.date | dt.datetime) -> dt.datetime:
        if isinstance(value, str):
            return self._parse(_checked_format(value, self.unit)) if _KEY_RE[self.unit].match(value) \
                else _floor(_moment(value, self.unit), self.unit)
        return _floor(_as_datetime(value), self.unit)

    def _parse(self, key: str) -> dt.datetime:
        return _parse_key(key, self.unit)


@dataclass(frozen=True, slots=True)
class StaticPartitions(Partitions):
    """A fixed list of keys, such as regions: ``static(["eu", "us"])``."""

    values: tuple[str, ...]
    kind: ClassVar[str] = "static"

    def __post_init__(self) -> None:
        where = "static([...])"
        if isinstance(self.values, str) or not isinstance(self.values, tuple) or not self.values:
            raise DefinitionError(f"static partitions need a non-empty list of keys, not {self.values!r}", where=where,
                                  fix='write static(["eu", "us"])')
        seen: set[str] = set()
        for value in self.values:
            if not isinstance(value, str) or not _STATIC_KEY.match(value):
                raise DefinitionError(f"static key {value!r} is not a safe folder name", where=where,
                                      fix="use letters, digits, '-' and '_' (starting with a letter or digit, "
                                          "at most 64 characters), like 'eu' or 'us-east'")
            if value in seen:
                raise DefinitionError(f"static key {value!r} is listed twice", where=where, fix="list each key once")
            seen.add(value)

    def keys(self, until: dt.datetime | dt.date | str | None = None) -> tuple[str, ...]:
        return self.values

    def keys_between(self, first: str | dt.date | dt.datetime, last: str | dt.date | dt.datetime) -> tuple[str, ...]:
        low, high = self.values.index(self.validate(str(first))), self.values.index(self.validate(str(last)))
        if high < low:
            raise PartitionKeyError(f"the range {first} .. {last} is backwards", where=self.describe(),
                                    fix=f"the keys are in the order {', '.join(self.values)}")
        return self.values[low:high + 1]

    def validate(self, key: str) -> str:
        if isinstance(key, str) and key in self.values:
            return key
        shown = key[:MAX_KEY] if isinstance(key, str) else key
        hint = did_you_mean(key, self.values) if isinstance(key, str) and len(key) <= MAX_KEY else ""
        raise PartitionKeyError(f"{shown!r} is not a partition of {self.describe()}", where=self.describe(),
                                fix=f"use one of {', '.join(self.values)}. {hint}".strip())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "static", "values": list(self.values)}

    def describe(self) -> str:
        return f"static [{', '.join(self.values)}]"


@dataclass(frozen=True, slots=True)
class MultiPartitions(Partitions):
    """Two dimensions: one of time and one static, named; keys join the parts with ``+`` in the
    declared order (``multi(date=daily(...), region=static([...]))`` -> ``"2026-01-01+eu"``)."""

    dimensions: tuple[tuple[str, TimePartitions | StaticPartitions], ...]
    kind: ClassVar[str] = "multi"

    def __post_init__(self) -> None:
        where = "multi(...)"
        dims = self.dimensions
        if not isinstance(dims, tuple) or len(dims) != 2:
            raise DefinitionError(f"multi partitions take exactly two dimensions, got {len(dims) if isinstance(dims, tuple) else dims!r}",
                                  where=where, fix="write multi(date=daily(start=...), region=static([...]))")
        names = [name for name, _ in dims]
        for name, part in dims:
            if not isinstance(name, str) or not NAME.match(name):
                raise DefinitionError(f"dimension name {name!r} is not lower_snake_case", where=where,
                                      fix="name dimensions like date=..., region=...")
            if not isinstance(part, (TimePartitions, StaticPartitions)):
                raise DefinitionError(f"dimension '{name}' is {part!r}, not daily/hourly/weekly/monthly or static",
                                      where=where, fix="nest only time and static definitions, one of each")
        if names[0] == names[1]:
            raise DefinitionError(f"dimension '{names[0]}' is named twice", where=where, fix="give each its own name")
        if sum(isinstance(p, TimePartitions) for _, p in dims) != 1:
            raise DefinitionError("multi partitions need one time dimension and one static dimension", where=where,
                                  fix="write multi(date=daily(start=...), region=static([...]))")

    @property
    def time(self) -> TimePartitions:
        return next(p for _, p in self.dimensions if isinstance(p, TimePartitions))

    @property
    def static(self) -> StaticPartitions:
        return next(p for _, p in self.dimensions if isinstance(p, StaticPartitions))

    @property
    def time_first(self) -> bool:
        return isinstance(self.dimensions[0][1], TimePartitions)

    def join(self, time_key: str, static_key: str) -> str:
        """The key of the time partition ``time_key`` and the static one ``static_key``."""
        return f"{time_key}{DELIMITER}{static_key}" if self.time_first else f"{static_key}{DELIMITER}{time_key}"

    def split(self, key: str) -> tuple[str, str]:
        """``(time key, static key)`` of a valid key."""
        self.validate(key)
        first, second = key.split(DELIMITER)
        return (first, second) if self.time_first else (second, first)

    def keys(self, until: dt.datetime | dt.date | str | None = None) -> tuple[str, ...]:
        return self._product(self.time.keys(until))

    def keys_between(self, first: str | dt.date | dt.datetime, last: str | dt.date | dt.datetime) -> tuple[str, ...]:
        return self._product(self.time.keys_between(self._time_bound(first), self._time_bound(last)))

    def validate(self, key: str) -> str:
        if not isinstance(key, str) or len(key) > MAX_KEY or key.count(DELIMITER) != 1:
            shown = key[:MAX_KEY] if isinstance(key, str) else key
            raise PartitionKeyError(f"{shown!r} is not a key of {self.describe()}", where=self.describe(),
                                    fix=f"write '<{self.dimensions[0][0]}>{DELIMITER}<{self.dimensions[1][0]}>', "
                                        f"like '{self.example}'")
        first, second = key.split(DELIMITER)
        time_key, static_key = (first, second) if self.time_first else (second, first)
        self.time.validate(time_key)
        self.static.validate(static_key)
        return key

    @property
    def example(self) -> str:
        return self.join(self.time.first_key, self.static.values[0])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "multi", "dimensions": [{"name": n, **p.to_dict()} for n, p in self.dimensions]}

    def describe(self) -> str:
        return " x ".join(f"{name}: {part.describe()}" for name, part in self.dimensions)

    def _product(self, time_keys: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.join(t, s) for t in time_keys for s in self.static.values)

    def _time_bound(self, value: str | dt.date | dt.datetime) -> str | dt.date | dt.datetime:
        if isinstance(value, str) and DELIMITER in value:
            return self.split(value)[0]
        return value


PartitionsDefinition: TypeAlias = TimePartitions | StaticPartitions | MultiPartitions


# -- constructors ---------------------------------------------------------------------------------
def hourly(start: str | dt.datetime = "2026-01-01T00", end: str | dt.datetime | None = None) -> TimePartitions:
    """One partition per hour (UTC): keys ``2026-01-01T05``."""
    return _time("hour", start, end)


def daily(start: str | dt.date = "2026-01-01", end: str | dt.date | None = None) -> TimePartitions:
    """One partition per day (UTC): keys ``2026-01-01``."""
    return _time("day", start, end)


def weekly(start: str | dt.date = "2026-01-05", end: str | dt.date | None = None) -> TimePartitions:
    """One partition per ISO week, Monday to Sunday: keys ``2026-01-05-W02`` (its Monday and week
    number). ``start`` is a Monday."""
    return _time("week", start, end)


def monthly(start: str | dt.date = "2026-01", end: str | dt.date | None = None) -> TimePartitions:
    """One partition per calendar month: keys ``2026-01``."""
    return _time("month", start, end)


def static(values: Sequence[str]) -> StaticPartitions:
    """A fixed list of keys: ``static(["eu", "us"])``."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise DefinitionError(f"static partitions need a list of keys, not {values!r}", where="static([...])",
                              fix='write static(["eu", "us"])')
    return StaticPartitions(tuple(values))


def multi(**dimensions: TimePartitions | StaticPartitions) -> MultiPartitions:
    """Two dimensions, time and static: ``multi(date=daily(start="2026-01-01"), region=static(["eu", "us"]))``;
    keys ``"2026-01-01+eu"`` (parts in the order given)."""
    return MultiPartitions(tuple(dimensions.items()))


def partitions_from_dict(raw: Mapping[str, Any]) -> PartitionsDefinition:
    """Read back :meth:`Partitions.to_dict` (the compiled mesh stores it)."""
    kind = raw["kind"]
    if kind == "static":
        return static(raw["values"])
    if kind == "multi":
        return multi(**{d["name"]: partitions_from_dict(d) for d in raw["dimensions"]})  # type: ignore[arg-type]
    if kind in UNITS:
        return _time(kind, raw["start"], raw.get("end"))
    raise DefinitionError(f"unknown partitions kind {kind!r}", where="compiled mesh",
                          fix="run `mesh compile` to write it again")


def parse_key(partitions: PartitionsDefinition, key: str) -> str:
    """``key`` validated against ``partitions`` (:class:`PartitionKeyError` otherwise)."""
    return partitions.validate(key)


# -- internals ------------------------------------------------------------------------------------
_ADJECTIVE: dict[str, str] = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}


def _time(unit: Unit, start: Any, end: Any) -> TimePartitions:
    where = f"{_ADJECTIVE[unit]}(...)"

    def moment(name: str, value: Any) -> dt.datetime:
        try:
            return _as_datetime(value) if isinstance(value, (dt.date, dt.datetime)) else _moment(value, unit)
        except PartitionKeyError:
            raise DefinitionError(f"{name}={value!r} is not a {unit} start", where=where,
                                  fix=f"write {name}='{_EXAMPLE[unit]}'") from None

    return TimePartitions(unit=unit, start=moment("start", start), end=None if end is None else moment("end", end))


def _moment(value: Any, unit: Unit) -> dt.datetime:
    """A key of ``unit`` or an ISO date/datetime as a naive UTC datetime."""
    if not isinstance(value, str) or len(value) > MAX_KEY:
        shown = value[:MAX_KEY] if isinstance(value, str) else value
        raise PartitionKeyError(f"{shown!r} is not a date", fix=f"write a date like '{_EXAMPLE['day']}'")
    if _KEY_RE[unit].match(value):
        return _parse_key(value, unit)
    try:
        return _as_datetime(dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value))
    except (ValueError, OverflowError):
        raise PartitionKeyError(f"{value!r} is not a date or a {unit} key",
                                fix="write a date like '2026-01-01'" + (f" or a key like '{_EXAMPLE[unit]}'"
                                                                         if _EXAMPLE[unit] != "2026-01-01" else "")) from None


def _checked_format(key: Any, unit: Unit) -> str:
    if not isinstance(key, str) or len(key) > MAX_KEY or not _KEY_RE[unit].match(key):
        shown = key[:MAX_KEY] if isinstance(key, str) else key
        raise PartitionKeyError(f"{shown!r} is not a {_ADJECTIVE[unit]} partition key",
                                fix=f"write it like '{_EXAMPLE[unit]}'")
    _parse_key(key, unit)
    return key


def _parse_key(key: str, unit: Unit) -> dt.datetime:
    match = _KEY_RE[unit].match(key)
    if match is None:
        raise PartitionKeyError(f"{key[:MAX_KEY]!r} is not a {_ADJECTIVE[unit]} partition key",
                                fix=f"write it like '{_EXAMPLE[unit]}'")
    parts = [int(p) for p in match.groups()]
    try:
        if unit == "month":
            moment = dt.datetime(parts[0], parts[1], 1)
        elif unit == "hour":
            moment = dt.datetime(parts[0], parts[1], parts[2], parts[3])
        else:
            moment = dt.datetime(parts[0], parts[1], parts[2])
    except (ValueError, OverflowError):
        raise PartitionKeyError(f"{key!r} is not a real {unit}", fix=f"write it like '{_EXAMPLE[unit]}'") from None
    if unit == "week" and (moment.weekday() != 0 or _key(moment, "week") != key):
        raise PartitionKeyError(f"{key!r} is not a Monday with its ISO week number",
                                fix=f"write '{_key(_floor(moment, 'week'), 'week')}'")
    return moment


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    return dt.datetime(value.year, value.month, value.day)


def _floor(moment: dt.datetime, unit: Unit) -> dt.datetime:
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _step(moment: dt.datetime, unit: Unit, n: int) -> dt.datetime:
    if unit == "hour":
        return moment + dt.timedelta(hours=n)
    if unit == "day":
        return moment + dt.timedelta(days=n)
    if unit == "week":
        return moment + dt.timedelta(weeks=n)
    months = moment.year * 12 + moment.month - 1 + n
    year, month = divmod(months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _key(moment: dt.datetime, unit: Unit) -> str:
    if unit == "week":
        return f"{moment:%Y-%m-%d}-W{moment.isocalendar().week:02d}"
    return moment.strftime(KEY_FORMATS[unit])
