from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from api.deps import Dispatcher, SessionDep
from api.params import IdPath
from api.schemas import Problem
from core.errors import InvalidInput
from core.reports import briefing, briefing_send, dashboard, documents, pdf
from core.reports import service as reports
from core.timeutil import to_local, utcnow

router = APIRouter(tags=["统计报表"])


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
Period = Literal["daily", "weekly", "monthly"]


class ReportFormats(BaseModel):
    """What this installation can export (the page offers only these)."""

    briefing: list[str] = Field(description="舆情日报/周报/月报可用的 format 值")
    pdf: bool = Field(description="是否可导出 PDF（服务器装有 LibreOffice）")
    pdf_note: str = Field(default="", description="不可导出 PDF 时的原因")


class BriefingSendIn(BaseModel):
    period: Period = "daily"
    date: dt.date | None = Field(default=None, description="报告所在日（北京时间），默认今天")
    opinion: str = Field(default="", max_length=4000, description="研判意见")


class BriefingSendOut(BaseModel):
    document_id: int
    filename: str
    channels: int = Field(description="已加入发送队列的渠道数")
    link_expires_at: datetime


def _check_day(day: date | None) -> None:
    if day is not None and not 2000 <= day.year <= 2100:
        raise InvalidInput("日期超出范围")


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


@router.get("/api/reports/formats", response_model=ReportFormats)
def report_formats(_: Dispatcher) -> ReportFormats:
    """可导出的报告格式：PDF 仅在服务器装有 LibreOffice 时可用。"""
    can_pdf = pdf.converter() is not None
    return ReportFormats(briefing=["json", "docx", *(["pdf"] if can_pdf else [])], pdf=can_pdf,
                         pdf_note="" if can_pdf else pdf.MISSING)


@router.get("/api/reports/briefing", response_model=None,
            responses={200: {"content": {"application/json": {"schema": {"type": "object",
                                                                         "additionalProperties": True}},
                                         DOCX: {}, PDF: {}},
                              "description": "JSON，或 format=docx/pdf 时的 Word/PDF 文档"},
                       501: {"model": Problem, "description": "服务器无法导出 PDF（未安装 LibreOffice）"}})
def briefing_report(session: SessionDep, _: Dispatcher,
                    period: Annotated[Period, Query(description="daily 日报、weekly 周报（周一至日）、monthly 月报")]
                    = "daily",
                    date_: Annotated[date | None, Query(alias="date", description="报告所在日（北京时间），默认今天")]
                    = None,
                    opinion: Annotated[str, Query(max_length=4000, description="研判意见（值班员填写）")] = "",
                    format: Annotated[Literal["json", "docx", "pdf"],
                                      Query(description="json、docx，或 pdf（见 /api/reports/formats）")] = "json",
                    ) -> dict[str, Any] | Response:
    """舆情日报/周报/月报：主要数据与上期对比、走势与分布、重点舆情、超期事项、监测源异常、研判意见。"""
    _check_day(date_)
    if format == "pdf":
        pdf.require()  # 501 before the document is built
    data = briefing.briefing(session=session, period=period, day=date_, opinion=opinion)
    if format in ("docx", "pdf"):
        name = f"yuqing-briefing-{period}-{data['since']}.{format}"
        content = documents.briefing_docx(data)
        if format == "pdf":
            content = pdf.docx_to_pdf(content)
        return Response(content, media_type=DOCX if format == "docx" else PDF,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return data


@router.post("/api/reports/briefing/send", response_model=BriefingSendOut, status_code=status.HTTP_201_CREATED)
def briefing_send_now(session: SessionDep, user: Dispatcher, body: BriefingSendIn) -> BriefingSendOut:
    """立即报送：按所填研判意见生成 Word 报告，发往已启用的通知渠道（邮件附文件，企业微信/钉钉发下载链接）。

    下载链接免登录、限期有效（briefing_link_days），每次下载记入操作日志。没有可用渠道时 409。
    """
    _check_day(body.date)
    doc, rows = briefing_send.send_now(session=session, period=body.period, day=body.date,
                                       opinion=body.opinion, actor_id=user.id)
    assert doc.id is not None
    return BriefingSendOut(document_id=doc.id, filename=doc.filename, channels=len(rows),
                           link_expires_at=doc.expires_at)


@router.get("/api/reports/briefing/documents/{document_id:int}/file", response_model=None,
            responses={200: {"content": {DOCX: {}}, "description": "报送的 Word 报告"}})
def briefing_document_file(session: SessionDep, document_id: IdPath,
                           token: Annotated[str, Query(min_length=16, max_length=200,
                                                       description="报送消息中的下载令牌")]) -> Response:
    """报送消息里的下载链接（免登录）：令牌正确且未过期时返回当时报送的 Word 文件；每次下载均记录。"""
    doc = briefing_send.open_by_link(session=session, document_id=document_id, token=token)
    return Response(bytes(doc.content), media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}"', "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer"})


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
