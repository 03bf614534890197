"""When a policy lets actions run: hours and days in the policy's own time zone (pure).

Rules (also in docs/decisions.md):

- ``start_hour``/``end_hour`` are whole local hours, 0-23; the window is ``[start, end)``.
- ``start == end`` means the whole day (there is no empty window: switch the policy off
  instead).
- ``start > end`` wraps midnight: 22→6 is 22:00-05:59. The part after midnight belongs to
  the day the window opened, so "22→6, Monday-Friday" includes Saturday 02:00 (Friday's
  night) but not Monday 02:00 (Sunday's night). That is how operators read a maintenance
  window.
- The instant is converted to the policy's zone with zoneinfo, so the local wall clock is
  right on both sides of a DST change: a window starting in a skipped hour (02:00 on a
  spring-forward day) opens at the first local time after it, and a repeated hour counts
  once per occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from policies.rules import DAY_NAMES

HOURS_PER_DAY = 24


@dataclass(frozen=True)
class TimeWindow:
    start_hour: int
    end_hour: int
    days: frozenset[str]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        for hour in (self.start_hour, self.end_hour):
            if not 0 <= hour < HOURS_PER_DAY:
                raise ValueError(f"hour {hour} is outside 0-23")
        unknown = set(self.days) - set(DAY_NAMES)
        if unknown:
            raise ValueError(f"unknown day names: {', '.join(sorted(unknown))}")
        ZoneInfo(self.timezone)  # raises ZoneInfoNotFoundError for an unknown zone

    @property
    def all_day(self) -> bool:
        return self.start_hour == self.end_hour

    @property
    def wraps_midnight(self) -> bool:
        return self.start_hour > self.end_hour


def local_time(instant: datetime, tz_name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("the instant must be timezone-aware")
    return instant.astimezone(ZoneInfo(tz_name))


def is_open(window: TimeWindow, instant: datetime) -> bool:
    """True when ``instant`` (aware) falls inside the window."""
    local = local_time(instant, window.timezone)
    hour = local.hour
    weekday = local.weekday()
    if window.all_day:
        return DAY_NAMES[weekday] in window.days
    if not window.wraps_midnight:
        return window.start_hour <= hour < window.end_hour and DAY_NAMES[weekday] in window.days
    if hour >= window.start_hour:
        return DAY_NAMES[weekday] in window.days
    if hour < window.end_hour:
        # After midnight: this is the night that opened yesterday.
        return DAY_NAMES[(weekday - 1) % 7] in window.days
    return False


def describe(window: TimeWindow) -> str:
    """A short human description, used in decision reasoning."""
    if window.days == frozenset(DAY_NAMES):
        days = "every day"
    else:
        days = ", ".join(d.capitalize() for d in DAY_NAMES if d in window.days) or "no day"
    hours = "all day" if window.all_day else f"{window.start_hour:02d}:00-{window.end_hour:02d}:00"
    return f"{hours} {days} ({window.timezone})"
