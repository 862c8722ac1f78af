"""Legal clocks (国办发〔2016〕61号): hours on the clock, closing in Chinese working days."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
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


class WorkCalendar:
    """The chinesecalendar package with the office calendar on top: an entered day wins.

    `entered` maps a day to True (working day, e.g. a 调休 make-up Saturday) or False
    (holiday). A year the package does not know counts as known once the office has
    entered at least one holiday for it (`entered_years`); other unknown days are guessed
    Monday-Friday and reported as unknown, so the deadline built on them is provisional.
    """

    def __init__(self, entered: Mapping[date, bool] | None = None,
                 entered_years: Iterable[int] = ()) -> None:
        self.entered: dict[date, bool] = dict(entered or {})
        self.entered_years = frozenset(entered_years)

    def day(self, day: date) -> tuple[bool, bool]:
        """(is a working day, whether that is known rather than a Monday-Friday guess)."""
        if day in self.entered:
            return self.entered[day], True
        if package_knows(day.year):
            return bool(chinese_calendar.is_workday(day)), True
        return day.weekday() < 5, day.year in self.entered_years

    def covers(self, year: int) -> bool:
        """True when the year's holidays are known (package or office calendar)."""
        return package_knows(year) or year in self.entered_years


PACKAGE_ONLY = WorkCalendar()


@lru_cache(maxsize=64)
def package_knows(year: int) -> bool:
    """Whether the installed chinesecalendar has the State Council's arrangement for `year`."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(day: date, calendar: WorkCalendar | None = None) -> bool:
    """Working day on the official calendar with its 调休 make-up days (Mon-Fri where unknown)."""
    return (calendar or PACKAGE_ONLY).day(day)[0]


def close_deadline(start: datetime, days: int,
                   calendar: WorkCalendar | None = None) -> tuple[datetime, bool]:
    """The end of the `days`-th working day after `start` (local) as UTC, and whether it is
    provisional (some day on the way was a Monday-Friday guess)."""
    cal = calendar or PACKAGE_ONLY
    local = ensure_utc(start).astimezone(SHANGHAI)
    day = local.date()
    counted = 0
    provisional = False
    while counted < days:
        day += timedelta(days=1)
        working, known = cal.day(day)
        provisional = provisional or not known
        if working:
            counted += 1
    end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)
    return ensure_utc(end), provisional


def add_working_days(start: datetime, days: int, calendar: WorkCalendar | None = None) -> datetime:
    """The end of the `days`-th working day after `start` (local time), as UTC."""
    return close_deadline(start, days, calendar)[0]


def working_days_between(start: datetime, end: datetime, calendar: WorkCalendar | None = None) -> int:
    """Working days d with start's local date < d <= end's local date (what a pause costs)."""
    cal = calendar or PACKAGE_ONLY
    day, last = to_local(start).date(), to_local(end).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        count += cal.day(day)[0]
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
    close_due_provisional: bool = False  # counted over days the calendar does not know yet


def deadlines_for(grade: str | None, opened_at: datetime,
                  close_working_days: int = DEFAULT_CLOSE_WORKING_DAYS, *,
                  paused_seconds: int = 0, paused_working_days: int = 0,
                  close_started_at: datetime | None = None,
                  calendar: WorkCalendar | None = None) -> Deadlines:
    """Deadlines of a ticket opened at `opened_at` for an event of `grade`, pauses excluded."""
    clock = clock_for(grade)
    start = ensure_utc(opened_at) + timedelta(seconds=paused_seconds)

    def hours(value: int | None) -> datetime | None:
        return start + timedelta(hours=value) if value else None

    close_from = ensure_utc(close_started_at) if close_started_at else ensure_utc(opened_at)
    close_due, provisional = close_deadline(close_from, close_working_days + paused_working_days,
                                            calendar)
    return Deadlines(
        first_info_due_at=hours(clock.first_info_hours),
        response_due_at=hours(clock.response_hours),
        close_due_at=close_due,
        press_due_at=hours(clock.press_hours),
        close_due_provisional=provisional,
    )
