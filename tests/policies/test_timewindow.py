"""Time windows: hours that may wrap midnight, days in the policy's zone, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.rules import DAY_NAMES
from policies.rules.timewindow import TimeWindow, describe, is_open

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # DST shifts by 30 minutes
    "America/St_Johns",
    "Pacific/Chatham",
]


def reference_is_open(window: TimeWindow, instant: datetime) -> bool:
    """A plain reading of the rules: build each night's opening as wall-clock intervals
    starting on the allowed days around the instant and see whether the local wall clock
    falls in one."""
    local = instant.astimezone(ZoneInfo(window.timezone)).replace(tzinfo=None)
    for days_back in (0, 1):
        day = local.date() - timedelta(days=days_back)
        if DAY_NAMES[day.weekday()] not in window.days:
            continue
        opens = datetime.combine(day, datetime.min.time())
        if window.start_hour == window.end_hour:
            start, end = opens, opens + timedelta(days=1)
        elif window.start_hour < window.end_hour:
            start = opens + timedelta(hours=window.start_hour)
            end = opens + timedelta(hours=window.end_hour)
        else:
            start = opens + timedelta(hours=window.start_hour)
            end = opens + timedelta(days=1, hours=window.end_hour)
        if start <= local < end:
            return True
    return False


windows = st.builds(
    TimeWindow,
    start_hour=st.integers(0, 23),
    end_hour=st.integers(0, 23),
    days=st.frozensets(st.sampled_from(DAY_NAMES)),
    timezone=st.sampled_from(ZONES),
)
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=1000, deadline=None)
@given(window=windows, instant=instants)
def test_it_agrees_with_the_reference_at_any_instant(window, instant):
    assert is_open(window, instant) is reference_is_open(window, instant)


DST_DAYS = [
    ("Europe/Berlin", date(2026, 3, 29)),  # 02:00 -> 03:00
    ("Europe/Berlin", date(2026, 10, 25)),  # 03:00 -> 02:00
    ("America/New_York", date(2026, 3, 8)),  # 02:00 -> 03:00
    ("America/New_York", date(2026, 11, 1)),  # 02:00 -> 01:00
]


@st.composite
def dst_instants(draw):
    zone, day = draw(st.sampled_from(DST_DAYS))
    # Anywhere from the evening before to the morning after, to the minute.
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(zone)) - timedelta(hours=6)
    minutes = draw(st.integers(0, 36 * 60))
    return zone, (start + timedelta(minutes=minutes)).astimezone(UTC)


@settings(max_examples=1000, deadline=None)
@given(
    start=st.integers(0, 23),
    end=st.integers(0, 23),
    days=st.frozensets(st.sampled_from(DAY_NAMES)),
    zoned=dst_instants(),
)
def test_it_agrees_with_the_reference_on_dst_change_days(start, end, days, zoned):
    zone, instant = zoned
    window = TimeWindow(start, end, days, zone)
    assert is_open(window, instant) is reference_is_open(window, instant)


def open_minutes(window: TimeWindow, since: datetime, hours: int) -> int:
    return sum(is_open(window, since + timedelta(minutes=m)) for m in range(hours * 60))


@pytest.mark.parametrize(
    ("zone", "night_of", "hours_open"),
    [
        ("Europe/Berlin", date(2026, 3, 28), 7),  # the clock skips 02:00-03:00
        ("Europe/Berlin", date(2026, 10, 24), 9),  # the clock repeats 02:00-03:00
        ("America/New_York", date(2026, 3, 7), 7),
        ("America/New_York", date(2026, 10, 31), 9),
        ("Europe/Berlin", date(2026, 6, 6), 8),
    ],
)
def test_a_22_to_6_night_lasts_as_long_as_the_wall_clock_says(zone, night_of, hours_open):
    window = TimeWindow(22, 6, frozenset(DAY_NAMES), zone)
    noon = datetime.combine(night_of, datetime.min.time(), tzinfo=ZoneInfo(zone)) + timedelta(
        hours=12
    )
    assert open_minutes(window, noon.astimezone(UTC), 24) == hours_open * 60


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps():
    window = TimeWindow(2, 4, frozenset(DAY_NAMES), "Europe/Berlin")
    assert not is_open(window, datetime(2026, 3, 29, 0, 59, tzinfo=UTC))  # 01:59 CET
    assert is_open(window, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST
    assert not is_open(window, datetime(2026, 3, 29, 2, 0, tzinfo=UTC))  # 04:00 CEST


def at(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


WEEKDAYS = frozenset(DAY_NAMES[:5])
NIGHTS = TimeWindow(22, 6, WEEKDAYS, "Europe/Berlin")


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at("Europe/Berlin", 2026, 11, 27, 23, 0), True),  # Friday night
        (at("Europe/Berlin", 2026, 11, 28, 2, 0), True),  # Saturday 02:00 is Friday's night
        (at("Europe/Berlin", 2026, 11, 28, 23, 0), False),  # Saturday night
        (at("Europe/Berlin", 2026, 11, 30, 2, 0), False),  # Monday 02:00 is Sunday's night
        (at("Europe/Berlin", 2026, 11, 30, 5, 59), False),
        (at("Europe/Berlin", 2026, 12, 1, 5, 59), True),  # Tuesday 05:59, Monday's night
        (at("Europe/Berlin", 2026, 12, 1, 6, 0), False),  # the end hour is exclusive
        (at("Europe/Berlin", 2026, 12, 1, 22, 0), True),  # the start hour is inclusive
        (at("Europe/Berlin", 2026, 12, 1, 12, 0), False),
        # Monday 22:30 in Berlin is 16:30 in New York: the policy's zone decides.
        (at("America/New_York", 2026, 11, 30, 16, 30), True),
    ],
)
def test_a_night_window_belongs_to_the_day_it_opened(instant, expected):
    assert is_open(NIGHTS, instant) is expected


def test_equal_start_and_end_means_all_day_on_the_allowed_days():
    window = TimeWindow(9, 9, frozenset({"sunday"}), "UTC")
    assert is_open(window, datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    assert is_open(window, datetime(2026, 11, 29, 23, 59, tzinfo=UTC))
    assert not is_open(window, datetime(2026, 11, 30, 0, 0, tzinfo=UTC))


def test_no_allowed_day_never_opens():
    window = TimeWindow(0, 0, frozenset(), "UTC")
    assert not is_open(window, datetime(2026, 11, 29, 12, 0, tzinfo=UTC))


def test_it_refuses_a_naive_instant():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(NIGHTS, datetime(2026, 11, 29, 12, 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_hour": 24, "end_hour": 0, "days": frozenset()}, "outside 0-23"),
        ({"start_hour": 0, "end_hour": -1, "days": frozenset()}, "outside 0-23"),
        ({"start_hour": 0, "end_hour": 0, "days": frozenset({"funday"})}, "unknown day"),
    ],
)
def test_it_refuses_an_impossible_window(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TimeWindow(**kwargs)


def test_it_refuses_an_unknown_zone():
    with pytest.raises(Exception, match="Mars/Olympus"):
        TimeWindow(0, 0, frozenset(), "Mars/Olympus")


def test_it_describes_itself_for_the_reasoning():
    assert (
        describe(NIGHTS)
        == "22:00-06:00 Monday, Tuesday, Wednesday, Thursday, Friday (Europe/Berlin)"
    )
    assert describe(TimeWindow(0, 0, frozenset(DAY_NAMES))) == "all day every day (UTC)"
