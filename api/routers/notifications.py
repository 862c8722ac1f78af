from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from api.deps import Admin, Dispatcher, SessionDep
from api.params import IdPath, IdQuery
from core.notify import service as notify
from core.notify.models import (
    Notification,
    NotificationChannel,
    NotificationChannelCreate,
    NotificationChannelPublic,
    NotificationChannelUpdate,
    NotificationPublic,
)
from core.redact import mask

router = APIRouter(prefix="/api/notifications", tags=["通知"])


def public(channel: NotificationChannel) -> NotificationChannelPublic:
    """A channel with its secret masked (the URL is masked when the model is serialised)."""
    return NotificationChannelPublic.model_validate({**channel.model_dump(), "has_secret": bool(channel.secret),
                                                     "secret_masked": mask(channel.secret)})


@router.get("/channels", response_model=list[NotificationChannelPublic])
def list_channels(session: SessionDep, _: Admin) -> list[NotificationChannelPublic]:
    """通知渠道（企业微信/钉钉机器人、邮件、Webhook）及其分发规则。"""
    return [public(c) for c in notify.get_channels(session=session)]


@router.post("/channels", response_model=NotificationChannelPublic, status_code=status.HTTP_201_CREATED)
def create_channel(session: SessionDep, user: Admin, body: NotificationChannelCreate) -> NotificationChannelPublic:
    """新增通知渠道（仅管理员）。"""
    return public(notify.create_channel(session=session, channel_in=body, actor_id=user.id))


@router.patch("/channels/{channel_id}", response_model=NotificationChannelPublic)
def update_channel(session: SessionDep, user: Admin, channel_id: IdPath,
                   body: NotificationChannelUpdate) -> NotificationChannelPublic:
    """修改通知渠道或停用（不删除）。"""
    return public(notify.update_channel(session=session, channel_id=channel_id, channel_in=body,
                                        actor_id=user.id))


class ChannelTestResult(BaseModel):
    sent: bool
    error: str  # why it failed (never containing the channel's key)


@router.post("/channels/{channel_id}/test", response_model=ChannelTestResult)
def test_channel(session: SessionDep, user: Admin, channel_id: IdPath) -> ChannelTestResult:
    """立即发送一条测试消息（仅管理员），返回是否送达及失败原因。"""
    sent, error = notify.send_test(session=session, channel_id=channel_id, actor_id=user.id)
    return ChannelTestResult(sent=sent, error=error)


@router.get("", response_model=list[NotificationPublic])
def list_notifications(session: SessionDep, _: Dispatcher, status: str | None = None,
                       channel_id: IdQuery = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Notification]:
    """通知发送记录（最新在前）。"""
    return notify.get_all(session=session, status=status, channel_id=channel_id, limit=limit)


@router.get("/failed", response_model=list[NotificationPublic])
def list_failed(session: SessionDep, _: Dispatcher,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Notification]:
    """发送失败、已停止自动重发的通知（最新在前）；uncertain_attempts > 0 表示对方可能已收到。"""
    return notify.get_failed(session=session, limit=limit)


@router.post("/{notification_id}/resend", response_model=NotificationPublic,
             responses={404: {"description": "通知不存在"}, 409: {"description": "该通知不是发送失败状态"}})
def resend(session: SessionDep, user: Dispatcher,
           notification_id: IdPath) -> Notification:
    """重发一条发送失败的通知（值班人员操作，记入审计）。"""
    return notify.resend(session=session, notification_id=notification_id, actor_id=user.id)
