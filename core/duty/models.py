from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.bounds import INT4_MAX
from core.models_base import created_at_field, json_list_field, time_field
from core.timeutil import InputTime


class ShiftRole(StrEnum):
    officer = "officer"  # 值班员: gets the alerts
    leader = "leader"  # 带班领导: gets alerts nobody signed for


SHIFT_ROLE_LABELS = {"officer": "值班员", "leader": "带班领导"}


class DutyShiftBase(SQLModel):
    user_id: int = Field(foreign_key="app_user.id", index=True, ge=1, le=INT4_MAX)
    starts_at: datetime = time_field(index=True, nullable=False)
    ends_at: datetime = time_field(index=True, nullable=False)
    role: str = Field(default=ShiftRole.officer.value, max_length=20)
    note: str = Field(default="", max_length=500)


class DutyShiftCreate(DutyShiftBase):
    # Required here (the table's columns are filled by the service): a shift without times
    # was an AttributeError deep in the service.
    starts_at: InputTime
    ends_at: InputTime


class DutyShift(DutyShiftBase, table=True):
    __tablename__ = "duty_shift"
    id: int | None = Field(default=None, primary_key=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    # Never deleted: a cancelled shift stays on record.
    cancelled_at: datetime | None = time_field()
    cancelled_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class DutyShiftPublic(DutyShiftBase):
    id: int
    created_at: datetime
    cancelled_at: datetime | None


class HandoverLog(SQLModel, table=True):
    """交接班记录: what a shift leaves open for the next."""

    __tablename__ = "handover_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    from_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    to_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str = Field(default="", sa_type=sa.Text)
    open_alert_ids: list[int] = json_list_field()
    open_ticket_ids: list[int] = json_list_field()
    summary: str = Field(default="", sa_type=sa.Text)


class HandoverPublic(SQLModel):
    id: int
    at: datetime
    from_user_id: int | None
    to_user_id: int | None
    note: str
    open_alert_ids: list[int]
    open_ticket_ids: list[int]
    summary: str


class Post(StrEnum):
    unit_head = "unit_head"  # 单位负责人
    deputy_leader = "deputy_leader"  # 分管领导
    principal = "principal"  # 主要领导
    staff = "staff"  # no post: only the contact details of a duty officer or handler


POST_LABELS = {"unit_head": "单位负责人", "deputy_leader": "分管领导", "principal": "主要领导",
               "staff": "工作人员"}


class StaffPostBase(SQLModel):
    user_id: int = Field(foreign_key="app_user.id", index=True, ge=1, le=INT4_MAX)
    post: str = Field(max_length=20)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", ge=1, le=INT4_MAX)  # the unit a head runs
    topics: str = Field(default="", max_length=200)  # topics a 分管领导 oversees; empty: all
    mobile: str = Field(default="", max_length=30)  # for @-mentions in group robots
    email: str = Field(default="", max_length=200)


class StaffPostCreate(StaffPostBase):
    pass


class StaffPost(StaffPostBase, table=True):
    """Who escalations go to: unit heads, 分管领导, 主要领导 (and their contacts)."""

    __tablename__ = "staff_post"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    ended_at: datetime | None = time_field()


class StaffPostPublic(StaffPostBase):
    id: int
    created_at: datetime
    ended_at: datetime | None
