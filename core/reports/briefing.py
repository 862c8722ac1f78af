"""舆情日报 / 周报 / 月报: the figures of a period against the previous one, the top events, overdue
matters and silent sources, as JSON and as Word with charts.

Periods are Beijing calendar days: daily = the day; weekly = Monday..Sunday of the day's week;
monthly = the day's calendar month. The previous period is the one just before, of the same kind.
"""

from __future__ import annotations

import calendar as calendar_module
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.alerts.models import Alert
from core.analysis_labels import CHANNEL_LABELS, SOURCE_HEALTH_LABELS
from core.config import get_settings
from core.errors import InvalidInput
from core.events.models import Event
from core.mentions.models import Mention, MentionDay
from core.reports import dashboard
from core.sources.models import Source
from core.tickets.models import RESPONSE_CHANNELS, STATE_LABELS, Response, Ticket
from core.tickets.queues import overdue_clause
from core.timeutil import ensure_utc, to_local, utcnow
from core.units.models import Unit

PERIODS = {"daily": "日报", "weekly": "周报", "monthly": "月报"}
TROUBLED_HEALTH = ("error", "blocked", "login_expired", "silent", "captcha")
TOP_EVENTS = 5
POSTS_PER_EVENT = 3

FIGURES: tuple[tuple[str, str], ...] = (
    ("mentions", "监测信息（条）"),
    ("negative", "负面信息（条）"),
    ("events", "新发现事件（件）"),
    ("serious_events", "较大及以上事件（件）"),
    ("alerts", "预警（条）"),
    ("tickets", "开单（件）"),
    ("responses", "公开回应（次）"),
    ("closed", "办结（件）"),
)


def period_days(period: str, day: date) -> tuple[date, date]:
    """First and last local day (inclusive) of the period containing `day`."""
    if period == "daily":
        return day, day
    if period == "weekly":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if period == "monthly":
        last = calendar_module.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    raise InvalidInput(f"未知的报告周期: {period}（可选 daily、weekly、monthly）")


def previous_days(period: str, first: date) -> tuple[date, date]:
    return period_days(period, first - timedelta(days=1))


def _window(first: date, last: date) -> tuple[datetime, datetime]:
    return dashboard.local_day_start(first), dashboard.local_day_start(last + timedelta(days=1))


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(col(column) >= start, col(column) < end)


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one() or 0)


def _day_count(session: Session, first: date, last: date, *where: Any) -> int:
    """Mentions seen in the local days first..last, from the per-day counts."""
    return int(session.exec(select(func.coalesce(func.sum(MentionDay.n), 0)).where(
        col(MentionDay.day) >= first, col(MentionDay.day) <= last, *where)).one() or 0)


def figures(*, session: Session, first: date, last: date) -> dict[str, int]:
    """The key counts of [first, last]. A mention counts on the day it was said (seen_at)."""
    start, end = _window(first, last)
    return {
        "mentions": _day_count(session, first, last),
        "negative": _day_count(session, first, last, MentionDay.sentiment == "negative"),
        "events": _count(session, Event, _in(Event.first_seen_at, start, end)),
        "serious_events": _count(session, Event, _in(Event.first_seen_at, start, end),
                                 col(Event.grade).in_(("I", "II", "III"))),
        "alerts": _count(session, Alert, _in(Alert.created_at, start, end)),
        "tickets": _count(session, Ticket, _in(Ticket.created_at, start, end)),
        "responses": _count(session, Response, _in(Response.published_at, start, end)),
        "closed": _count(session, Ticket, _in(Ticket.closed_at, start, end), Ticket.state == "closed"),
    }


