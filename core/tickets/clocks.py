"""Legal clocks (国办发〔2016〕61号): hours on the clock, closing in Chinese working days."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar

from core.timeutil import SHANGHAI, ensure_utc, to_local


@dataclass(frozen=True)
class GradeClock:
    first_info_hours: int | None
    response_hours: int
    press_hours: int | None


DEFAULT_CLOCKS: dict[str, GradeClock] = {
    "I": GradeClock(5, 24, 24),
    "II": GradeClock(5, 24, 24),
    "III": GradeClock(None, 48, None),
    "IV": GradeClock(None, 48, None),
}
DEFAULT_CLOSE_WORKING_DAYS = 5


def is_workday(day: date) -> bool:
    """Working day on the official calendar with its 调休 make-up days.

    Years the calendar package does not know yet fall back to Monday-Friday.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The end of the `days`-th working day after `start` (local time), as UTC."""
    local = ensure_utc(start).astimezone(SHANGHAI)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)
    return ensure_utc(end)


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days d with start's local date < d <= end's local date (what a pause costs)."""
    day, last = to_local(start).date(), to_local(end).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        count += is_workday(day)
    return count


def clock_for(grade: str | None) -> GradeClock:
    """The grade's clock: the defaults with settings.grade_clocks overrides applied."""
    from core.config import get_settings

    base = DEFAULT_CLOCKS.get(grade or "IV", DEFAULT_CLOCKS["IV"])
    override = get_settings().grade_clocks.get(grade or "IV", {})
    changes: dict[str, Any] = {k: v for k, v in override.items() if k in GradeClock.__dataclass_fields__}
    return replace(base, **changes)


@dataclass(frozen=True)
class Deadlines:
    first_info_due_at: datetime | None
    response_due_at: datetime | None
    close_due_at: datetime
    press_due_at: datetime | None = None


def deadlines_for(grade: str | None, opened_at: datetime,
                  close_working_days: int = DEFAULT_CLOSE_WORKING_DAYS, *,
                  paused_seconds: int = 0, paused_working_days: int = 0,
                  close_started_at: datetime | None = None) -> Deadlines:
    """Deadlines of a ticket opened at `opened_at` for an event of `grade`, pauses excluded."""
    clock = clock_for(grade)
    start = ensure_utc(opened_at) + timedelta(seconds=paused_seconds)

    def hours(value: int | None) -> datetime | None:
        return start + timedelta(hours=value) if value else None

    close_from = ensure_utc(close_started_at) if close_started_at else ensure_utc(opened_at)
    return Deadlines(
        first_info_due_at=hours(clock.first_info_hours),
        response_due_at=hours(clock.response_hours),
        close_due_at=add_working_days(close_from, close_working_days + paused_working_days),
        press_due_at=hours(clock.press_hours),
    )
