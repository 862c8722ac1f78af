"""The office calendar (节假日安排): read by everyone signed in, written by admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from api.deps import Admin, CurrentUser, SessionDep
from core.calendar import service as office_calendar
from core.calendar.models import CalendarDayIn, CalendarDayPublic, CalendarImportResult, CalendarStatus
from core.errors import InvalidInput

router = APIRouter(prefix="/api/calendar", tags=["节假日安排"])
MAX_UPLOAD_BYTES = 256 * 1024  # a year's notice is a few dozen lines


@router.get("/days", response_model=list[CalendarDayPublic])
def list_days(session: SessionDep, _: CurrentUser,
              year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> list[CalendarDayPublic]:
    """录入的放假日和调休上班日（按日期排序）；不含 chinesecalendar 已知的安排。"""
    return [CalendarDayPublic(date=d.day, kind=d.kind, name=d.name, note=d.note)  # type: ignore[arg-type]
            for d in office_calendar.get_all(session=session, year=year)]


@router.post("/days", response_model=CalendarDayPublic)
def put_day(session: SessionDep, user: Admin, body: CalendarDayIn) -> CalendarDayPublic:
    """录入或修改一天（按日期覆盖）；未办结工单的办结时限随之重新计算。"""
    row = office_calendar.upsert(session=session, day_in=body, actor_id=user.id)
    return CalendarDayPublic(date=row.day, kind=row.kind, name=row.name, note=row.note)  # type: ignore[arg-type]


@router.delete("/days/{day}", status_code=status.HTTP_204_NO_CONTENT)
def delete_day(session: SessionDep, user: Admin, day: date) -> Response:
    """删除录入的一天（恢复按 chinesecalendar 计算）；未办结工单的办结时限随之重新计算。"""
    office_calendar.delete(session=session, day=day, actor_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/import", response_model=CalendarImportResult)
def import_days(session: SessionDep, user: Admin,
                      file: Annotated[UploadFile, File(description="CSV：date,kind,name（UTF-8 或 GBK）")]
                      ) -> CalendarImportResult:
    """导入国务院办公厅放假通知的日期表（CSV：date,kind,name）；有错误行时整表不导入。"""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput("文件过大（节假日安排表不应超过 256 KB）")
    return office_calendar.import_csv(session=session, data=data, actor_id=user.id)


@router.get("/status", response_model=CalendarStatus)
def calendar_status(session: SessionDep, _: CurrentUser) -> CalendarStatus:
    """工作日历已知到哪一天；距用完不足 60 天时给出提醒（如“2027年节假日安排尚未录入”）。"""
    return office_calendar.status(session=session)
