from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, json_dict_field, time_field
from core.sanitize import WebUrl
from core.timeutil import InputTime


class TicketState(StrEnum):
    triage = "triage"  # 待研判
    assigned = "assigned"  # 已交办
    handling = "handling"  # 处置中
    review = "review"  # 待审核
    responded = "responded"  # 已回应
    closed = "closed"  # 已办结
    dismissed = "dismissed"  # 误报


STATE_LABELS: dict[str, str] = {
    "triage": "待研判",
    "assigned": "已交办",
    "handling": "处置中",
    "review": "待审核",
    "responded": "已回应",
    "closed": "已办结",
    "dismissed": "误报",
}


class TicketBase(SQLModel):
    title: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=2000)


class Ticket(TicketBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", unique=True)  # one ticket per event
    grade: str | None = Field(default=None, max_length=3)
    topic: str = Field(default="other", max_length=20)
    state: str = Field(default=TicketState.triage.value, max_length=20, index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    handler_id: int | None = Field(default=None, foreign_key="app_user.id")
    first_handler_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    assigned_at: datetime | None = time_field()
    first_response_at: datetime | None = time_field()
    closed_at: datetime | None = time_field()
    first_info_due_at: datetime | None = time_field()
    response_due_at: datetime | None = time_field()
    close_due_at: datetime | None = time_field()
    online_note: str = Field(default="", sa_type=sa.Text)  # 线上情况
    offline_note: str = Field(default="", sa_type=sa.Text)  # 线下情况
    dismiss_reason: str = Field(default="", max_length=500)
    # Leader sign-off (签发) for grades I-II, required before a response is published.
    signed_off_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    signed_off_at: datetime | None = time_field()
    # 审核 with its confidentiality check (保密审查), before the sign-off.
    reviewed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    reviewed_at: datetime | None = time_field()
    confidentiality_checked: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    press_due_at: datetime | None = time_field()  # 新闻发布会 (grades I-II)
    # Clocks: closing counts `close_working_days` from `close_started_at` (reset on reopen);
    # time spent paused (waiting on a higher authority) is added back on resume.
    close_working_days: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    close_started_at: datetime | None = time_field()
    paused_at: datetime | None = time_field()
    pause_reason: str = Field(default="", max_length=500)
    paused_seconds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    paused_working_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reopened_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The close deadline was counted over days no calendar knows yet (Monday-Friday guessed);
    # it is recounted when the office calendar is entered.
    close_due_provisional: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # When the hour clocks (first info, response, press) started: the opening, or the moment
    # the event's grade rose and the ticket was re-graded. None: created_at.
    graded_at: datetime | None = time_field()
    # The public reply being written (回应稿): what the leader reads before signing off.
    draft_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    draft_updated_at: datetime | None = time_field()
    draft_updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class TicketCreate(SQLModel):
    event_id: int
    unit_id: int | None = None
    handler_id: int | None = None
    note: str = ""


class TicketPublic(TicketBase):
    id: int
    event_id: int
    grade: str | None
    topic: str
    state: str
    unit_id: int | None
    handler_id: int | None
    first_handler_id: int | None
    created_at: datetime
    assigned_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    first_info_due_at: datetime | None
    response_due_at: datetime | None
    close_due_at: datetime | None
    online_note: str
    offline_note: str
    dismiss_reason: str = ""
    signed_off_by_id: int | None
    signed_off_at: datetime | None
    reviewed_by_id: int | None = None
    reviewed_at: datetime | None = None
    confidentiality_checked: bool = False
    press_due_at: datetime | None = None
    close_working_days: int = 5
    paused_at: datetime | None = None
    pause_reason: str = ""
    paused_seconds: int = 0
    reopened_count: int = 0
    close_due_provisional: bool = False
    graded_at: datetime | None = None
    draft_text: str = ""
    draft_updated_at: datetime | None = None
    draft_updated_by_id: int | None = None


class TicketTimeline(SQLModel, table=True):
    """Every change to a ticket: who, when, from, to, note."""

    __tablename__ = "ticket_timeline"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    action: str = Field(max_length=30)
    from_state: str = Field(default="", max_length=20)
    to_state: str = Field(default="", max_length=20)
    note: str = Field(default="", max_length=2000)
    # Field-level before/after of the change: {"unit_id": [3, 5], ...}.
    changes: dict[str, Any] = json_dict_field()


class TicketTimelinePublic(SQLModel):
    id: int
    ticket_id: int
    at: datetime
    actor_id: int | None
    action: str
    from_state: str
    to_state: str
    note: str
    changes: dict[str, Any] = {}


class TicketUnit(SQLModel, table=True):
    """The units on a ticket besides the lead (`Ticket.unit_id`): 协办单位."""

    __tablename__ = "ticket_unit"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "unit_id", name="uq_ticket_unit"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(default="assist", max_length=20)
    created_at: datetime = created_at_field()
    removed_at: datetime | None = time_field()  # never deleted


class TicketClockPause(SQLModel, table=True):
    """A stretch of time the clocks stood still (waiting on a higher authority)."""

    __tablename__ = "ticket_clock_pause"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    started_at: datetime = time_field(nullable=False)
    ended_at: datetime | None = time_field()
    reason: str = Field(default="", max_length=500)
    started_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    ended_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class TicketClockPausePublic(SQLModel):
    id: int
    ticket_id: int
    started_at: datetime
    ended_at: datetime | None
    reason: str


class TicketEscalation(SQLModel, table=True):
    """One reminder or escalation step that fired; the unique key makes it fire once."""

    __tablename__ = "ticket_escalation"
    __table_args__ = (sa.UniqueConstraint("key", name="uq_ticket_escalation_key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    clock: str = Field(max_length=20)  # first_info | response | press | close
    step: int  # 0 = warning before the deadline, 1.. = escalation levels after it
    audience: str = Field(max_length=20)
    due_at: datetime = time_field(nullable=False)
    at: datetime = created_at_field()


class ResponseKind(StrEnum):
    response = "response"  # 回应
    interpretation = "interpretation"  # 政策解读


RESPONSE_CHANNELS: dict[str, str] = {
    "weibo": "微博",
    "wechat": "微信",
    "website": "网站",
    "press_conference": "新闻发布会",
    "briefing": "吹风会",
    "interview": "媒体采访",
    "policy_doc": "政策解读稿",
    "phone_callback": "电话回访",
    "online_interview": "政府网站在线访谈",
    "online_petition": "网络问政",  # 留言板、12345 网络平台答复: not counted as 回应舆情 in the annual table
}


RESPONSE_KIND_LABELS = {"response": "回应", "interpretation": "政策解读"}
PRESS_CHANNELS = {"press_conference", "briefing"}


class ResponseCreate(SQLModel):
    channel: str = Field(max_length=30)
    kind: str = Field(default=ResponseKind.response.value, max_length=20)
    url: WebUrl = Field(default="", max_length=2000)
    title: str = Field(default="", max_length=500)
    summary: str = Field(default="", max_length=4000)
    published_at: InputTime | None = None  # defaults to now
    # 主要负责同志参加 (the office's principal leader took part: press conference, online interview).
    leader_present: bool = False


class Response(SQLModel, table=True):
    # A client's retry with the same Idempotency-Key finds the response it already stored.
    __table_args__ = (sa.UniqueConstraint("ticket_id", "idempotency_key", name="uq_response_ticket_idempotency"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    channel: str = Field(max_length=30)
    kind: str = Field(default=ResponseKind.response.value, max_length=20, index=True)
    url: str = Field(default="", max_length=2000)
    title: str = Field(default="", max_length=500)
    summary: str = Field(default="", max_length=4000)
    published_at: datetime = time_field(index=True, nullable=False)
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = time_field()
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    idempotency_key: str | None = Field(default=None, max_length=100)
    leader_present: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class ResponsePublic(SQLModel):
    id: int
    ticket_id: int
    channel: str
    kind: str
    url: str
    title: str
    summary: str
    published_at: datetime
    approved_by_id: int | None
    approved_at: datetime | None
    created_at: datetime
    leader_present: bool = False
