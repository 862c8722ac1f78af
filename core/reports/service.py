"""Annual figures for the information-disclosure report, computed from the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.alerts.models import Alert
from core.analysis_labels import TOPIC_LABELS
from core.config import get_settings
from core.events.models import Event
from core.mentions.models import Mention
from core.tickets.models import Response, Ticket
from core.timeutil import SHANGHAI, ensure_utc

SOCIAL_CHANNELS = ("weibo", "wechat")


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar year in local time, as UTC datetimes."""
    if not 2000 <= year <= 2100:
        raise ValueError(f"年份超出范围: {year}")
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    return ensure_utc(start), ensure_utc(end)


def annual(*, session: Session, year: int) -> dict[str, Any]:
    """Return the year's figures and the report paragraph (only recorded responses count)."""
    start, end = year_bounds(year)
    in_year = sa.and_(col(Response.published_at) >= start, col(Response.published_at) < end)

    def distinct_events(*conds: Any) -> int:
        stmt = (select(func.count(sa.distinct(col(Ticket.event_id))))
                .select_from(Response).join(Ticket, col(Ticket.id) == Response.ticket_id)
                .where(in_year, *conds))
        return int(session.exec(stmt).one())

    responded_events = distinct_events()
    weibo_wechat = distinct_events(col(Response.channel).in_(SOCIAL_CHANNELS),
                                   Response.kind == "response")
    interpretations = int(session.exec(
        select(func.count()).select_from(Response).where(in_year, Response.kind == "interpretation")
    ).one())
    total_responses = int(session.exec(select(func.count()).select_from(Response)
                                       .where(in_year)).one())

    responded_tickets = select(Response.ticket_id).where(in_year).distinct()
    topic_rows = session.exec(
        select(Ticket.topic, func.count()).where(col(Ticket.id).in_(responded_tickets))
        .group_by(Ticket.topic)
    ).all()
    topics = {topic: int(n) for topic, n in sorted(topic_rows, key=lambda r: (-r[1], r[0]))}

    channel_rows = session.exec(
        select(Response.channel, func.count()).where(in_year).group_by(Response.channel)
    ).all()
    on_time = int(session.exec(
        select(func.count()).select_from(Ticket)
        .where(col(Ticket.first_response_at) >= start, col(Ticket.first_response_at) < end)
        .where(col(Ticket.response_due_at).is_not(None))
        .where(col(Ticket.first_response_at) <= col(Ticket.response_due_at))
    ).one())
    mentions = int(session.exec(select(func.count()).select_from(Mention)
                                .where(col(Mention.published_at) >= start,
                                       col(Mention.published_at) < end)).one())
    events = int(session.exec(select(func.count()).select_from(Event)
                              .where(col(Event.first_seen_at) >= start,
                                     col(Event.first_seen_at) < end)).one())
    alerts = int(session.exec(select(func.count()).select_from(Alert)
                              .where(Alert.created_at >= start, Alert.created_at < end)).one())
    result: dict[str, Any] = {
        "year": year,
        "office": get_settings().office_name,
        "responded_events": responded_events,
        "policy_interpretations": interpretations,
        "weibo_wechat_responses": weibo_wechat,
        "responses": total_responses,
        "responses_on_time": on_time,
        "topics": topics,
        "channels": {ch: int(n) for ch, n in channel_rows},
        "mentions": mentions,
        "events": events,
        "alerts": alerts,
    }
    result["text"] = report_text(result)
    return result


def report_text(figures: dict[str, Any]) -> str:
    """The report paragraph in the wording offices use."""
    topics = figures["topics"]
    named = [TOPIC_LABELS.get(code, code) for code in topics if code != "other"][:4]
    about = f"，主要涉及{'、'.join(named)}等方面" if named else ""
    return (
        f"{figures['year']}年，{figures['office']}加强政务舆情监测研判，"
        f"共回应公众关注热点或舆情{figures['responded_events']}次{about}；"
        f"发布政策解读稿件{figures['policy_interpretations']}篇，"
        f"微博微信回应事件{figures['weibo_wechat_responses']}次。"
    )
