"""Time helpers: store UTC, show Asia/Shanghai."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy.engine import Dialect

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (that is how the database returns them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    return ensure_utc(value).astimezone(SHANGHAI)


def local_day_sql(dialect: str, column: Any) -> Any:
    """SQL for the Asia/Shanghai calendar day of a UTC time column: a date on PostgreSQL, an
    ISO 'YYYY-MM-DD' string on SQLite (pass results through `as_date`)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("Asia/Shanghai", column), sa.Date)
    # SQLite stores naive UTC text; China has kept UTC+8 without DST since 1991, so +8 hours is exact.
    return sa.func.date(column, "+8 hours")


def as_date(value: Any) -> date:
    """A day from `local_day_sql` as a date, whichever database answered."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# Times people and feeds give us: years outside this are typos or attacks, and near year 1 or
# 9999 the conversion to UTC (or adding a deadline) overflows datetime.
MIN_YEAR, MAX_YEAR = 1900, 2200


def checked_time(value: datetime) -> datetime:
    """The value itself if it lies within MIN_YEAR..MAX_YEAR in UTC, else ValueError (a 422 at the edge).

    A naive value is returned naive: the caller decides its zone (a hotline officer types Beijing time).
    """
    try:
        utc = ensure_utc(value)
    except OverflowError:
        raise ValueError(f"时间超出范围（{MIN_YEAR}–{MAX_YEAR} 年）") from None
    if not MIN_YEAR <= utc.year <= MAX_YEAR:
        raise ValueError(f"时间超出范围（{MIN_YEAR}–{MAX_YEAR} 年）")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _no_timestamp(value: Any) -> Any:
    # pydantic would read 0.5 or "0.5" as seconds since 1970: the schema says an ISO 8601 string.
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("时间须为 ISO 8601 格式，如 2026-03-01T08:30:00+08:00")
    return value


# The type of every datetime a request or an ingested item carries.
InputTime = Annotated[datetime, BeforeValidator(_no_timestamp), AfterValidator(checked_time)]


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        value = ensure_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return ensure_utc(value)
