from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel, Field

from api.deps import Admin, CurrentUser, Dispatcher, SessionDep
from api.params import IdPath
from core.bounds import DbId
from core.duty import service as duty
from core.duty.models import (
    DutyShift,
    DutyShiftCreate,
    DutyShiftPublic,
    HandoverLog,
    HandoverPublic,
    StaffPost,
    StaffPostCreate,
    StaffPostPublic,
)
from core.errors import InvalidInput
from core.timeutil import InputTime, utcnow

router = APIRouter(prefix="/api/duty", tags=["值班"])


class RosterImport(BaseModel):
    year: int = Field(ge=2000, le=2100)
    month: int = Field(ge=1, le=12)
    rows: list[duty.ShiftImportRow] | None = None
    csv: str | None = None  # 日期,用户,角色(值班员/带班领导)[,开始时间,时长(小时),备注]


class HandoverIn(BaseModel):
    to_user_id: DbId | None = None
    note: str = Field(default="", max_length=4000)


class OnDuty(BaseModel):
    at: datetime
    shifts: list[DutyShiftPublic]


@router.get("/shifts", response_model=list[DutyShiftPublic])
def list_shifts(session: SessionDep, _: CurrentUser, start: InputTime | None = None,
                end: InputTime | None = None, include_cancelled: bool = False) -> list[DutyShift]:
    """排班（默认今后 31 天）。"""
    start = start or utcnow()
    return duty.get_shifts(session=session, start=start, end=end or start + timedelta(days=31),
                           include_cancelled=include_cancelled)


@router.post("/shifts", response_model=DutyShiftPublic, status_code=status.HTTP_201_CREATED)
def create_shift(session: SessionDep, user: Admin, body: DutyShiftCreate) -> DutyShift:
    """新增一个班次（仅管理员）。"""
    return duty.create_shift(session=session, shift_in=body, actor_id=user.id)


@router.post("/shifts/{shift_id}/cancel", response_model=DutyShiftPublic)
def cancel_shift(session: SessionDep, user: Admin, shift_id: IdPath,
                 note: Annotated[str, Body(embed=True)] = "") -> DutyShift:
    """取消班次（保留记录）。"""
    return duty.cancel_shift(session=session, shift_id=shift_id, actor_id=user.id, note=note)


@router.post("/import", response_model=list[DutyShiftPublic], status_code=status.HTTP_201_CREATED)
def import_month(session: SessionDep, user: Admin, body: RosterImport) -> list[DutyShift]:
    """导入一个月的排班（替换该月原排班，原排班标记取消）。"""
    rows = body.rows
    if rows is None:
        if not body.csv:
            raise InvalidInput("请提供排班数据（rows 或 csv）")
        rows = duty.parse_roster_csv(body.csv)
    return duty.import_month(session=session, year=body.year, month=body.month, rows=rows,
                             actor_id=user.id)


@router.get("/now", response_model=OnDuty)
def on_duty_now(session: SessionDep, _: CurrentUser,
                at: Annotated[InputTime | None, Query()] = None) -> OnDuty:
    """当前在岗的值班员和带班领导。"""
    moment = at or utcnow()
    return OnDuty(at=moment, shifts=[DutyShiftPublic.model_validate(s)
                                     for s in duty.on_duty(session=session, at=moment)])


@router.post("/handovers", response_model=HandoverPublic, status_code=status.HTTP_201_CREATED)
def handover(session: SessionDep, user: Dispatcher, body: HandoverIn) -> HandoverLog:
    """交接班：记录本班未签收的预警和未办结的工单。"""
    return duty.handover(session=session, from_user_id=user.id, to_user_id=body.to_user_id, note=body.note)


@router.get("/handovers", response_model=list[HandoverPublic])
def list_handovers(session: SessionDep, _: Dispatcher,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[HandoverLog]:
    """交接班记录（最新在前）。"""
    return duty.get_handovers(session=session, limit=limit)


@router.get("/posts", response_model=list[StaffPostPublic])
def list_posts(session: SessionDep, _: Dispatcher) -> list[StaffPost]:
    """督办对象：单位负责人、分管领导、主要领导及联系方式。"""
    return duty.get_posts(session=session)


@router.post("/posts", response_model=StaffPostPublic, status_code=status.HTTP_201_CREATED)
def create_post(session: SessionDep, user: Admin, body: StaffPostCreate) -> StaffPost:
    """设置督办对象（仅管理员）。"""
    return duty.create_post(session=session, post_in=body, actor_id=user.id)


@router.post("/posts/{post_id}/end", response_model=StaffPostPublic)
def end_post(session: SessionDep, user: Admin, post_id: IdPath) -> StaffPost:
    """结束任职（保留记录）。"""
    return duty.end_post(session=session, post_id=post_id, actor_id=user.id)
