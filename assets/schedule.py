"""Schedules and durations as users write them: cron presets, cron expressions, ``2h``."""

from __future__ import annotations

import datetime as dt
import re

from croniter import croniter

#: Airflow's cron presets.
PRESETS: frozenset[str] = frozenset({"@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@once"})
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def validate_schedule(schedule: str) -> str | None:
    """Return what is wrong with a schedule, or ``None`` if it is a preset or a valid cron."""
    if schedule.startswith("@"):
        return None if schedule in PRESETS else f"unknown preset; presets are {', '.join(sorted(PRESETS))}"
    if len(schedule.split()) != 5:
        return "a cron expression has five fields: minute hour day-of-month month day-of-week"
    return None if croniter.is_valid(schedule) else "not a valid cron expression"


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``30m``, ``2h``, ``1d`` or ``1w`` into a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("expected a number and a unit (s, m, h, d or w)")
    try:
        return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise ValueError(f"{text} is too long: at most {dt.timedelta.max.days:,} days") from None
