"""How an input's partitions map to the partitions of the asset that reads it.

Declared per input in ``ins`` (the key is optional: a parameter named like an asset of the same
domain reads that asset)::

    @asset(partitions=weekly(start="2026-01-05"), ins={"orders": rollup("sales.daily_orders")})
    @asset(partitions=daily(start="2026-01-01"), ins={"orders": window(days=7)})

- :func:`identity` (the default between two partitioned assets): partition ``k`` reads the
  input's partition ``k``.
- :func:`window`: the last N partitions of the input, up to and including ``k`` (same unit).
- :func:`rollup`: every finer partition inside ``k`` (all days of a week or a month, all hours
  of a day).
- :func:`whole` (the default when either side is unpartitioned): the input is read whole: its
  current version, or all its current partitions as one frame.

A two-dimension asset (time x static) maps its time part as declared and its static part to the
same static key; an input without the static dimension is read for every static key, an input
with it but read by an asset without it is read for all its static keys.

:class:`PartitionEdge` is one input edge with both sides' definitions, checked when made;
:func:`upstream_partitions` says which partitions of the input a partition reads, and
:func:`downstream_partitions` which partitions of the reader an input partition feeds (what an
Airflow partition event must run). Neither imports polars.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeAlias

from assets.errors import DefinitionError
from assets.partitions import (
    UNITS,
    MultiPartitions,
    PartitionsDefinition,
    StaticPartitions,
    TimePartitions,
    Unit,
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Partition ``k`` reads the input's partition ``k``."""

    #: The input's key, when declared with the mapping (``rollup("sales.daily_orders")``); not
    #: part of the mapping's identity.
    key: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "identity"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True, slots=True)
class Window:
    """Partition ``k`` reads the input's last ``size`` partitions up to ``k`` (``unit``: the
    input's unit, checked when the edge is made; ``None`` takes the input's)."""

    size: int
    unit: Unit | None = None
    #: The input's key, when declared with the mapping (``rollup("sales.daily_orders")``); not
    #: part of the mapping's identity.
    key: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "window"

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise DefinitionError(f"window size {self.size!r} is not a positive whole number", where="window(...)",
                                  fix="write window(days=7)")
        if self.unit is not None and self.unit not in UNITS:
            raise DefinitionError(f"unknown window unit {self.unit!r}", where="window(...)",
                                  fix="write window(hours=N), window(days=N), window(weeks=N) or window(months=N)")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "size": self.size, "unit": self.unit}


@dataclass(frozen=True, slots=True)
class Rollup:
    """Partition ``k`` reads every finer partition of the input inside it."""

    #: The input's key, when declared with the mapping (``rollup("sales.daily_orders")``); not
    #: part of the mapping's identity.
    key: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "rollup"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True, slots=True)
class Whole:
    """The input is read whole: its current version, or all its current partitions as one frame."""

    #: The input's key, when declared with the mapping (``rollup("sales.daily_orders")``); not
    #: part of the mapping's identity.
    key: str | None = field(default=None, compare=False)
    kind: ClassVar[str] = "whole"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


PartitionMapping: TypeAlias = Identity | Window | Rollup | Whole
MAPPING_TYPES = (Identity, Window, Rollup, Whole)

#: Less than the finest unit: the last moment of a partition is its end minus this.
_TICK = dt.timedelta(microseconds=1)


def identity(key: str | None = None) -> Identity:
    """Read the input's partition with the same key (the default between partitioned assets)."""
    return Identity(key)


def window(key: str | None = None, *, last: int | None = None, hours: int | None = None, days: int | None = None,
           weeks: int | None = None, months: int | None = None) -> Window:
    """Read the input's last N partitions up to this one: ``window(days=7)`` (``last=7`` counts
    in the input's own unit)."""
    given = {unit: n for unit, n in (("hour", hours), ("day", days), ("week", weeks), ("month", months), (None, last))
             if n is not None}
    if len(given) != 1:
        raise DefinitionError(f"window takes exactly one size, got {len(given)}", where="window(...)",
                              fix="write window(days=7) (or hours=, weeks=, months=, last=)")
    (unit, size), = given.items()
    return Window(size=size, unit=unit, key=key)  # type: ignore[arg-type]


def rollup(key: str | None = None) -> Rollup:
    """Read every finer partition of the input inside this one (all days of a week or month)."""
    return Rollup(key)


def whole(key: str | None = None) -> Whole:
    """Read the input whole: an unpartitioned input's version, or all current partitions."""
    return Whole(key)


