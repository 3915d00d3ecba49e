"""Partition definitions: keys enumerate in order, parse back, and every bad definition or hostile
key is refused with an error naming the fix (never a traceback)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets import DefinitionError, MeshError, PartitionKeyError
from assets.partitions import (
    TimePartitions,
    daily,
    hourly,
    monthly,
    multi,
    partitions_from_dict,
    static,
    weekly,
)

REGIONS = static(["eu", "us"])


@pytest.mark.parametrize(("definition", "until", "expected"), [
    pytest.param(daily("2026-01-30"), "2026-02-01", ("2026-01-30", "2026-01-31", "2026-02-01"), id="daily"),
    pytest.param(hourly("2026-01-01T22"), "2026-01-02T00", ("2026-01-01T22", "2026-01-01T23", "2026-01-02T00"),
                 id="hourly"),
    pytest.param(weekly("2025-12-29"), "2026-01-12", ("2025-12-29-W01", "2026-01-05-W02", "2026-01-12-W03"),
                 id="weekly-iso-weeks"),
    pytest.param(monthly("2025-11"), "2026-01-31", ("2025-11", "2025-12", "2026-01"), id="monthly"),
    pytest.param(REGIONS, None, ("eu", "us"), id="static"),
    pytest.param(multi(date=daily("2026-01-01"), region=REGIONS), "2026-01-02",
                 ("2026-01-01+eu", "2026-01-01+us", "2026-01-02+eu", "2026-01-02+us"), id="multi"),
])
def test_keys_enumerate_in_order(definition, until, expected) -> None:
    assert definition.keys(until=until) == expected
    assert all(definition.contains(k) for k in expected)


def test_end_closes_the_range_and_keys_between_is_inclusive() -> None:
    days = daily("2026-01-01", end="2026-01-05")
    assert days.keys(until="2027-01-01")[-1] == "2026-01-05"
    assert days.keys_between("2025-12-30", "2026-01-03") == ("2026-01-01", "2026-01-02", "2026-01-03")
    assert days.keys_between(dt.date(2026, 1, 4), "2026-01-09") == ("2026-01-04", "2026-01-05")
    assert not days.contains("2026-01-06")
    with pytest.raises(PartitionKeyError, match="backwards"):
        days.keys_between("2026-01-03", "2026-01-01")


def test_multi_keys_between_take_time_bounds() -> None:
    both = multi(region=REGIONS, date=daily("2026-01-01"))
    assert both.keys_between("2026-01-02", "2026-01-02") == ("eu+2026-01-02", "us+2026-01-02")
    assert both.split("us+2026-01-02") == ("2026-01-02", "us")


def test_definitions_round_trip_through_plain_json() -> None:
    for definition in (daily("2026-01-01", "2026-02-01"), hourly("2026-01-01T05"), weekly("2026-01-05"),
                       monthly("2026-01"), REGIONS, multi(date=daily("2026-01-01"), region=REGIONS)):
        assert partitions_from_dict(definition.to_dict()) == definition


@pytest.mark.parametrize(("make", "fix"), [
    pytest.param(lambda: daily("2026-02-30"), "2026-01-01", id="impossible-date"),
    pytest.param(lambda: daily("yesterday"), "2026-01-01", id="not-a-date"),
    pytest.param(lambda: daily("2026-01-05", end="2026-01-01"), "swap", id="end-before-start"),
    pytest.param(lambda: weekly("2026-01-07"), "2026-01-05", id="week-not-a-monday"),
    pytest.param(lambda: monthly("2026-01-15"), "2026-01", id="month-not-day-one"),
    pytest.param(lambda: static([]), 'static(["eu", "us"])', id="empty-static"),
    pytest.param(lambda: static("eu"), 'static(["eu", "us"])', id="static-string"),
    pytest.param(lambda: static(["eu", "eu"]), "once", id="duplicate-key"),
    pytest.param(lambda: static(["eu/west"]), "letters, digits", id="slash-in-key"),
    pytest.param(lambda: static([".."]), "letters, digits", id="dot-dot"),
    pytest.param(lambda: static(["a+b"]), "letters, digits", id="delimiter-in-key"),
    pytest.param(lambda: multi(date=daily()), "multi(date=", id="one-dimension"),
    pytest.param(lambda: multi(a=daily(), b=hourly()), "region=static", id="two-time-dimensions"),
    pytest.param(lambda: multi(date=daily(), Region=REGIONS), "date=..., region=", id="bad-dimension-name"),
])
def test_bad_definitions_are_refused_with_the_fix(make, fix) -> None:
    with pytest.raises(DefinitionError) as caught:
        make()
    assert fix in caught.value.fix


@pytest.mark.parametrize(("definition", "key"), [
    pytest.param(daily("2026-01-01"), "2026-1-1", id="unpadded"),
    pytest.param(daily("2026-01-01"), "2025-12-31", id="before-start"),
    pytest.param(daily("2026-01-01"), "2026-01-01T00", id="hour-key-for-days"),
    pytest.param(weekly("2026-01-05"), "2026-01-06-W02", id="week-not-monday"),
    pytest.param(weekly("2026-01-05"), "2026-01-05-W09", id="wrong-week-number"),
    pytest.param(hourly("2026-01-01T00"), "2026-01-01T24", id="hour-24"),
    pytest.param(REGIONS, "apac", id="unknown-static"),
    pytest.param(multi(date=daily("2026-01-01"), region=REGIONS), "2026-01-01|eu", id="wrong-delimiter"),
    pytest.param(multi(date=daily("2026-01-01"), region=REGIONS), "eu+2026-01-01", id="swapped-parts"),
])
def test_bad_keys_are_refused_with_the_format(definition, key) -> None:
    with pytest.raises(PartitionKeyError) as caught:
        definition.validate(key)
    assert caught.value.fix


HOSTILE = st.one_of(st.text(max_size=200), st.from_regex(r"\A\d{4}-\d{2}-\d{2}(T\d{2}|-W\d{2})?(\+\w+)?\Z"),
                    st.sampled_from(["../etc", "2026-01-01/..", "\x00", "9999-12-31", "0000-01-01", "+", "eu+"]))
DEFINITIONS = [daily("2026-01-01"), hourly("2026-01-01T00"), weekly("2026-01-05"), monthly("2026-01"), REGIONS,
               multi(date=daily("2026-01-01"), region=REGIONS)]


@settings(max_examples=300, deadline=None)
@given(key=HOSTILE, index=st.integers(0, len(DEFINITIONS) - 1))
def test_hostile_keys_never_raise_anything_but_a_partition_key_error(key: str, index: int) -> None:
    definition = DEFINITIONS[index]
    try:
        accepted = definition.validate(key)
    except PartitionKeyError as exc:
        assert exc.fix and len(str(exc)) < 600
        return
    # what is accepted is a key this definition makes, and a safe single folder name
    assert accepted == key and "/" not in key and "." not in key and key.strip() == key
    assert partitions_from_dict(definition.to_dict()).contains(key)


@settings(max_examples=100, deadline=None)
@given(day=st.dates(dt.date(2026, 1, 5), dt.date(2030, 12, 31)))
def test_every_time_key_parses_back_to_its_partition(day: dt.date) -> None:
    for definition in DEFINITIONS[:4]:
        key = definition.key_of(day)
        assert definition.validate(key) == key
        assert definition.start_of(key) <= dt.datetime(day.year, day.month, day.day) < definition.end_of(key)
        assert definition.keys_between(key, key) == (key,)


@pytest.mark.parametrize("bound", ["9" * 5000, "2026-01-01" * 500])
def test_a_bound_too_long_to_be_a_date_is_refused_in_a_short_message(bound: str) -> None:
    with pytest.raises(PartitionKeyError, match="is not a date") as refused:
        daily("2026-01-01").keys_between("2026-01-01", bound)
    assert len(str(refused.value)) < 200


def test_key_errors_are_mesh_errors_for_the_cli() -> None:
    with pytest.raises(MeshError):
        daily("2026-01-01").validate("x" * 10_000)



def test_a_range_of_more_partitions_than_a_backfill_can_hold_is_refused_and_the_calendar_end_is_kept() -> None:
    with pytest.raises(PartitionKeyError, match="more than 100,000 partitions. Fix: split it"):
        daily(start="2026-01-01").keys_between("0001-01-01", "9999-12-31")
    with pytest.raises(PartitionKeyError, match="more than 100,000 partitions"):
        hourly(start="2026-01-01").keys_between("2026-01-01", "2040-01-01")
    assert daily(start="9999-12-01").keys_between("9999-12-01", "9999-12-31")[-1] == "9999-12-31"
    assert monthly(start="9999-01-01").keys_between("9999-01", "9999-12")[-1] == "9999-12"


@pytest.mark.parametrize("definition", [hourly(start="9999-12-31T23"), daily(start="9999-12-31"),
                                        weekly(start="9999-12-27"), monthly(start="9999-12")],
                         ids=["hour", "day", "week", "month"])
def test_the_calendars_last_partition_ends_at_its_end_not_an_overflow(definition: TimePartitions) -> None:
    last = definition.keys_between("9999-12-31T23", "9999-12-31T23")[-1]
    assert definition.start_of(last) < definition.end_of(last) == dt.datetime.max
