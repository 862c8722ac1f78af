"""Request bodies and composite responses that only the HTTP layer needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.bounds import DbId
from core.events.models import EventPublic
from core.mentions.models import MentionPublic
from core.sanitize import WebUrl
from core.tickets.models import ResponsePublic, TicketPublic, TicketTimelinePublic
from core.timeutil import InputTime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int  # seconds


class Health(BaseModel):
    status: Literal["ok", "error"]
    database: Literal["ok", "error"]
    queue: Literal["redis", "embedded"]
    broker: Literal["ok", "error", "embedded"] = "embedded"
    # beat's last run: stale (503) after three sweep periods; unknown until it first ran.
    beat: Literal["ok", "stale", "unknown", "embedded"] = "embedded"
    beat_last_run: datetime | None = None
    version: str


class ManualMentionIn(BaseModel):
    """A hotline call or a post someone saw and typed in (人工录入 / 热线电话)."""

    channel: Literal["manual", "hotline"] = "manual"
    title: str = Field(default="", max_length=500)
    text: str = Field(default="", max_length=20000)
    author: str = Field(default="", max_length=200)
    url: WebUrl = Field(default="", max_length=2000)
    published_at: InputTime | None = None
    # The hotline system's call number, if any; resending it does not store it twice.
    external_id: str | None = Field(default=None, max_length=300)


class EventDetail(EventPublic):
    mentions: list[MentionPublic]  # oldest first: the event's timeline
    ticket_id: int | None = None
    ticket_state: str | None = None
    alert_id: int | None = None
    alert_status: str | None = None


class TicketOpen(BaseModel):
    event_id: DbId
    unit_id: DbId | None = None  # 牵头单位
    handler_id: DbId | None = None  # 承办人
    assisting_unit_ids: list[DbId] = []  # 协办单位
    note: str = Field(default="", max_length=2000)


class TicketAssign(BaseModel):
    unit_id: DbId
    handler_id: DbId | None = None
    note: str = Field(default="", max_length=2000)


class TicketTransition(BaseModel):
    to_state: str
    note: str = Field(default="", max_length=2000)


class TicketSignOff(BaseModel):
    note: str = Field(default="", max_length=2000)


class TicketNotes(BaseModel):
    online_note: str | None = None  # 线上情况
    offline_note: str | None = None  # 线下情况


class TicketDetail(TicketPublic):
    timeline: list[TicketTimelinePublic]
    responses: list[ResponsePublic]


class AlertDismiss(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class Problem(BaseModel):
    """Every error answer: one line for people (in Chinese)."""

    detail: str


class FieldError(BaseModel):
    """One refused field: where, why, and (short scalar values only) what was sent."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, str] | None = None


class ValidationProblem(Problem):
    """422: `detail` for people; `errors` for programs when a field failed validation
    (absent when the domain refused the request as a whole)."""

    errors: list[FieldError] = Field(default_factory=list)