def mapping_from_dict(raw: Mapping[str, Any]) -> PartitionMapping:
    """Read back a mapping's ``to_dict()`` (the compiled mesh stores it)."""
    kind = raw.get("kind")
    if kind == "window":
        return Window(size=raw["size"], unit=raw.get("unit"))
    by_kind: dict[str, PartitionMapping] = {"identity": Identity(), "rollup": Rollup(), "whole": Whole()}
    if kind not in by_kind:
        raise DefinitionError(f"unknown partition mapping {kind!r}", where="compiled mesh",
                              fix="run `mesh compile` to write it again")
    return by_kind[kind]


def default_mapping(upstream: PartitionsDefinition | None, downstream: PartitionsDefinition | None) -> PartitionMapping:
    """Identity between two partitioned assets; whole when either is unpartitioned."""
    return Identity() if upstream is not None and downstream is not None else Whole()


@dataclass(frozen=True, slots=True)
class PartitionEdge:
    """One input edge: its mapping and both sides' partitions, checked compatible when made.
    ``where`` names the edge in errors (``asset 'sales.weekly' input 'orders'``)."""

    mapping: PartitionMapping
    upstream: PartitionsDefinition | None
    downstream: PartitionsDefinition | None
    where: str = ""

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def of(cls, mapping: PartitionMapping | None, upstream: PartitionsDefinition | None,
           downstream: PartitionsDefinition | None, where: str = "") -> PartitionEdge:
        """The edge, with the default mapping when none is declared."""
        return cls(mapping if mapping is not None else default_mapping(upstream, downstream), upstream, downstream, where)

    @property
    def reads_whole(self) -> bool:
        """Whether the input is read whole (no partition of it chosen by key)."""
        return isinstance(self.mapping, Whole)


def partial_first_rollup(edge: PartitionEdge) -> tuple[str, int, int] | None:
    """When ``edge`` rolls a time-partitioned input up and the input starts after the reader's
    first partition does: that partition's key, how many input partitions it has, and how many
    it would have whole (a week starting on a Wednesday: 5 of 7 days). ``None`` otherwise."""
    up, down = edge.upstream, edge.downstream
    if not isinstance(edge.mapping, Rollup) or not isinstance(up, TimePartitions) \
            or not isinstance(down, TimePartitions):
        return None
    first = down.first_key
    begins = down.start_of(first)
    if up.start <= begins:
        return None
    have = upstream_partitions(edge, first) or ()
    whole = upstream_partitions(replace(edge, upstream=replace(up, start=begins)), first) or ()
    return first, len(have), len(whole)


def upstream_partitions(edge: PartitionEdge, downstream_key: str | None) -> tuple[str, ...] | None:
    """The input's partitions that partition ``downstream_key`` reads, in order (only those in
    the input's range); ``None`` when the input is read whole."""
    if edge.reads_whole:
        return None
    up, down = edge.upstream, edge.downstream
    assert up is not None and down is not None and downstream_key is not None  # checked by the edge
    t_d, s_d = _parts(down, down.validate(downstream_key))
    t_up, s_up = _time_of(up), _static_of(up)
    times: tuple[str | None, ...] = _time_up(edge.mapping, t_up, _time_of(down), t_d) if t_up is not None else (None,)
    statics: tuple[str | None, ...]
    if s_up is None:
        statics = (None,)
    elif s_d is not None:
        statics = (s_d,) if s_d in s_up.values else ()
    else:
        statics = s_up.values
    return tuple(_compose(up, t, s) for t in times for s in statics)


def downstream_partitions(edge: PartitionEdge, upstream_key: str | None) -> tuple[str | None, ...]:
    """The reader's partitions that the input's partition ``upstream_key`` feeds (``None`` for an
    unpartitioned input's version): what an update of it must run. ``(None,)`` when the reader is
    unpartitioned (it runs whole); ``()`` when the reader reads the input whole but is itself
    partitioned (an input update picks no partition of it)."""
    up, down = edge.upstream, edge.downstream
    if down is None:
        return (None,)
    if edge.reads_whole or up is None or upstream_key is None:
        return ()
    t_u, s_u = _parts(up, up.validate(upstream_key))
    t_down, s_down = _time_of(down), _static_of(down)
    times: tuple[str | None, ...]
    if t_down is None:
        times = (None,)
    elif t_u is None:
        times = t_down.keys()
    else:
        times = _time_down(edge.mapping, _time_of(up), t_down, t_u)
    statics: tuple[str | None, ...]
    if s_down is None:
        statics = (None,)
    elif s_u is not None:
        statics = (s_u,) if s_u in s_down.values else ()
    else:
        statics = s_down.values
    return tuple(_compose(down, t, s) for t in times for s in statics)


# -- internals ------------------------------------------------------------------------------------
def _time_of(p: PartitionsDefinition | None) -> TimePartitions | None:
    if isinstance(p, MultiPartitions):
        return p.time
    return p if isinstance(p, TimePartitions) else None


