from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import Dispatcher, SessionDep
from api.params import IdPath, OffsetQuery
from api.schemas import AlertDismiss
from core.alerts import service as alerts
from core.alerts import views
from core.alerts.views import AlertDetail, AlertRow
from core.audit.models import AuditLogPublic

router = APIRouter(prefix="/api/alerts", tags=["预警"])


@router.get("", response_model=list[AlertRow])
def list_alerts(session: SessionDep, _: Dispatcher,
                state: Annotated[Literal["open", "acknowledged", "closed", "all"] | None,
                                 Query(description="open 待签收 / acknowledged 已签收 / closed 已关闭（含误报）/ all")
                                 ] = None,
                status: Annotated[Literal["open", "acknowledged", "dismissed", "closed"] | None,
                                  Query(description="旧参数：按单一状态筛选")] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: OffsetQuery = 0) -> list[AlertRow]:
    """预警收件箱：每个事件一行（等级升高时更新该行），最新在前；含等级、原因、话题、信息数和工单。"""
    return views.rows(session=session, state=state or "all", limit=limit, offset=offset,
                      status=status if state is None else None)


@router.get("/{alert_id}", response_model=AlertDetail)
def get_alert(session: SessionDep, _: Dispatcher, alert_id: IdPath) -> AlertDetail:
    """单条预警，含事件的原帖（正文、来源、作者、时间、链接、互动量）。"""
    return views.detail(session=session, alert_id=alert_id)


@router.get("/{alert_id}/timeline", response_model=list[AuditLogPublic])
def alert_timeline(session: SessionDep, _: Dispatcher, alert_id: IdPath) -> list[Any]:
    """预警的处理记录：生成、通知、再次提醒、升级、签收、驳回或关闭。"""
    return alerts.timeline(session=session, alert_id=alert_id)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail)
def acknowledge(session: SessionDep, user: Dispatcher, alert_id: IdPath) -> AlertDetail:
    """签收预警（签收后不再提醒和升级）。"""
    alerts.acknowledge(session=session, alert_id=alert_id, user_id=user.id)
    session.flush()
    return views.detail(session=session, alert_id=alert_id)


@router.post("/{alert_id}/dismiss", response_model=AlertDetail)
def dismiss(session: SessionDep, user: Dispatcher, alert_id: IdPath, body: AlertDismiss) -> AlertDetail:
    """标记误报（须填写原因，原帖进入分类器训练样本）。"""
    alerts.dismiss(session=session, alert_id=alert_id, user_id=user.id, reason=body.reason)
    session.flush()
    return views.detail(session=session, alert_id=alert_id)
