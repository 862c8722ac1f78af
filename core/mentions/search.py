"""Searching what was collected: filters, newest first, keyset paging that stays fast deep down.

The cursor is the (seen_at, id) of the last row shown; the next page starts strictly after it
on the index ix_mention_seen, so page 500 costs what page 1 costs (no OFFSET). Keywords are
substrings (Chinese has no spaces), found through the index described in core.mentions.search_index.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from core.analysis_labels import CHANNEL_LABELS, GRADE_LABELS, TOPIC_LABELS
from core.errors import InvalidInput
from core.events.models import Event
from core.mentions.models import Mention
from core.mentions.search_index import keyword_clause, like_clause
from core.sources.models import Source
from core.tickets.models import Ticket
from core.timeutil import ensure_utc

SNIPPET_CHARS = 300
MAX_WORDS = 5  # further words of a query are ignored
# Keyword search on PostgreSQL, newest first (see _keyword_page_ids): first the newest WALK_ROWS rows
# are read in order and matched by LIKE (on to MAX_WALK rows if the word is dense enough to fill the
# page there); then the keyword index is asked one time window at a time, the windows growing into
# the past (None: everything older).
WALK_ROWS = 600
MAX_WALK = 3000
WINDOWS = (timedelta(days=7), timedelta(days=60), None)


class MentionListItem(BaseModel):
    id: int
    channel: str
    channel_label: str
    source_id: int | None
    source_name: str
    title: str
    snippet: str  # the first SNIPPET_CHARS characters of the text (scraped: render as text)
    author: str
    url: str
    published_at: datetime | None
    seen_at: datetime
    likes: int
    reposts: int
    comments: int
    views: int
    topic: str  # a person's re-label wins over the analysis
    topic_label: str
    topics: list[str]
    label_topic: str
    sentiment: str
    places: list[str]
    relevant: bool
    event_id: int | None
    event_title: str
    event_grade: str | None
    event_grade_label: str
    ticket_id: int | None


class MentionPage(BaseModel):
    items: list[MentionListItem]
    next_cursor: str | None


@dataclass(frozen=True)
class Filters:
    q: str = ""
    channel: str | None = None
    source_id: int | None = None
    topic: str | None = None
    sentiment: str | None = None
    place: str | None = None
    relevant: bool | None = None
    event_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def encode_cursor(seen_at: datetime, mention_id: int) -> str:
    raw = json.dumps([ensure_utc(seen_at).isoformat(), mention_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        seen, mention_id = json.loads(raw)
        return ensure_utc(datetime.fromisoformat(seen)), int(mention_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput("翻页参数 cursor 无效，请从第一页重新查询") from exc


def _json_list_has(column: Any, value: str, dialect: str) -> Any:
    if dialect == "postgresql":  # served by ix_mention_topic_set / ix_mention_place_set (migration 0010search)
        return sa.cast(column, postgresql.JSONB).op("@>")(sa.cast(sa.literal(json.dumps([value])), postgresql.JSONB))
    # JSON lists are stored as text on SQLite, written by json.dumps (ASCII escapes): the quoted,
    # escaped value matches one whole element.
    return sa.cast(column, sa.Text).contains(json.dumps(value), autoescape=True)


def search(*, session: Session, filters: Filters, cursor: str | None = None, limit: int = 50,
           visible_events: Any = None) -> MentionPage:
    """One page of mentions matching the filters, newest first.

    `visible_events` (a subquery of event ids) limits a unit handler to his unit's matters.
    """
    columns: list[Any] = [
        Mention.id, Mention.channel, Mention.source_id, Source.name, Mention.title,
        sa.func.substr(col(Mention.text), 1, SNIPPET_CHARS), Mention.author, Mention.url,
        Mention.published_at, Mention.seen_at, Mention.likes, Mention.reposts, Mention.comments,
        Mention.views, Mention.topics, Mention.label_topic, Mention.sentiment, Mention.places,
        Mention.relevant, Mention.event_id, Event.title, Event.grade, Ticket.id]
    stmt: Any = (sa.select(*columns)
            .outerjoin(Source, col(Source.id) == col(Mention.source_id))
            .outerjoin(Event, col(Event.id) == col(Mention.event_id))
            .outerjoin(Ticket, col(Ticket.event_id) == col(Mention.event_id))
            .where(col(Mention.seen_at).is_not(None)))
    dialect = session.get_bind().dialect.name
    words = filters.q.split()[:MAX_WORDS]
    after = decode_cursor(cursor) if cursor else None
    if words and dialect == "postgresql":  # the ids are chosen with every filter applied
        ids = _keyword_page_ids(session, filters, words, after, limit + 1, visible_events)
        stmt = stmt.where(col(Mention.id).in_(ids or [-1]))
    else:
        stmt = stmt.where(*_filter_clauses(filters, dialect, visible_events))
        if words:  # every word in the title, the author or the text (served by the keyword index)
            stmt = stmt.where(keyword_clause(words, dialect))
        if after:
            stmt = stmt.where(*_before(*after))
        stmt = stmt.limit(limit + 1)
    stmt = stmt.order_by(col(Mention.seen_at).desc(), col(Mention.id).desc())
    rows = list(session.exec(stmt))
    items = [_item(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].seen_at, items[-1].id) if len(rows) > limit else None
    return MentionPage(items=items, next_cursor=next_cursor)


def _before(seen: datetime, last_id: int) -> list[Any]:
    """(seen_at, id) < (seen, last_id), written so that the seen_at range bounds the index scan."""
    return [col(Mention.seen_at) <= seen, sa.or_(col(Mention.seen_at) < seen, col(Mention.id) < last_id)]


def _filter_clauses(f: Filters, dialect: str, visible_events: Any) -> list[Any]:
    """Every filter but the keywords and the cursor."""
    out: list[Any] = []
    if f.channel:
        out.append(Mention.channel == f.channel)
    if f.source_id is not None:
        out.append(Mention.source_id == f.source_id)
    if f.topic:
        relabelled = col(Mention.label_topic) != ""
        out.append(sa.or_(sa.and_(relabelled, col(Mention.label_topic) == f.topic),
                          sa.and_(sa.not_(relabelled), _json_list_has(Mention.topics, f.topic, dialect))))
    if f.sentiment:
        out.append(Mention.sentiment == f.sentiment)
    if f.place:
        out.append(_json_list_has(Mention.places, f.place, dialect))
    if f.relevant is not None:
        out.append(Mention.relevant == f.relevant)
    if f.event_id is not None:
        out.append(Mention.event_id == f.event_id)
    if f.since is not None:
        out.append(col(Mention.seen_at) >= ensure_utc(f.since))
    if f.until is not None:
        out.append(col(Mention.seen_at) < ensure_utc(f.until))
    if visible_events is not None:
        out.append(col(Mention.event_id).in_(visible_events))
    return out


def _keyword_page_ids(session: Session, f: Filters, words: list[str], after: tuple[datetime, int] | None,
                      want: int, visible_events: Any) -> list[int]:
    """The ids of the next `want` keyword matches, newest first (PostgreSQL).

    The index knows which posts hold a word but not their order, so a word in 5% of the posts makes
    the database fetch and sort every match (0.5 s at a million), and the planner cannot tell such a
    word from a rare one. Either way the cost is bounded here: the newest rows (after the cursor) are
    read in order and matched by LIKE, WALK_ROWS of them and more while the density found says the
    page fills within MAX_WALK rows (a common word is served so); then the keyword index is asked
    for one window of time at a time, older and older, so that only the matches of a window are
    fetched (a rare word is served so). Each step returns matches in order, so the page is exact.
    """
    dialect = "postgresql"
    base = [col(Mention.seen_at).is_not(None), *_filter_clauses(f, dialect, visible_events)]
    upper = list(_before(*after)) if after else []
    found: list[int] = []
    walked_total, chunk = 0, WALK_ROWS
    while True:
        walked = session.execute(
            sa.select(col(Mention.id), col(Mention.seen_at), like_clause(words, dialect))
            .where(*base, *upper).order_by(col(Mention.seen_at).desc(), col(Mention.id).desc())
            .limit(chunk)).all()
        found += [int(i) for i, _, hit in walked if hit]
        walked_total += len(walked)
        if len(found) >= want or len(walked) < chunk:
            return found[:want]  # the page is full, or nothing older is left
        upper = _before(walked[-1][1], int(walked[-1][0]))
        # Walk on while the density seen so far says the page fills within MAX_WALK rows: a
        # common word is cheaper read in order than fetched whole from the index.
        chunk = int((want - len(found)) * walked_total / max(len(found), 1) * 1.5) + 1
        if not found or walked_total + chunk > MAX_WALK:
            break
    top = ensure_utc(walked[-1][1])
    for span in WINDOWS:
        window = [] if span is None else [col(Mention.seen_at) >= top - span]
        got = session.execute(
            sa.select(col(Mention.id)).where(*base, *upper, *window, keyword_clause(words, dialect))
            .order_by(col(Mention.seen_at).desc(), col(Mention.id).desc()).limit(want - len(found))).scalars()
        found += [int(i) for i in got]
        if len(found) >= want or span is None:
            break
        upper = [col(Mention.seen_at) < top - span]
    return found


def _item(r: Any) -> MentionListItem:
    (mid, channel, source_id, source_name, title, snippet, author, url, published_at, seen_at, likes,
     reposts, comments, views, topics, label_topic, sentiment, places, relevant, event_id,
     event_title, event_grade, ticket_id) = r
    topic = label_topic or (topics[0] if topics else "other")
    return MentionListItem(
        id=mid, channel=channel, channel_label=CHANNEL_LABELS.get(channel, channel), source_id=source_id,
        source_name=source_name or "", title=title, snippet=snippet or "", author=author, url=url,
        published_at=published_at, seen_at=seen_at, likes=likes, reposts=reposts, comments=comments,
        views=views, topic=topic, topic_label=TOPIC_LABELS.get(topic, topic), topics=list(topics or []),
        label_topic=label_topic, sentiment=sentiment, places=list(places or []), relevant=relevant,
        event_id=event_id, event_title=event_title or "", event_grade=event_grade,
        event_grade_label=GRADE_LABELS.get(event_grade or "", ""), ticket_id=ticket_id)