def _static_of(p: PartitionsDefinition | None) -> StaticPartitions | None:
    if isinstance(p, MultiPartitions):
        return p.static
    return p if isinstance(p, StaticPartitions) else None


def _parts(p: PartitionsDefinition, key: str) -> tuple[str | None, str | None]:
    if isinstance(p, MultiPartitions):
        return p.split(key)
    return (key, None) if isinstance(p, TimePartitions) else (None, key)


def _compose(p: PartitionsDefinition, time_key: str | None, static_key: str | None) -> str:
    if isinstance(p, MultiPartitions):
        assert time_key is not None and static_key is not None
        return p.join(time_key, static_key)
    result = time_key if isinstance(p, TimePartitions) else static_key
    assert result is not None
    return result


def _time_up(mapping: PartitionMapping, up: TimePartitions, down: TimePartitions | None,
             key: str | None) -> tuple[str, ...]:
    assert down is not None and key is not None  # checked by the edge
    if isinstance(mapping, Window):
        first = up.shift(key, -(mapping.size - 1))
        return up.keys_between(first, key)
    if isinstance(mapping, Rollup):
        start, end = down.start_of(key), down.end_of(key)
        return up.keys_between(up.key_of(start), up.key_of(end - _TICK))
    return (key,) if up.contains(key) else ()


def _time_down(mapping: PartitionMapping, up: TimePartitions | None, down: TimePartitions,
               key: str | None) -> tuple[str, ...]:
    assert up is not None and key is not None
    if isinstance(mapping, Window):
        last = down.shift(key, mapping.size - 1)
        return tuple(k for k in _between(down, key, last) if down.contains(k))
    if isinstance(mapping, Rollup):
        coarse = down.key_of(up.start_of(key))
        return (coarse,) if down.contains(coarse) else ()
    return (key,) if down.contains(key) else ()


def _between(p: TimePartitions, first: str, last: str) -> tuple[str, ...]:
    keys, k = [], first
    while k <= last:
        keys.append(k)
        k = p.shift(k, 1)
    return tuple(keys)


def _check(edge: PartitionEdge) -> None:
    mapping, up, down = edge.mapping, edge.upstream, edge.downstream
    where = edge.where or "input"

    def refuse(what: str, fix: str) -> DefinitionError:
        return DefinitionError(what, where=where, fix=fix)

    if not isinstance(mapping, MAPPING_TYPES):
        raise refuse(f"{mapping!r} is not a partition mapping", "use identity(), window(days=N), rollup() or whole()")
    if isinstance(mapping, Whole):
        return
    if up is None:
        raise refuse(f"{mapping.kind}() on an unpartitioned input", "drop the mapping: an unpartitioned input is read whole")
    if down is None:
        raise refuse(f"{mapping.kind}() on an unpartitioned asset", "declare partitions=... on the asset, or use whole()")
    t_up, t_down, s_up, s_down = _time_of(up), _time_of(down), _static_of(up), _static_of(down)
    if t_up is not None and t_down is None:
        raise refuse(f"the input is partitioned by time ({t_up.describe()}), the asset is not",
                     "read it whole with whole(), or partition the asset by time too")
    if s_up is not None and s_down is not None and not set(s_down.values) <= set(s_up.values):
        missing = sorted(set(s_down.values) - set(s_up.values))
        raise refuse(f"the input has no static partition {', '.join(missing)}",
                     f"use the input's keys ({', '.join(s_up.values)}) in the asset's static([...])")
    if s_up is not None and t_up is None and s_down is None:
        raise refuse("the input is partitioned by a static key, the asset is not", "read it whole with whole()")
    if isinstance(mapping, (Window, Rollup)) and (t_up is None or t_down is None):
        raise refuse(f"{mapping.kind}() needs time partitions on both sides", "use identity() or whole()")
    if t_up is None or t_down is None:
        return
    if isinstance(mapping, Rollup):
        fine, coarse = UNITS.index(t_up.unit), UNITS.index(t_down.unit)
        if fine >= coarse or (t_up.unit, t_down.unit) == ("week", "month"):
            raise refuse(f"rollup() from {t_up.unit}s into {t_down.unit}s: each {t_down.unit} must be made of whole "
                         f"{t_up.unit}s", "roll hours up into days/weeks/months, days into weeks/months")
        return
    if t_up.unit != t_down.unit:
        kind = "window()" if isinstance(mapping, Window) else "the same partition (identity)"
        raise refuse(f"{kind} between {t_up.unit}s and {t_down.unit}s",
                     "use rollup() to read finer partitions into a coarser one, or partition both alike")
    if isinstance(mapping, Window) and mapping.unit is not None and mapping.unit != t_up.unit:
        raise refuse(f"window of {mapping.unit}s on an input partitioned by {t_up.unit}",
                     f"write window({t_up.unit}s={mapping.size})")

