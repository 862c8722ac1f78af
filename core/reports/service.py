"""Annual figures for the information-disclosure report, computed from the ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.alerts.models import Alert
from core.analysis_labels import TOPIC_LABELS
from core.config import get_settings
from core.events.models import Event
from core.mentions.models import MentionDay
from core.tickets.models import Response, Ticket
from core.timeutil import SHANGHAI, ensure_utc, to_local

SOCIAL_CHANNELS = ("weibo", "wechat")


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar year in local time, as UTC datetimes."""
    if not 2000 <= year <= 2100:
        raise ValueError(f"年份超出范围: {year}")
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    return ensure_utc(start), ensure_utc(end)


# The 回应解读情况 section of the annual government-information-disclosure report.
# Rules (also in README "年报 回应解读情况"):
# - An "event" is a ticket (one per event). Tickets marked 误报 (dismissed) count in no event row.
# - Event rows count an event in the year of its FIRST qualifying response (北京时间): a January
#   response to a December matter counts in January's year; an event answered in December and again
#   in January (e.g. a reopened ticket) counts once, in December's year.
# - Row 1 counts an event answered by any recorded response (回应 or 政策解读) except 网络问政 answers;
#   rows 5-6 count 回应 (kind response) on their channels.
# - One event answered on two channels counts once in row 1 and once in each channel row it reached.
# - Occasion rows (发布会, 在线访谈, 解读稿件) count occasions, not responses: responses recorded on several
#   tickets for one press conference (same local day and title) are one conference.
PRESS_ROW_CHANNELS = ("press_conference", "briefing")  # 新闻发布会、吹风会
INTERVIEW_CHANNELS = ("online_interview",)  # 政府网站在线访谈
NOT_HOTSPOT_CHANNELS = ("online_petition",)  # 网络问政 answers are excluded from row 1
OTHER_CHANNELS = ("website", "interview", "phone_callback")  # 其他方式 (not 微博微信, 发布会, 访谈, 问政)

ANNUAL_ROWS: tuple[tuple[str, str, bool], ...] = (
    ("hotspots", "回应公众关注热点或重大舆情数（不含网络问政等方式回应的）", False),
    ("press_conferences", "参加或举办新闻发布会总次数", False),
    ("press_conferences_leader", "其中：主要负责同志参加新闻发布会次数", True),
    ("online_interviews", "政府网站在线访谈次数", False),
    ("online_interviews_leader", "其中：主要负责同志参加政府网站在线访谈次数", True),
    ("interpretation_documents", "政策解读稿件发布数（篇）", False),
    ("weibo_wechat_events", "微博微信回应事件数（次）", False),
    ("other_events", "其他方式回应事件数（次）", False),
)


def _occasion_key(r: Any) -> tuple[str, ...]:
    """One press conference / interview / document, however many tickets it was recorded on."""
    day = to_local(ensure_utc(r.published_at)).date().isoformat()
    if r.kind == "interpretation" and r.url:
        return ("url", r.url)
    if r.title.strip():
        return (day, "press" if r.channel in PRESS_ROW_CHANNELS else r.channel, r.title.strip())
    return ("id", str(r.id))


def _responses_before(session: Session, end: datetime) -> list[Any]:
    """The responses published before `end` with their ticket's state, oldest first: only the
    columns the table needs, as rows (not ORM objects: a few thousand a year)."""
    return list(session.execute(
        sa.select(col(Response.id), col(Response.ticket_id), col(Response.kind), col(Response.channel),
               col(Response.published_at), col(Response.title), col(Response.url), col(Response.leader_present),
               col(Ticket.state)).join(Ticket, col(Ticket.id) == Response.ticket_id)
        .where(col(Response.published_at) < end)
        .order_by(col(Response.published_at), col(Response.id))
    ).all())


