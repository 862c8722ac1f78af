"""The office calendar (节假日安排): holidays and 调休 make-up working days entered by an admin.

The chinesecalendar package lags the State Council's notice by weeks or months; a day
entered here wins over the package.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field


class DayKind(StrEnum):
    holiday = "holiday"  # 放假 (a weekday off)
    workday = "workday"  # 调休上班 (a weekend day worked)


DAY_KIND_LABELS = {"holiday": "放假", "workday": "调休上班"}


class CalendarDayBase(SQLModel):
    date: date
    kind: DayKind
    name: str = Field(default="", max_length=50)  # 元旦, 春节 …
    note: str = Field(default="", max_length=200)

    @field_validator("name", "note")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class CalendarDayIn(CalendarDayBase):
    """An entered day (upsert on the date)."""


class CalendarDay(SQLModel, table=True):
    __tablename__ = "calendar_day"
    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False, unique=True))
    kind: str = Field(max_length=10)
    name: str = Field(default="", max_length=50)
    note: str = Field(default="", max_length=200)
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = created_at_field()


class CalendarDayPublic(CalendarDayBase):
    pass


class CalendarImportError(SQLModel):
    line: int
    message: str


class CalendarImportResult(SQLModel):
    imported: int
    errors: list[CalendarImportError] = []


class CalendarStatus(SQLModel):
    covered_until: date
    warning: str | None = None
