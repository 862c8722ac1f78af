from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import Dispatcher, SessionDep
from core.errors import InvalidInput
from core.reports import briefing, dashboard, documents
from core.reports import service as reports
from core.timeutil import to_local, utcnow

router = APIRouter(tags=["统计报表"])


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/api/reports/annual", response_model=None,
            responses={200: {"content": {"application/json": {"schema": {"type": "object",
                                                                         "additionalProperties": True}},
                                         DOCX: {}},
                              "description": "JSON，或 format=docx 时的 Word 文档"}})
def annual(session: SessionDep, _: Dispatcher,
           year: Annotated[int | None, Query(ge=2000, le=2100, description="年份，默认今年")] = None,
           format: Annotated[Literal["json", "docx"], Query(description="json 或 docx（回应解读情况一节）")] = "json",
           ) -> dict[str, Any] | Response:
    """年度政务舆情回应统计与年报段落（responded_events、policy_interpretations 等；全办数据，承办人不可见）。

    rows：年报“回应解读情况”表的各行（含两行“其中”），value 本年、previous 上年、change 同比增减。
    """
    year = year if year is not None else to_local(utcnow()).year
    try:
        figures = reports.annual(session=session, year=year)
    except ValueError as exc:  # year_bounds refuses years outside 2000-2100
        raise InvalidInput(str(exc)) from exc
    if format == "docx":
        return Response(documents.annual_docx(figures), media_type=DOCX, headers={
            "Content-Disposition": f'attachment; filename="yuqing-annual-{year}.docx"'})
    return figures


@router.get("/api/reports/briefing", response_model=None,
            responses={200: {"content": {"application/json": {"schema": {"type": "object",
                                                                         "additionalProperties": True}},
                                         DOCX: {}},
                              "description": "JSON，或 format=docx 时的 Word 文档"}})
def briefing_report(session: SessionDep, _: Dispatcher,
                    period: Annotated[Literal["daily", "weekly", "monthly"],
                                      Query(description="daily 日报、weekly 周报（周一至日）、monthly 月报")] = "daily",
                    date_: Annotated[date | None, Query(alias="date", description="报告所在日（北京时间），默认今天")]
                    = None,
                    opinion: Annotated[str, Query(max_length=4000, description="研判意见（值班员填写）")] = "",
                    format: Annotated[Literal["json", "docx"], Query(description="json 或 docx")] = "json",
                    ) -> dict[str, Any] | Response:
    """舆情日报/周报/月报：主要数据与上期对比、走势与分布、重点舆情、超期事项、监测源异常、研判意见。"""
    if date_ is not None and not 2000 <= date_.year <= 2100:
        raise InvalidInput("日期超出范围")
    data = briefing.briefing(session=session, period=period, day=date_, opinion=opinion)
    if format == "docx":
        name = f"yuqing-briefing-{period}-{data['since']}.docx"
        return Response(documents.briefing_docx(data), media_type=DOCX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return data


@router.get("/api/dashboard/summary", response_model=dashboard.DashboardSummary)
def dashboard_summary(session: SessionDep, _: Dispatcher,
                      days: Annotated[int, Query(ge=1, le=dashboard.MAX_DAYS,
                                                 description="近 N 天（7、30、90、365 …）")] = 30,
                      since: Annotated[date | None, Query(description="自定义起始日（北京时间，含）")] = None,
                      until: Annotated[date | None, Query(description="自定义结束日（含），默认今天")] = None
                      ) -> dashboard.DashboardSummary:
    """领导看板：趋势、话题、情感、渠道、地域分布、等级、回应及时率、热点事件、各单位在办与超期工单、未处理预警。

    承办人看不到全局统计（请用工作台 /api/workspace）。
    """
    return dashboard.summary(session=session, days=days, since=since, until=until)
