from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access import Visible
from api.deps import Dispatcher, SessionDep
from core.errors import InvalidInput
from core.reports import dashboard
from core.reports import service as reports
from core.timeutil import to_local, utcnow

router = APIRouter(tags=["统计报表"])


@router.get("/api/reports/annual")
def annual(session: SessionDep, _: Dispatcher,
           year: Annotated[int | None, Query(ge=2000, le=2100, description="年份，默认今年")] = None
           ) -> dict[str, Any]:
    """年度政务舆情回应统计与年报段落（responded_events、policy_interpretations 等；全办数据，承办人不可见）。"""
    year = year if year is not None else to_local(utcnow()).year
    try:
        return reports.annual(session=session, year=year)
    except ValueError as exc:  # year_bounds refuses years outside 2000-2100
        raise InvalidInput(str(exc)) from exc


@router.get("/api/dashboard/summary", response_model=dashboard.DashboardSummary)
def dashboard_summary(session: SessionDep, scope: Visible,
                      days: Annotated[int, Query(ge=1, le=dashboard.MAX_DAYS)] = 30
                      ) -> dashboard.DashboardSummary:
    """大屏数据：各项计数、近 N 天（北京时间）信息量与负面信息趋势、未处理预警；承办人只统计本单位工单。"""
    return dashboard.summary(session=session, days=days, scope=scope)
