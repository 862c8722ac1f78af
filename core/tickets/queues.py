"""Ticket queues as people work them (待我处理, 本单位, 即将超期, 已超期, 已办结, 待我签发), set-based.

Every list is one query for the tickets plus one query per kind of detail (assisting units,
names, press times, posts), never a query per row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from core import access
from core.analysis_labels import CHANNEL_LABELS, GRADE_LABELS, TOPIC_LABELS
from core.errors import InvalidInput
from core.mentions.models import Mention
from core.sources.models import Source
from core.tickets import service as tickets
from core.tickets.models import STATE_LABELS, Ticket, TicketPublic, TicketState, TicketUnit
from core.timeutil import ensure_utc, utcnow
from core.units.models import Unit
from core.users.models import Role, User

S = TicketState
Queue = Literal["mine", "unit", "due_soon", "overdue", "closed", "review", "all"]
QUEUE_LABELS: dict[str, str] = {
    "mine": "待我处理", "unit": "本单位", "due_soon": "即将超期", "overdue": "已超期",
    "closed": "已办结", "review": "待我签发", "all": "全部",
}
OPEN_STATES = [S.triage.value, S.assigned.value, S.handling.value, S.review.value, S.responded.value]
CLOSED_STATES = [S.closed.value, S.dismissed.value]
HANDLER_STATES = [S.assigned.value, S.handling.value, S.responded.value]  # the handler must act
DUE_SOON_HOURS = 24
POSTS_PER_TICKET = 3


class PostBrief(BaseModel):
    """An original post as the duty officer and the leader read it (scraped text: render as text)."""

    id: int
    event_id: int | None
    channel: str
    channel_label: str
    source_id: int | None
    source_name: str
    title: str
    text: str
    author: str
    url: str
    published_at: datetime | None
    likes: int
    reposts: int
    comments: int
    views: int
    sentiment: str


class Deadline(BaseModel):
    clock: str
    label: str
    due_at: datetime
    met_at: datetime | None
    met: bool | None
    status: str


class TicketView(TicketPublic):
    state_label: str = ""
    grade_label: str = ""
    topic_label: str = ""
    unit_name: str = ""
    handler_name: str = ""
    assisting_unit_ids: list[int] = []
    assisting_unit_names: list[str] = []
    deadlines: list[Deadline] = []
    overdue: bool = False
    next_due_at: datetime | None = None  # the nearest deadline still running
    posts: list[PostBrief] = []  # the posts the reply answers (review queue and detail)


def _scope(user: User) -> Any:
    """Handlers see the tickets their unit leads or assists on; everyone else sees all (core.access)."""
    return access.scope_for(role=user.role, unit_id=user.unit_id).tickets()


def overdue_clause(now: datetime) -> Any:
    """Open, not paused, and past its response deadline unanswered or past its closing deadline."""
    late_response = sa.and_(col(Ticket.first_response_at).is_(None), col(Ticket.response_due_at) < now)
    return sa.and_(col(Ticket.state).in_(OPEN_STATES), col(Ticket.paused_at).is_(None),
                   sa.or_(late_response, col(Ticket.close_due_at) < now))


def due_soon_clause(now: datetime, hours: int = DUE_SOON_HOURS) -> Any:
    """Open, not paused, not overdue, and a running deadline falls within `hours`."""
    soon = now + timedelta(hours=hours)
    unanswered = col(Ticket.first_response_at).is_(None)
    response_soon = sa.and_(unanswered, col(Ticket.response_due_at) >= now, col(Ticket.response_due_at) <= soon)
    first_info_soon = sa.and_(unanswered, col(Ticket.first_info_due_at) >= now,
                              col(Ticket.first_info_due_at) <= soon)
    close_soon = sa.and_(col(Ticket.close_due_at) >= now, col(Ticket.close_due_at) <= soon)
    return sa.and_(col(Ticket.state).in_(OPEN_STATES), col(Ticket.paused_at).is_(None),
                   sa.not_(overdue_clause(now)), sa.or_(response_soon, first_info_soon, close_soon))


def _mine(user: User) -> Any:
    if user.role == Role.handler:
        own = sa.or_(col(Ticket.handler_id) == user.id,
                     sa.and_(col(Ticket.handler_id).is_(None), col(Ticket.unit_id) == user.unit_id))
        return sa.and_(col(Ticket.state).in_(HANDLER_STATES), own)
    if user.role == Role.leader:
        return col(Ticket.state) == S.review.value  # 待我签发
    return col(Ticket.state) == S.triage.value  # duty and admin: matters still to hand over


def queue_clause(queue: str, user: User, now: datetime) -> Any:
    """The WHERE clause of a queue for this user (scope included)."""
    clauses: dict[str, Any] = {
        "mine": _mine(user),
        "unit": col(Ticket.state).in_(OPEN_STATES),
        "due_soon": due_soon_clause(now),
        "overdue": overdue_clause(now),
        "closed": col(Ticket.state).in_(CLOSED_STATES),
        "review": col(Ticket.state) == S.review.value,
        "all": sa.true(),
    }
    if queue not in clauses:
        raise InvalidInput(f"未知的工单队列: {queue}")
    return sa.and_(_scope(user), clauses[queue])


def _search(q: str) -> Any:
    text = q.strip()
    pattern = f"%{text}%"
    found = sa.or_(*(col(c).ilike(pattern) for c in (
        Ticket.title, Ticket.note, Ticket.draft_text, Ticket.online_note, Ticket.offline_note,
        Ticket.dismiss_reason)))
    if text.isdigit():
        found = sa.or_(found, col(Ticket.id) == int(text))
    return found


def get_queue(*, session: Session, user: User, queue: str = "all", q: str = "", limit: int = 50,
              offset: int = 0, now: datetime | None = None) -> list[Ticket]:
    """The tickets of a queue, those due first for the clock queues, else newest first."""
    now = ensure_utc(now) if now else utcnow()
    stmt = select(Ticket).where(queue_clause(queue, user, now))
    if q.strip():
        stmt = stmt.where(_search(q))
    if queue in ("due_soon", "overdue"):
        nearest = func.coalesce(col(Ticket.response_due_at), col(Ticket.close_due_at))
        stmt = stmt.order_by(nearest, col(Ticket.id))
    elif queue == "closed":
        stmt = stmt.order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc())
    else:
        stmt = stmt.order_by(col(Ticket.id).desc())
    return list(session.exec(stmt.offset(offset).limit(limit)))


def counts(*, session: Session, user: User, now: datetime | None = None) -> dict[str, int]:
    """How many tickets each queue holds for this user (one query)."""
    now = ensure_utc(now) if now else utcnow()
    names = ["mine", "unit", "due_soon", "overdue", "review"]
    columns = [func.coalesce(func.sum(sa.case((queue_clause(n, user, now), 1), else_=0)), 0).label(n)
               for n in names]
    row = session.execute(select(*columns).select_from(Ticket)).one()
    return {n: int(v or 0) for n, v in zip(names, row, strict=True)}


def posts_for_events(*, session: Session, event_ids: list[int], per_event: int = POSTS_PER_TICKET
                     ) -> dict[int, list[PostBrief]]:
    """The most engaged posts of each event, newest first among equals (one windowed query)."""
    if not event_ids:
        return {}
    engagement = col(Mention.likes) + col(Mention.reposts) + col(Mention.comments)
    rank = func.row_number().over(partition_by=col(Mention.event_id),
                                  order_by=(engagement.desc(), col(Mention.seen_at).desc(),
                                            col(Mention.id).desc())).label("rank")
    ranked = (select(col(Mention.id).label("mid"), rank)
              .where(col(Mention.event_id).in_(event_ids)).subquery())
    stmt = (select(Mention, Source.name).join(ranked, ranked.c.mid == col(Mention.id))
            .outerjoin(Source, col(Source.id) == col(Mention.source_id))
            .where(ranked.c.rank <= per_event).order_by(col(Mention.event_id), ranked.c.rank))
    out: dict[int, list[PostBrief]] = {}
    for mention, source_name in session.exec(stmt):
        assert mention.event_id is not None
        out.setdefault(mention.event_id, []).append(post_brief(mention, source_name))
    return out


def post_brief(mention: Mention, source_name: str | None) -> PostBrief:
    assert mention.id is not None
    return PostBrief(
        id=mention.id, event_id=mention.event_id, channel=mention.channel,
        channel_label=CHANNEL_LABELS.get(mention.channel, mention.channel),
        source_id=mention.source_id, source_name=source_name or "", title=mention.title,
        text=mention.text, author=mention.author, url=mention.url,
        published_at=mention.published_at or mention.seen_at, likes=mention.likes,
        reposts=mention.reposts, comments=mention.comments, views=mention.views,
        sentiment=mention.sentiment)


def views(*, session: Session, items: list[Ticket], with_posts: bool = False,
          now: datetime | None = None) -> list[TicketView]:
    """Tickets with names, assisting units, deadlines (and posts), in a fixed number of queries."""
    now = ensure_utc(now) if now else utcnow()
    ids = [t.id for t in items if t.id is not None]
    if not ids:
        return []
    assisting: dict[int, list[int]] = {}
    for ticket_id, unit_id in session.exec(select(TicketUnit.ticket_id, TicketUnit.unit_id).where(
            col(TicketUnit.ticket_id).in_(ids), col(TicketUnit.removed_at).is_(None))
            .order_by(col(TicketUnit.id))):
        assisting.setdefault(ticket_id, []).append(unit_id)
    unit_ids = {t.unit_id for t in items if t.unit_id} | {u for us in assisting.values() for u in us}
    unit_names: dict[int | None, str] = dict(session.exec(
        select(Unit.id, Unit.name).where(col(Unit.id).in_(unit_ids))).all()) if unit_ids else {}
    user_ids = {t.handler_id for t in items if t.handler_id}
    user_names = {uid: full or name for uid, full, name in session.exec(
        select(User.id, User.full_name, User.username).where(col(User.id).in_(user_ids)))} \
        if user_ids else {}
    press = tickets.press_times(session=session, ticket_ids=[t.id for t in items
                                                             if t.id is not None and t.press_due_at])
    posts = posts_for_events(session=session, event_ids=[t.event_id for t in items]) if with_posts else {}
    out = []
    for t in items:
        assert t.id is not None
        due = [Deadline.model_validate(d) for d in tickets.deadlines(
            session=session, ticket=t, now=now, press_at=press.get(t.id))]
        running = [d.due_at for d in due if d.met is None and d.status != "已撤销"]
        out.append(TicketView.model_validate({
            **TicketPublic.model_validate(t).model_dump(),
            "state_label": STATE_LABELS.get(t.state, t.state),
            "grade_label": GRADE_LABELS.get(t.grade or "", ""),
            "topic_label": TOPIC_LABELS.get(t.topic, t.topic),
            "unit_name": unit_names.get(t.unit_id, "") if t.unit_id else "",
            "handler_name": user_names.get(t.handler_id, "") if t.handler_id else "",
            "assisting_unit_ids": assisting.get(t.id, []),
            "assisting_unit_names": [unit_names.get(u, "") for u in assisting.get(t.id, [])],
            "deadlines": due,
            "overdue": any(d.status == "已超期" for d in due),
            "next_due_at": min(running, key=ensure_utc) if running else None,
            "posts": posts.get(t.event_id, []),
        }))
    return out


def view(*, session: Session, ticket: Ticket, with_posts: bool = False) -> TicketView:
    """One ticket as the lists show it."""
    return views(session=session, items=[ticket], with_posts=with_posts)[0]
