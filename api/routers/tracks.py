"""专题 (special topics): define, edit, delete; a topic's page data and its 专报 in Word.

Duty staff, leaders and admins define topics; everybody may open them, and what a topic shows
passes through the caller's Scope (core.access): a handler sees his unit's matters only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.access import Visible, scope_for
from api.deps import Dispatcher, SessionDep
from api.params import IdPath
from core.topics import report, views
from core.topics import service as topics
from core.topics.models import TrackIn, TrackPublic, TrackUpdate
from core.topics.views import TrackOverview

router = APIRouter(prefix="/api/tracks", tags=["专题"])

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("", response_model=list[TrackPublic])
def list_tracks(session: SessionDep, scope: Visible) -> list[TrackPublic]:
    """专题列表（进行中的在前），mention_count 为当前账号可见的已标记信息数。"""
    return topics.get_all(session=session, scope=scope)


@router.post("", response_model=TrackPublic, status_code=status.HTTP_201_CREATED)
def create_track(session: SessionDep, user: Dispatcher, body: TrackIn) -> TrackPublic:
    """新建专题（值班人员、领导、管理员）：关键词规则（全部包含 / 包含任一 / 排除）、地名、时间范围；
    保存时即对时间范围内已采集的信息打标签，此后新采集的信息在分析时自动打标签。"""
    track = topics.create(session=session, track_in=body, actor_id=user.id)
    assert track.id is not None
    return topics.public(track, topics.count(session=session, track_id=track.id, scope=scope_for(user)))


@router.get("/{track_id}", response_model=TrackPublic)
def get_track(session: SessionDep, scope: Visible, track_id: IdPath) -> TrackPublic:
    """专题定义与已标记信息数。"""
    track = topics.get(session=session, track_id=track_id)
    return topics.public(track, topics.count(session=session, track_id=track_id, scope=scope))


@router.patch("/{track_id}", response_model=TrackPublic)
def update_track(session: SessionDep, user: Dispatcher, track_id: IdPath, body: TrackUpdate) -> TrackPublic:
    """修改专题；规则、地名、时间范围或启停有变化时重新对历史信息打标签（不再符合的去掉标签）。"""
    track = topics.update(session=session, track_id=track_id, changes=body, actor_id=user.id)
    return topics.public(track, topics.count(session=session, track_id=track_id, scope=scope_for(user)))


@router.delete("/{track_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_track(session: SessionDep, user: Dispatcher, track_id: IdPath) -> Response:
    """删除专题及其标签（信息本身保留）。"""
    topics.delete(session=session, track_id=track_id, actor_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{track_id}/overview", response_model=TrackOverview)
def track_overview(session: SessionDep, scope: Visible, track_id: IdPath) -> TrackOverview:
    """专题页：主要数据、每日走势、情感走势、渠道、地点、相关事件（含等级）与工单（含状态）、最新信息。"""
    track = topics.get(session=session, track_id=track_id)
    return views.overview(session=session, track=track, scope=scope)


@router.get("/{track_id}/report", response_model=None,
            responses={200: {"content": {DOCX: {}}, "description": "专报 Word 文档"}})
def track_report(session: SessionDep, scope: Visible, track_id: IdPath,
                 opinion: Annotated[str, Query(max_length=4000, description="研判意见（值班员填写）")] = "",
                 format: Annotated[Literal["docx"], Query(description="docx")] = "docx") -> Response:
    """专报（Word）：标题、监测时段、总体情况与数据、走势与分布图、重点事件（代表性帖文、处置与回应）、工单、研判意见。"""
    track = topics.get(session=session, track_id=track_id)
    data = views.overview(session=session, track=track, scope=scope)
    content = report.track_docx(session=session, overview=data, scope=scope, opinion=opinion)
    return Response(content, media_type=DOCX,
                    headers={"Content-Disposition": f'attachment; filename="{report.file_name(data)}"'})
