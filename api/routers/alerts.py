from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import Dispatcher, SessionDep
from api.params import IdPath
from api.schemas import AlertDismiss
from core.alerts import service as alerts
from core.alerts.models import Alert, AlertPublic
from core.audit.models import AuditLogPublic
from core.errors import NotFound

router = APIRouter(prefix="/api/alerts", tags=["预警"])


@router.get("", response_model=list[AlertPublic])
def list_alerts(session: SessionDep, _: Dispatcher,
                status: Literal["open", "acknowledged", "dismissed"] | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Alert]:
    """预警列表（最新在前），可按状态筛选。"""
    return alerts.get_all(session=session, status=status, limit=limit)


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(session: SessionDep, _: Dispatcher, alert_id: IdPath) -> Alert:
    """单条预警（含通知步骤）。"""
    alert = alerts.get(session=session, alert_id=alert_id)
    if alert is None:
        raise NotFound(f"预警不存在: {alert_id}")
    return alert


@router.get("/{alert_id}/timeline", response_model=list[AuditLogPublic])
def alert_timeline(session: SessionDep, _: Dispatcher, alert_id: IdPath) -> list[Any]:
    """预警的处理记录：生成、通知、再次提醒、升级、签收或驳回。"""
    return alerts.timeline(session=session, alert_id=alert_id)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge(session: SessionDep, user: Dispatcher, alert_id: IdPath) -> Alert:
    """签收预警（签收后不再提醒和升级）。"""
    return alerts.acknowledge(session=session, alert_id=alert_id, user_id=user.id)


@router.post("/{alert_id}/dismiss", response_model=AlertPublic)
def dismiss(session: SessionDep, user: Dispatcher, alert_id: IdPath, body: AlertDismiss) -> Alert:
    """驳回预警（误报），须填写原因。"""
    return alerts.dismiss(session=session, alert_id=alert_id, user_id=user.id,
                          reason=body.reason)
