"""Build the ledger rows from the tickets, and write them as .xlsx or CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core import spreadsheet
from core.access import OFFICE, Scope
from core.analysis_labels import CHANNEL_LABELS, GRADE_LABELS, TOPIC_LABELS
from core.config import get_settings
from core.events.models import Event
from core.mentions.models import Mention
from core.sources.models import Source
from core.tickets import service as tickets
from core.tickets.models import RESPONSE_CHANNELS, STATE_LABELS, Response, Ticket, TicketUnit
from core.timeutil import ensure_utc, to_local, utcnow
from core.units.models import Unit
from core.users.models import User

# The columns offices keep, then what this system adds.
COLUMNS = [
    "序号", "巡查单位", "发布时间", "发布平台", "标题", "链接", "责任单位", "涉及领域", "首接人",
    "交办时间", "首回时间", "办结时间", "关注量", "跟帖数", "原贴摘要", "办结回复摘要", "线上情况",
    "线下情况", "备注",
    "工单编号", "状态", "等级", "话题", "情感倾向", "协办单位", "回应渠道", "回应链接",
    "首次权威信息时限", "首次权威信息按时", "回应时限", "回应按时", "发布会时限", "发布会按时",
    "办结时限", "办结按时",
]
SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
MET_LABELS = {True: "是", False: "否", None: ""}


def _fmt(value: datetime | None) -> str:
    return f"{to_local(value):%Y-%m-%d %H:%M}" if value else ""


def rows(*, session: Session, start: datetime | None = None, end: datetime | None = None,
         unit_id: int | None = None, scope: Scope = OFFICE) -> list[dict[str, Any]]:
    """One dict per ticket the scope sees opened in [start, end), oldest first, keyed by COLUMNS."""
    stmt = select(Ticket).where(scope.tickets()).order_by(col(Ticket.created_at), col(Ticket.id))
    if start is not None:
        stmt = stmt.where(col(Ticket.created_at) >= ensure_utc(start))
    if end is not None:
        stmt = stmt.where(col(Ticket.created_at) < ensure_utc(end))
    found = list(session.exec(stmt))
    if unit_id is not None:
        allowed = {t.id for t in tickets.get_all(session=session, unit_id=unit_id, limit=100_000)}
        found = [t for t in found if t.id in allowed]
    units = {u.id: u.name for u in session.exec(select(Unit))}
    users = {u.id: (u.full_name or u.username) for u in session.exec(select(User))}
    sources = {s.id: s.name for s in session.exec(select(Source))}
    office = get_settings().office_name
    now = utcnow()
    # Everything the rows need, a fixed number of set-based queries whatever the year holds:
    # figures per event summed by the database, never the posts themselves.
    ticket_ids = [t.id for t in found if t.id is not None]
    event_ids = [t.event_id for t in found]
    posts = _post_figures(session, event_ids)
    # When an event has no post left to date it: when it was first seen.
    first_seen = dict(_in_chunks(session, select(Event.id, Event.first_seen_at), col(Event.id),
                                 [e for e in event_ids if posts.get(e, NO_POSTS).first is None]))
    answers_of: dict[int, list[Response]] = {}
    for r in _in_chunks(session, select(Response), col(Response.ticket_id), ticket_ids):
        answers_of.setdefault(r.ticket_id, []).append(r)
    for answered in answers_of.values():
        answered.sort(key=lambda r: (ensure_utc(r.published_at), r.id or 0))
    assisting_of: dict[int, list[int]] = {}
    for link in _in_chunks(session, select(TicketUnit).where(col(TicketUnit.removed_at).is_(None)),
                           col(TicketUnit.ticket_id), ticket_ids):
        assisting_of.setdefault(link.ticket_id, []).append(link.unit_id)
    press = tickets.press_times(session=session, ticket_ids=ticket_ids)
    out = []
    for n, ticket in enumerate(found, start=1):
        assert ticket.id is not None
        figures = posts.get(ticket.event_id, NO_POSTS)
        first = figures.first
        answers = answers_of.get(ticket.id, [])
        clocks = {c.name: c for c in tickets.clocks(session=session, ticket=ticket, press_at=press.get(ticket.id))}
        assisting = assisting_of.get(ticket.id, [])
        notes = [ticket.note]
        if ticket.dismiss_reason:
            notes.append(f"误报原因：{ticket.dismiss_reason}")
        if ticket.paused_seconds:
            notes.append(f"暂停计时共{ticket.paused_seconds // 60}分钟")
        if ticket.reopened_count:
            notes.append(f"重新打开{ticket.reopened_count}次")

        platform = ""
        if first is not None:
            platform = sources.get(first.source_id, "") or CHANNEL_LABELS.get(first.channel, first.channel)
        row: dict[str, Any] = {
            "序号": n,
            "巡查单位": office,
            "发布时间": _fmt(first.published_at if first else first_seen.get(ticket.event_id)),
            "发布平台": platform,
            "标题": ticket.title,
            "链接": first.url if first else "",
            "责任单位": units.get(ticket.unit_id, "") if ticket.unit_id else "",
            "涉及领域": TOPIC_LABELS.get(ticket.topic, ticket.topic),
            "首接人": users.get(ticket.first_handler_id, "") if ticket.first_handler_id else "",
            "交办时间": _fmt(ticket.assigned_at),
            "首回时间": _fmt(ticket.first_response_at),
            "办结时间": _fmt(ticket.closed_at),
            "关注量": figures.attention,
            "跟帖数": figures.comments,
            "原贴摘要": first.text if first else "",
            "办结回复摘要": (answers[-1].summary or answers[-1].title)[:200] if answers else "",
            "线上情况": ticket.online_note,
            "线下情况": ticket.offline_note,
            "备注": "；".join(x for x in notes if x),
            "工单编号": ticket.id,
            "状态": STATE_LABELS.get(ticket.state, ticket.state),
            "等级": f"{ticket.grade}级（{GRADE_LABELS[ticket.grade]}）" if ticket.grade in GRADE_LABELS else "",
            "话题": TOPIC_LABELS.get(ticket.topic, ticket.topic),
            "情感倾向": SENTIMENT_LABELS.get(figures.sentiment, ""),
            "协办单位": "、".join(units.get(u, str(u)) for u in assisting),
            "回应渠道": "、".join(dict.fromkeys(RESPONSE_CHANNELS.get(r.channel, r.channel) for r in answers)),
            "回应链接": " ".join(r.url for r in answers if r.url),
        }
        for name, label in (("first_info", "首次权威信息"), ("response", "回应"), ("press", "发布会"),
                            ("close", "办结")):
            c = clocks.get(name)
            met = "" if c is None else MET_LABELS[c.met()]
            if c is not None and c.met() is None and ticket.state != "dismissed" and c.overdue(now):
                met = "否（超期未完成）"
            row[f"{label}时限"], row[f"{label}按时"] = (_fmt(c.due_at) if c else "", met)
        out.append(row)
    return out


@dataclass(frozen=True)
class FirstPost:
    published_at: datetime | None
    source_id: int | None
    channel: str
    url: str
    text: str  # its first SUMMARY_CHARS characters


@dataclass(frozen=True)
class PostFigures:
    first: FirstPost | None  # the oldest post, undated ones (hotline calls without a time) last
    attention: int  # views + likes + reposts over the event's posts
    comments: int
    sentiment: str  # the most frequent one; a tie goes to the one the earliest post has


NO_POSTS = PostFigures(first=None, attention=0, comments=0, sentiment="")
SUMMARY_CHARS = 200


def _post_figures(session: Session, event_ids: list[int]) -> dict[int, PostFigures]:
    """What the ledger says about each event's posts, summed and ranked by the database
    (two queries per chunk of events, index-only but for the first posts: ix_mention_event_posts;
    no post row, text or raw JSON is loaded)."""
    out: dict[int, PostFigures] = {}
    unique = list(dict.fromkeys(event_ids))
    for k in range(0, len(unique), CHUNK):
        chunk = unique[k:k + CHUNK]
        in_chunk = col(Mention.event_id).in_(chunk)
        # Oldest first, undated last: the order of the posts in the ledger, and of the index.
        rank = func.row_number().over(
            partition_by=col(Mention.event_id),
            order_by=(col(Mention.published_at).asc().nulls_last(), col(Mention.id))).label("rank")
        ranked = sa.select(col(Mention.id).label("mid"), col(Mention.event_id).label("eid"),
                           col(Mention.sentiment).label("sentiment"), rank,
                           (col(Mention.views) + col(Mention.likes) + col(Mention.reposts)).label("attention"),
                           col(Mention.comments).label("comments")).where(in_chunk).subquery()
        totals: dict[int, tuple[int, int]] = {}
        best: dict[int, tuple[int, int, str]] = {}  # event -> (count, -first rank, sentiment)
        for eid, sentiment, n, first_rank, attention, comments in session.execute(
                sa.select(ranked.c.eid, ranked.c.sentiment, func.count(), func.min(ranked.c.rank),
                          func.sum(ranked.c.attention), func.sum(ranked.c.comments))
                .group_by(ranked.c.eid, ranked.c.sentiment)):
            att, com = totals.get(eid, (0, 0))
            totals[eid] = (att + int(attention or 0), com + int(comments or 0))
            candidate = (int(n), -int(first_rank), str(sentiment))
            if sentiment and (eid not in best or candidate > best[eid]):
                best[eid] = candidate
        firsts = {eid: FirstPost(published_at=published_at, source_id=source_id, channel=channel, url=url,
                                 text=text or "")
                  for eid, published_at, source_id, channel, url, text in session.execute(
                      sa.select(col(Mention.event_id), col(Mention.published_at), col(Mention.source_id),
                                col(Mention.channel), col(Mention.url),
                                func.substr(col(Mention.text), 1, SUMMARY_CHARS))
                      .join(ranked, ranked.c.mid == col(Mention.id)).where(ranked.c.rank == 1))}
        for eid in chunk:
            if eid in firsts or eid in totals:
                attention, comments = totals.get(eid, (0, 0))
                out[eid] = PostFigures(first=firsts.get(eid), attention=attention, comments=comments,
                                       sentiment=best[eid][2] if eid in best else "")
    return out


CHUNK = 900  # ids per IN list: under SQLite's bind-parameter limit


def _in_chunks(session: Session, stmt: Any, column: Any, values: list[Any], size: int = CHUNK) -> list[Any]:
    """Rows of `stmt` whose `column` is in `values`, in chunks that stay under bind-parameter limits."""
    unique = list(dict.fromkeys(values))
    out: list[Any] = []
    for k in range(0, len(unique), size):
        out += list(session.exec(stmt.where(column.in_(unique[k:k + size]))))
    return out


def to_csv(data: list[dict[str, Any]]) -> bytes:
    """UTF-8 CSV with a BOM, so Excel on a Chinese Windows opens it right; no cell is a formula."""
    return spreadsheet.to_csv(data, COLUMNS)


TIME_COLUMNS = ("发布时间", "交办时间", "首回时间", "办结时间", "首次权威信息时限", "回应时限", "发布会时限",
                "办结时限")
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _as_local_datetime(value: Any) -> Any:
    """A row's "YYYY-MM-DD HH:MM" (Beijing time) as a naive datetime, so Excel stores a date cell."""
    if isinstance(value, str) and len(value) == 16:  # "YYYY-MM-DD HH:MM" (fromisoformat: C speed)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def to_xlsx(data: list[dict[str, Any]], *, title: str = "舆情台账", period: str = "",
            generated_at: datetime | None = None) -> bytes:
    """The ledger to print: a title row (office, range, generated at), header repeated on every A4
    landscape page, autofilter, wrapped text, fitted widths, times as date cells, text cells only."""
    caps = {"标题": 40, "原贴摘要": 50, "办结回复摘要": 40, "线上情况": 30, "线下情况": 30, "链接": 30,
            "回应链接": 30, "备注": 30, "巡查单位": 24, "责任单位": 20, "协办单位": 20}
    made = to_local(generated_at or utcnow())
    heading = "　".join(x for x in (f"{get_settings().office_name}{title}", period,
                                      f"生成时间：{made:%Y-%m-%d %H:%M}") if x)
    typed = [{k: (_as_local_datetime(v) if k in TIME_COLUMNS else v) for k, v in row.items()} for row in data]
    return spreadsheet.to_xlsx(typed, COLUMNS, title=title, widths=caps, heading=heading, fit=True,
                               print_ready=True)