def _top_events(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    out = []
    for top in dashboard._top_events(session, start, end, limit=TOP_EVENTS):
        event = session.get(Event, top.id)
        assert event is not None
        posts = session.exec(
            select(Mention).where(Mention.event_id == top.id)
            .order_by((col(Mention.likes) + col(Mention.reposts) + col(Mention.comments)).desc(), col(Mention.id))
            .limit(POSTS_PER_EVENT)).all()
        responses: list[Response] = []
        if top.ticket_id is not None:
            responses = list(session.exec(select(Response).where(Response.ticket_id == top.ticket_id)
                                          .order_by(col(Response.published_at))).all())
        out.append({
            "id": top.id, "title": top.title, "grade": top.grade, "grade_label": top.grade_label,
            "reason": event.grade_reason, "topic_label": top.topic_label, "mention_count": top.mention_count,
            "engagement": top.engagement, "ticket_id": top.ticket_id, "ticket_state_label": top.ticket_state_label,
            "posts": [{"title": m.title, "text": m.text[:120], "channel": CHANNEL_LABELS.get(m.channel, m.channel),
                       "author": m.author, "url": m.url, "published_at": m.published_at} for m in posts],
            "responses": [{"channel": RESPONSE_CHANNELS.get(r.channel, r.channel), "title": r.title,
                           "published_at": r.published_at, "url": r.url} for r in responses],
        })
    return out


def _overdue(session: Session, at: datetime) -> list[dict[str, Any]]:
    stmt = (select(Ticket, Unit.name).outerjoin(Unit, col(Unit.id) == col(Ticket.unit_id))
            .where(overdue_clause(at)).order_by(col(Ticket.response_due_at), col(Ticket.id)).limit(50))
    out = []
    for ticket, unit in session.exec(stmt):
        late_response = ticket.first_response_at is None and ticket.response_due_at is not None \
            and ensure_utc(ticket.response_due_at) < at
        out.append({"ticket_id": ticket.id, "title": ticket.title, "unit": unit or "未交办",
                    "state_label": STATE_LABELS.get(ticket.state, ticket.state),
                    "deadline": "公开回应" if late_response else "办结",
                    "due_at": ticket.response_due_at if late_response else ticket.close_due_at})
    return out


def _silent_sources(session: Session, start: datetime) -> list[dict[str, Any]]:
    """Enabled sources in trouble, or that brought nothing new since the period began."""
    stmt = select(Source).where(Source.enabled == True).order_by(col(Source.name))  # noqa: E712
    out = []
    for s in session.exec(stmt):
        quiet = s.last_item_at is None or ensure_utc(s.last_item_at) < start
        if s.health in TROUBLED_HEALTH or quiet:
            out.append({"name": s.name, "health_label": SOURCE_HEALTH_LABELS.get(s.health, s.health),
                        "last_item_at": s.last_item_at})
    return out


def briefing(*, session: Session, period: str, day: date | None = None, opinion: str = "",
             now: datetime | None = None) -> dict[str, Any]:
    """The briefing of the period containing `day` (default: today in Beijing)."""
    now = ensure_utc(now) if now else utcnow()
    day = day or to_local(now).date()
    first, last = period_days(period, day)
    prev_first, prev_last = previous_days(period, first)
    start, end = _window(first, last)
    current = figures(session=session, first=first, last=last)
    previous = figures(session=session, first=prev_first, last=prev_last)
    # The trend shows days: a daily briefing shows its day and the six before it.
    trend_first = first - timedelta(days=6) if period == "daily" else first
    trend = dashboard._trend(session, trend_first, last)
    return {
        "office": get_settings().office_name,
        "period": period,
        "period_label": PERIODS[period],
        "since": first,
        "until": last,
        "previous_since": prev_first,
        "previous_until": prev_last,
        "generated_at": now,
        "figures": [{"key": k, "label": label, "value": current[k], "previous": previous[k],
                     "change": current[k] - previous[k]} for k, label in FIGURES],
        "trend": [{"date": p.date, "mentions": p.mentions, "negative": p.negative} for p in trend],
        "topics": [{"key": t.topic, "label": t.label, "count": t.count}
                   for t in dashboard._topics(session, start, end)],
        "sentiment": [c.model_dump() for c in dashboard._mention_counts(
            session, "sentiment", first, last, dashboard.SENTIMENT_LABELS)],
        "channels": [c.model_dump() for c in dashboard._mention_counts(
            session, "channel", first, last, CHANNEL_LABELS)],
        "top_events": _top_events(session, start, end),
        "overdue": _overdue(session, min(end, now)),
        "silent_sources": _silent_sources(session, start),
        "opinion": opinion,
    }


def title_of(b: dict[str, Any]) -> str:
    first, last = b["since"], b["until"]
    span = f"{first:%Y年%m月%d日}" if first == last else f"{first:%Y年%m月%d日}至{last:%Y年%m月%d日}"
    return f"舆情{b['period_label']}（{span}）"


