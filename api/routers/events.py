from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.deps import CurrentUser, SessionDep
from api.schemas import EventDetail
from core.alerts import service as alert_service
from core.errors import Forbidden, NotFound
from core.events import service as events
from core.events import views as event_views
from core.events.models import Event, EventPublic
from core.mentions import service as mentions
from core.mentions.models import MentionPublic
from core.tickets import queues
from core.tickets import service as ticket_service
from core.timeutil import ensure_utc
from core.users.models import User

router = APIRouter(prefix="/api/events", tags=["舆情事件"])


def _check(session: SessionDep, user: User, event_id: int) -> None:
    if events.get(session=session, event_id=event_id) is None:
        raise NotFound(f"舆情事件不存在: {event_id}")
    if not queues.can_see_event(session=session, user=user, event_id=event_id):
        raise Forbidden("只能查看本单位工单所涉及的舆情事件")


@router.get("", response_model=list[EventPublic])
def list_events(session: SessionDep, user: CurrentUser, grade: str | None = None,
                topic: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[Event]:
    """舆情事件（最近活跃在前），可按等级（I–IV）和话题筛选；承办人只看到本单位工单的事件。"""
    visible = queues.event_ids_visible_to(user)
    if visible is None:
        return events.get_all(session=session, grade=grade, topic=topic, limit=limit, offset=offset)
    stmt = select(Event).where(col(Event.id).in_(visible))
    if grade:
        stmt = stmt.where(Event.grade == grade)
    if topic:
        stmt = stmt.where(Event.topic == topic)
    stmt = stmt.order_by(col(Event.last_seen_at).desc(), col(Event.id).desc())
    return list(session.exec(stmt.offset(offset).limit(limit)))


@router.get("/{event_id}", response_model=EventDetail)
def get_event(session: SessionDep, user: CurrentUser, event_id: int) -> EventDetail:
    """单个舆情事件：其信息（按时间先后）、工单和预警。"""
    _check(session, user, event_id)
    event = events.get(session=session, event_id=event_id)
    items = mentions.get_all(session=session, event_id=event_id, limit=500)
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
def grade_history(session: SessionDep, user: CurrentUser, event_id: int) -> list[event_views.GradeChange]:
    """等级变化记录（每次定级或升级的时间与原因），最早在前。"""
    _check(session, user, event_id)
    return event_views.grade_history(session=session, event_id=event_id)


@router.get("/{event_id}/spread", response_model=event_views.EventSpread)
def spread(session: SessionDep, user: CurrentUser, event_id: int) -> event_views.EventSpread:
    """传播情况：各渠道信息数与互动量，逐小时（北京时间）信息数与互动量。"""
    _check(session, user, event_id)
    return event_views.spread(session=session, event_id=event_id)
