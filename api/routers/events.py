from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.access import Visible, event_for
from api.deps import SessionDep
from api.params import IdPath, OffsetQuery
from api.schemas import EventDetail
from core.alerts import service as alert_service
from core.events import service as events
from core.events import views as event_views
from core.events.models import Event, EventPublic
from core.mentions import service as mentions
from core.mentions.models import MentionPublic
from core.tickets import service as ticket_service
from core.timeutil import ensure_utc

router = APIRouter(prefix="/api/events", tags=["舆情事件"])


@router.get("", response_model=list[EventPublic])
def list_events(session: SessionDep, scope: Visible, grade: str | None = None,
                topic: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: OffsetQuery = 0) -> list[Event]:
    """舆情事件（最近活跃在前），可按等级（I–IV）和话题筛选；承办人只看到本单位工单的事件。"""
    return events.get_all(session=session, grade=grade, topic=topic, limit=limit, offset=offset,
                          scope=scope)


@router.get("/{event_id}", response_model=EventDetail)
def get_event(session: SessionDep, scope: Visible, event_id: IdPath) -> EventDetail:
    """单个舆情事件：其信息（按时间先后）、工单和预警。"""
    event = event_for(session=session, scope=scope, event_id=event_id)
    items = mentions.get_all(session=session, event_id=event_id, limit=500, scope=scope)
    items.sort(key=lambda m: (ensure_utc(m.seen_at or m.created_at), m.id or 0))
    ticket = ticket_service.get_for_event(session=session, event_id=event_id)
    alert = alert_service.for_event(session=session, event_id=event_id)
    return EventDetail.model_validate({
        **EventPublic.model_validate(event).model_dump(),
        "mentions": [MentionPublic.model_validate(m) for m in items],
        "ticket_id": ticket.id if ticket else None, "ticket_state": ticket.state if ticket else None,
        "alert_id": alert.id if alert else None, "alert_status": alert.status if alert else None,
    })


@router.get("/{event_id}/grades", response_model=list[event_views.GradeChange])
def grade_history(session: SessionDep, scope: Visible, event_id: IdPath) -> list[event_views.GradeChange]:
    """等级变化记录（每次定级或升级的时间与原因），最早在前。"""
    event_for(session=session, scope=scope, event_id=event_id)
    return event_views.grade_history(session=session, event_id=event_id)


@router.get("/{event_id}/spread", response_model=event_views.EventSpread)
def spread(session: SessionDep, scope: Visible, event_id: IdPath) -> event_views.EventSpread:
    """传播情况：各渠道信息数与互动量，逐小时（北京时间）信息数与互动量。"""
    event_for(session=session, scope=scope, event_id=event_id)
    return event_views.spread(session=session, event_id=event_id)
