from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.access import Visible, event_for
from api.deps import SessionDep
from api.params import IdPath, OffsetQuery
from api.schemas import EventDetail
from core.events import service as events
from core.events.models import Event, EventPublic
from core.mentions import service as mentions
from core.mentions.models import MentionPublic

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
    """单个舆情事件及其信息。"""
    event = event_for(session=session, scope=scope, event_id=event_id)
    items = mentions.get_all(session=session, event_id=event_id, limit=500, scope=scope)
    return EventDetail.model_validate({
        **EventPublic.model_validate(event).model_dump(),
        "mentions": [MentionPublic.model_validate(m) for m in items],
    })
