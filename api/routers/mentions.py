from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from api.deps import CurrentUser, Dispatcher, SessionDep
from api.schemas import ManualMentionIn
from core.errors import Forbidden, NotFound
from core.mentions import search
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate, MentionPublic
from core.mentions.search import Filters, MentionPage
from core.tickets import queues
from core.users.models import User
from worker.dispatch import enqueue_mentions

router = APIRouter(prefix="/api/mentions", tags=["信息"])


def _visible(session: SessionDep, user: User, mention: Mention | None, mention_id: int) -> Mention:
    if mention is None:
        raise NotFound(f"信息不存在: {mention_id}")
    if queues.event_ids_visible_to(user) is not None and (
            mention.event_id is None
            or not queues.can_see_event(session=session, user=user, event_id=mention.event_id)):
        raise Forbidden("只能查看本单位工单所涉及的信息")
    return mention


@router.get("", response_model=list[MentionPublic])
def list_mentions(session: SessionDep, user: CurrentUser, event_id: int | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> list[Mention]:
    """信息列表（最新在前），可按舆情事件筛选；承办人只看到本单位工单的信息。"""
    if queues.event_ids_visible_to(user) is not None and (
            event_id is None or not queues.can_see_event(session=session, user=user, event_id=event_id)):
        return []
    return mentions.get_all(session=session, event_id=event_id, limit=limit, offset=offset)


@router.get("/search", response_model=MentionPage)
def search_mentions(
        session: SessionDep, user: CurrentUser,
        q: Annotated[str, Query(max_length=100, description="关键词（空格分隔，须全部出现在标题、正文或作者中）")] = "",
        channel: Annotated[str | None, Query(description="渠道：weibo wechat forum board news hotline manual")] = None,
        source_id: int | None = None,
        topic: Annotated[str | None, Query(description="话题代码（人工改正优先）")] = None,
        sentiment: Annotated[Literal["negative", "neutral", "positive"] | None, Query()] = None,
        place: Annotated[str | None, Query(max_length=50, description="地名（辖区地名库中的名称）")] = None,
        relevant: Annotated[bool | None, Query(description="是否与本辖区相关")] = None,
        event_id: int | None = None,
        since: Annotated[datetime | None, Query(description="起始时间（含），ISO 8601")] = None,
        until: Annotated[datetime | None, Query(description="结束时间（不含），ISO 8601")] = None,
        cursor: Annotated[str | None, Query(max_length=200, description="上一页返回的 next_cursor")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> MentionPage:
    """检索采集到的信息：按关键词、渠道、来源、话题、情感、地名、相关性和时间筛选，最新在前，游标翻页。"""
    filters = Filters(q=q, channel=channel, source_id=source_id, topic=topic, sentiment=sentiment,
                      place=place, relevant=relevant, event_id=event_id, since=since, until=until)
    return search.search(session=session, filters=filters, cursor=cursor, limit=limit,
                         visible_events=queues.event_ids_visible_to(user))


@router.get("/{mention_id}", response_model=MentionPublic)
def get_mention(session: SessionDep, user: CurrentUser, mention_id: int) -> Mention:
    """单条信息。"""
    return _visible(session, user, mentions.get(session=session, mention_id=mention_id), mention_id)


@router.post("", response_model=MentionPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "同一条信息已录入过，返回已有记录"}})
def create_mention(session: SessionDep, user: CurrentUser, body: ManualMentionIn,
                   response: Response) -> Mention:
    """人工录入 / 热线电话：先入库，提交后再送入分析队列。"""
    external_id = body.external_id or f"{body.channel}-{uuid.uuid4().hex}"
    mention_in = MentionCreate(
        channel=body.channel, external_id=external_id, url=body.url, title=body.title,
        text=body.text, author=body.author or user.full_name or user.username,
        published_at=body.published_at,
    )
    result = mentions.ingest(session=session, mention_in=mention_in)
    # The queue carries only ids: the row must be committed before a worker looks for it.
    session.commit()
    if result.created:
        assert result.mention.id is not None
        enqueue_mentions([result.mention.id])
    else:
        response.status_code = status.HTTP_200_OK
    session.refresh(result.mention)  # embedded mode has analyzed it by now
    return result.mention


class LabelIn(BaseModel):
    topic: str


@router.post("/{mention_id}/label", response_model=MentionPublic)
def label_mention(session: SessionDep, user: Dispatcher, mention_id: int, body: LabelIn) -> Mention:
    """改正话题分类（值班人员、领导）：记入训练数据，下次训练模型时使用。"""
    return mentions.relabel(session=session, mention_id=mention_id, topic=body.topic, actor_id=user.id)
