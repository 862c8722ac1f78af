from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from api.access import Visible, mention_for
from api.deps import Dispatcher, SessionDep
from api.params import IdempotencyKey, IdPath, IdQuery, OffsetQuery
from api.persist import reload
from api.schemas import ManualMentionIn
from core.mentions import search
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate, MentionPublic
from core.mentions.search import Filters, MentionPage
from core.timeutil import InputTime
from worker.dispatch import enqueue_mentions

router = APIRouter(prefix="/api/mentions", tags=["信息"])


@router.get("", response_model=list[MentionPublic])
def list_mentions(session: SessionDep, scope: Visible, event_id: IdQuery = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100,
                  offset: OffsetQuery = 0) -> list[Mention]:
    """信息列表（最新在前），可按舆情事件筛选；承办人只看到本单位工单的信息。"""
    return mentions.get_all(session=session, event_id=event_id, limit=limit, offset=offset, scope=scope)


@router.get("/search", response_model=MentionPage)
def search_mentions(
        session: SessionDep, scope: Visible,
        q: Annotated[str, Query(max_length=100, description=(
            "关键词（空格分隔，每个词须出现在标题、正文或作者中；一个字起即可；"
            "英文字母不分大小写，其他字符须一致）"))] = "",
        channel: Annotated[str | None, Query(description="渠道：weibo wechat forum board news hotline manual")] = None,
        source_id: IdQuery = None,
        topic: Annotated[str | None, Query(description="话题代码（人工改正优先）")] = None,
        sentiment: Annotated[Literal["negative", "neutral", "positive"] | None, Query()] = None,
        place: Annotated[str | None, Query(max_length=50, description="地名（辖区地名库中的名称）")] = None,
        relevant: Annotated[bool | None, Query(description="是否与本辖区相关")] = None,
        event_id: IdQuery = None,
        since: Annotated[InputTime | None, Query(description="起始时间（含），ISO 8601")] = None,
        until: Annotated[InputTime | None, Query(description="结束时间（不含），ISO 8601")] = None,
        cursor: Annotated[str | None, Query(max_length=200, description="上一页返回的 next_cursor")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> MentionPage:
    """检索采集到的信息：按关键词、渠道、来源、话题、情感、地名、相关性和时间筛选，最新在前，游标翻页。"""
    filters = Filters(q=q, channel=channel, source_id=source_id, topic=topic, sentiment=sentiment,
                      place=place, relevant=relevant, event_id=event_id, since=since, until=until)
    return search.search(session=session, filters=filters, cursor=cursor, limit=limit,
                         visible_events=scope.event_ids() if scope.restricted else None)


@router.get("/{mention_id}", response_model=MentionPublic)
def get_mention(session: SessionDep, scope: Visible, mention_id: IdPath) -> Mention:
    """单条信息。"""
    return mention_for(session=session, scope=scope, mention_id=mention_id)


@router.post("", response_model=MentionPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "同一条信息已录入过，返回已有记录"}})
def create_mention(session: SessionDep, user: Dispatcher, body: ManualMentionIn,
                   response: Response, idempotency_key: IdempotencyKey = None) -> Mention:
    """人工录入 / 热线电话（值班人员、领导）：先入库，提交后再送入分析队列；带 Idempotency-Key 重试不会重复录入。"""
    if body.external_id:
        external_id = body.external_id
    elif idempotency_key:
        external_id = mentions.keyed_external_id(body.channel, user.id, idempotency_key)
    else:
        external_id = f"{body.channel}-{uuid.uuid4().hex}"
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
    return reload(session, result.mention)  # embedded mode has analyzed it by now


class LabelIn(BaseModel):
    topic: str


@router.post("/{mention_id}/label", response_model=MentionPublic)
def label_mention(session: SessionDep, user: Dispatcher, mention_id: IdPath, body: LabelIn) -> Mention:
    """改正话题分类（值班人员、领导）：记入训练数据，下次训练模型时使用。"""
    return mentions.relabel(session=session, mention_id=mention_id, topic=body.topic, actor_id=user.id)
