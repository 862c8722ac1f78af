from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import field_serializer
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, json_dict_field, json_list_field, time_field
from core.redact import redact_text, redact_url


class ChannelKind(StrEnum):
    wecom = "wecom"  # 企业微信群机器人
    dingtalk = "dingtalk"  # 钉钉群机器人 (加签)
    email = "email"
    webhook = "webhook"


CHANNEL_KIND_LABELS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "email": "电子邮件",
                       "webhook": "通用 Webhook"}


class NotificationChannelBase(SQLModel):
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=20)
    # wecom/dingtalk/webhook: the webhook URL; email: smtp://[user:pass@]host[:port] or empty (settings).
    url: str = Field(default="", max_length=2000)
    secret: str = Field(default="", max_length=200)  # DingTalk 加签 secret; webhook HMAC key
    # Routing: empty means "all". Audiences: duty, duty_leader, handler, unit_head, deputy_leader, principal.
    grades: list[str] = json_list_field()
    topics: list[str] = json_list_field()
    unit_ids: list[int] = json_list_field()
    audiences: list[str] = json_list_field()
    config: dict[str, Any] = json_dict_field()  # email: {"to": [...], "from": "..."}
    enabled: bool = True


class NotificationChannelCreate(NotificationChannelBase):
    pass


class NotificationChannelUpdate(SQLModel):
    url: str | None = None
    secret: str | None = None
    grades: list[str] | None = None
    topics: list[str] | None = None
    unit_ids: list[int] | None = None
    audiences: list[str] | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class NotificationChannel(NotificationChannelBase, table=True):
    __tablename__ = "notification_channel"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()


class NotificationChannelPublic(SQLModel):
    """A channel as responses show it: the URL's keys and password masked (`…abcd`), the
    signing secret only as `secret_masked`."""

    id: int
    name: str
    kind: str
    url: str
    has_secret: bool
    secret_masked: str = ""
    grades: list[str]
    topics: list[str]
    unit_ids: list[int]
    audiences: list[str]
    enabled: bool
    created_at: datetime

    @field_serializer("url")
    def _masked_url(self, url: str) -> str:
        return redact_url(url)


class NotificationStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by one worker
    held = "held"  # over the rate limit: waits to go out in a digest
    digested = "digested"  # went out inside a digest
    sent = "sent"
    failed = "failed"  # gave up after the retries
    cancelled = "cancelled"  # an empty digest another worker beat to its messages


class Notification(SQLModel, table=True):
    """The outbox: one message for one channel. The unique key makes every notice go once."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),
        sa.Index("ix_notification_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200)
    channel_id: int = Field(foreign_key="notification_channel.id", index=True)
    subject: str = Field(default="", max_length=200)
    body: str = Field(default="", sa_type=sa.Text)
    link: str = Field(default="", max_length=2000)
    recipients: list[dict[str, Any]] = json_list_field()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True)
    status: str = Field(default=NotificationStatus.pending.value, max_length=20)
    attempts: int = 0  # counted when an attempt starts, before the message leaves
    # Attempts whose outcome is unknown (no answer in time, or the sending worker died): the
    # receiver may have the message, so these are capped (settings.notify_max_uncertain_attempts).
    uncertain_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    failed_at: datetime | None = time_field()  # given up: shown to the duty officer to resend
    next_attempt_at: datetime = created_at_field()
    claimed_at: datetime | None = time_field()
    sent_at: datetime | None = time_field()
    last_error: str = Field(default="", max_length=1000)
    digest_id: int | None = Field(default=None, foreign_key="notification.id")
    # A briefing's Word file: attached to an e-mail (robots get a download link in the body).
    document_id: int | None = Field(default=None, foreign_key="briefing_document.id")
    created_at: datetime = created_at_field()


class NotificationPublic(SQLModel):
    id: int
    dedupe_key: str
    channel_id: int
    subject: str
    body: str
    link: str
    ticket_id: int | None
    alert_id: int | None
    status: str
    attempts: int
    uncertain_attempts: int = 0  # > 0: the receiver may have got it although no answer said so
    failed_at: datetime | None = None
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str
    digest_id: int | None
    document_id: int | None = None  # a briefing's Word file (attached to e-mails)
    created_at: datetime

    @field_serializer("last_error")
    def _masked_error(self, error: str) -> str:
        return redact_text(error)

    @field_serializer("body", "link")
    def _masked_links(self, text: str) -> str:
        # A briefing's download link carries a token that opens the file without a login.
        return redact_text(text)
