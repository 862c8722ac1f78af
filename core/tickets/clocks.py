"""Legal clocks (国办发〔2016〕61号): hours on the clock, closing in Chinese working days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar

from core.timeutil import SHANGHAI, ensure_utc


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


@dataclass(frozen=True)
class Deadlines:
    first_info_due_at: datetime | None
    response_due_at: datetime | None
    close_due_at: datetime


def deadlines_for(grade: str | None, opened_at: datetime,
                  close_working_days: int = DEFAULT_CLOSE_WORKING_DAYS) -> Deadlines:
    """Deadlines of a ticket opened at `opened_at` for an event of `grade`."""
    clock = DEFAULT_CLOCKS.get(grade or "IV", DEFAULT_CLOCKS["IV"])
    opened = ensure_utc(opened_at)
    return Deadlines(
        first_info_due_at=opened + timedelta(hours=clock.first_info_hours)
        if clock.first_info_hours else None,
        response_due_at=opened + timedelta(hours=clock.response_hours),
        close_due_at=add_working_days(opened, close_working_days),
    )