def annual_rows(*, session: Session, year: int, responses: list[Any] | None = None) -> dict[str, int]:
    """The eight figures of the 回应解读情况 table for a year (rules above). `responses`: those of
    `_responses_before` an end at or after the year's (a later year's list serves an earlier year)."""
    start, end = year_bounds(year)
    rows = _responses_before(session, end) if responses is None else responses

    def in_year(r: Any) -> bool:
        return start <= ensure_utc(r.published_at) < end

    def first_in_year(channels: tuple[str, ...] | None, exclude: tuple[str, ...] = ()) -> int:
        first: dict[int, Any] = {}
        for r in rows:  # ordered by published_at: the first one seen is the first
            if ensure_utc(r.published_at) >= end:
                break  # published after the year: neither counted nor the year's first
            if r.state == "dismissed" or r.channel in exclude:
                continue
            if channels is not None and r.kind != "response":  # channel rows: 回应, not 解读
                continue
            if channels is not None and r.channel not in channels:
                continue
            first.setdefault(r.ticket_id, r)
        return sum(1 for r in first.values() if in_year(r))

    def occasions(match: Any) -> tuple[int, int]:
        seen: dict[tuple[str, ...], bool] = {}
        for r in rows:
            if in_year(r) and match(r):
                key = _occasion_key(r)
                seen[key] = seen.get(key, False) or bool(r.leader_present)
        return len(seen), sum(seen.values())

    press, press_leader = occasions(lambda r: r.channel in PRESS_ROW_CHANNELS)
    interviews, interviews_leader = occasions(lambda r: r.channel in INTERVIEW_CHANNELS)
    documents, _ = occasions(lambda r: r.kind == "interpretation")
    return {
        "hotspots": first_in_year(None, NOT_HOTSPOT_CHANNELS),
        "press_conferences": press,
        "press_conferences_leader": press_leader,
        "online_interviews": interviews,
        "online_interviews_leader": interviews_leader,
        "interpretation_documents": documents,
        "weibo_wechat_events": first_in_year(SOCIAL_CHANNELS),
        "other_events": first_in_year(OTHER_CHANNELS),
    }


def annual(*, session: Session, year: int) -> dict[str, Any]:
    """Return the year's figures, the 回应解读情况 rows with last year's, and the report paragraph."""
    start, end = year_bounds(year)
    in_year = sa.and_(col(Response.published_at) >= start, col(Response.published_at) < end)
    responses = _responses_before(session, end)  # one read serves this year and the last
    figures = annual_rows(session=session, year=year, responses=responses)
    previous = annual_rows(session=session, year=year - 1, responses=responses) if year > 2000 \
        else {k: 0 for k in figures}
    total_responses = int(session.exec(select(func.count()).select_from(Response)
                                       .where(in_year)).one())

    responded_tickets = (select(Response.ticket_id).join(Ticket, col(Ticket.id) == Response.ticket_id)
                         .where(in_year, Ticket.state != "dismissed").distinct())
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
    # Mentions published in the year (those with no published time are left out), from the
    # per-day counts: a dated mention's day is its published day.
    mentions = int(session.exec(select(func.coalesce(func.sum(MentionDay.n), 0)).where(
        col(MentionDay.dated), col(MentionDay.day) >= date(year, 1, 1),
        col(MentionDay.day) <= date(year, 12, 31))).one() or 0)
    events = int(session.exec(select(func.count()).select_from(Event)
                              .where(col(Event.first_seen_at) >= start,
                                     col(Event.first_seen_at) < end)).one())
    alerts = int(session.exec(select(func.count()).select_from(Alert)
                              .where(Alert.created_at >= start, Alert.created_at < end)).one())
    result: dict[str, Any] = {
        "year": year,
        "office": get_settings().office_name,
        # The older fields are the table's rows under their first names.
        "responded_events": figures["hotspots"],
        "policy_interpretations": figures["interpretation_documents"],
        "weibo_wechat_responses": figures["weibo_wechat_events"],
        "responses": total_responses,
        "responses_on_time": on_time,
        "topics": topics,
        "channels": {ch: int(n) for ch, n in channel_rows},
        "mentions": mentions,
        "events": events,
        "alerts": alerts,
        "rows": [
            {"key": key, "label": label, "sub": sub, "value": figures[key],
             "previous": previous[key], "change": figures[key] - previous[key]}
            for key, label, sub in ANNUAL_ROWS
        ],
        "previous_year": year - 1,
    }
    result["text"] = report_text(result)
    return result


def top_topic_labels(figures: dict[str, Any], n: int = 4) -> list[str]:
    """The year's most-answered topics, in Chinese (其他 left out)."""
    return [TOPIC_LABELS.get(code, code) for code in figures["topics"] if code != "other"][:n]


def report_text(figures: dict[str, Any]) -> str:
    """The report paragraph in the wording offices use; every number is a row of the table."""
    rows = {row["key"]: row["value"] for row in figures["rows"]}
    named = top_topic_labels(figures)
    about = f"就{'、'.join(named)}等问题进行了舆情回应" if named else "及时进行了舆情回应"
    return (
        f"{figures['year']}年，{figures['office']}加强政务舆情监测研判，"
        f"共回应公众关注热点或舆情{rows['hotspots']}次，{about}；"
        f"参加或举办新闻发布会{rows['press_conferences']}次"
        f"（其中主要负责同志参加{rows['press_conferences_leader']}次），"
        f"开展政府网站在线访谈{rows['online_interviews']}次"
        f"（其中主要负责同志参加{rows['online_interviews_leader']}次），"
        f"发布政策解读稿件{rows['interpretation_documents']}篇，"
        f"通过微博微信回应事件{rows['weibo_wechat_events']}次，"
        f"通过其他方式回应事件{rows['other_events']}次。"
    )
