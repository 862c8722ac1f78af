"""Events: clusters of mentions about one matter, found through a SimHash band index."""

from __future__ import annotations

from dataclasses import dataclass, fields
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.access import OFFICE, Scope
from core.events.models import Event, EventEngagement
from core.mentions.models import Mention
from core.timeutil import ensure_utc, utcnow

GRADE_ORDER = {"I": 4, "II": 3, "III": 2, "IV": 1}
STORY_BIGRAMS_CAP = 600  # enough for a long post's opening; keeps the row small


def simhash_bands(value: int) -> tuple[int, int, int, int]:
    """Split a 64-bit SimHash into four 16-bit bands.

    Two hashes within Hamming distance 3 must share at least one band (pigeonhole), so an
    equality lookup on indexed bands finds every near-duplicate without scanning the store.
    """
    return tuple((value >> (16 * i)) & 0xFFFF for i in range(4))  # type: ignore[return-value]


def time_spans(times: list[datetime], window: timedelta) -> list[tuple[datetime, datetime]]:
    """The moments' windows [t - window, t + window], overlapping ones merged (sorted)."""
    spans: list[tuple[datetime, datetime]] = []
    for at in sorted(ensure_utc(t) for t in times):
        lo, hi = at - window, at + window
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return spans


def band_candidates(*, session: Session, hashes: list[tuple[int, datetime]],
                    window: timedelta) -> list[tuple[int, int, int, datetime]]:
    """Clustered mentions sharing a SimHash band with one of `hashes` (value, moment) and seen
    within the window of one of them: (id, simhash, event_id, seen_at), for a whole batch at once.

    Each band is looked up with its (band, seen_at) index over the windows only, so the cost does
    not grow with the history stored; the caller checks each pair's own window and distance.
    """
    if not hashes:
        return []
    bands_of = [simhash_bands(value) for value, _ in hashes]
    columns = (Mention.simhash_b0, Mention.simhash_b1, Mention.simhash_b2, Mention.simhash_b3)
    conds = []
    for lo, hi in time_spans([at for _, at in hashes], window):
        in_span = [i for i, (_, at) in enumerate(hashes) if lo <= ensure_utc(at) - window
                   and ensure_utc(at) + window <= hi]
        for n, column in enumerate(columns):
            values = sorted({bands_of[i][n] for i in in_span})
            conds.append(sa.and_(col(column).in_(values), col(Mention.seen_at) >= lo, col(Mention.seen_at) <= hi))
    stmt = (select(Mention.id, Mention.simhash, Mention.event_id, Mention.seen_at)
            .where(col(Mention.event_id).is_not(None), sa.or_(*conds)))
    out = []
    for mention_id, hexhash, event_id, seen in session.exec(stmt):
        if mention_id is not None and hexhash and event_id is not None and seen is not None:
            out.append((mention_id, int(hexhash, 16), event_id, ensure_utc(seen)))
    return out


def story_candidates(*, session: Session, wanted: list[tuple[str, datetime]], window: timedelta,
                     limit: int = 64) -> list[Event]:
    """Events that may tell the same story as mentions of (topic, moment): per topic and span of
    time, the newest `limit` events active in the window (indexed by time; bounded per batch)."""
    by_topic: dict[str, list[datetime]] = {}
    for topic, at in wanted:
        by_topic.setdefault(topic, []).append(at)
    found: dict[int, Event] = {}
    for topic, times in sorted(by_topic.items()):
        for lo, hi in time_spans(times, window):
            # Mentions at lo+w … hi-w look at events whose activity overlaps [lo, hi].
            stmt = (select(Event).where(Event.topic == topic)
                    .where(col(Event.last_seen_at) >= lo, col(Event.first_seen_at) <= hi)
                    .order_by(col(Event.last_seen_at).desc()).limit(limit))
            for event in session.exec(stmt):
                if event.id is not None:
                    found[event.id] = event
    return list(found.values())


def lock_many(*, session: Session, event_ids: list[int]) -> dict[int, Event]:
    """Lock events for update in id order (two workers never wait on each other in a circle),
    re-read with their committed numbers. See `lock`."""
    if not event_ids:
        return {}
    stmt = (select(Event).where(col(Event.id).in_(sorted(set(event_ids)))).order_by(col(Event.id))
            .with_for_update().execution_options(populate_existing=True))
    return {e.id: e for e in session.exec(stmt) if e.id is not None}


ENGAGEMENT_KEEP = timedelta(hours=3)  # per-minute rows older than this are never asked for


def add_engagement(*, session: Session, amounts: dict[tuple[int, datetime], int]) -> None:
    """Add engagement to the events' per-minute rows ((event id, minute) → amount); the events
    must be locked (or new) in this transaction. Drops their rows older than ENGAGEMENT_KEEP."""
    rows = [{"event_id": e, "minute": m, "engagement": v} for (e, m), v in sorted(amounts.items()) if v]
    if rows:
        table = EventEngagement.__table__  # type: ignore[attr-defined]
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        stmt = upsert(table)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.event_id, table.c.minute],
            set_={"engagement": table.c.engagement + stmt.excluded.engagement}), rows)
    event_ids = sorted({e for e, _ in amounts})
    if event_ids:
        session.execute(sa.delete(EventEngagement).where(
            col(EventEngagement.event_id).in_(event_ids),
            col(EventEngagement.minute) < utcnow() - ENGAGEMENT_KEEP))


def recent_engagement(*, session: Session, event_ids: list[int], since: datetime) -> dict[int, int]:
    """Engagement the events gained from mentions stored since a moment (to the minute)."""
    if not event_ids:
        return {}
    since = ensure_utc(since).replace(second=0, microsecond=0)
    stmt = (select(EventEngagement.event_id, func.sum(EventEngagement.engagement))
            .where(col(EventEngagement.event_id).in_(sorted(set(event_ids))),
                   col(EventEngagement.minute) >= since)
            .group_by(col(EventEngagement.event_id)))
    return {int(e): int(v or 0) for e, v in session.exec(stmt)}


def minute_of(at: datetime) -> datetime:
    """The minute a moment falls in (key of EventEngagement)."""
    return ensure_utc(at).replace(second=0, microsecond=0)


def get(*, session: Session, event_id: int) -> Event | None:
    """Return an event by id."""
    return session.get(Event, event_id)


def lock(*, session: Session, event_id: int) -> Event | None:
    """Return an event locked for update until the transaction ends, with its committed numbers.

    Counters, lists and the grade are read-modify-write: without the row lock, two workers absorbing
    mentions into one event each write their own stale total (17 stored for 18 mentions).
    SQLite has no row locks; there the claim's UPDATE already holds the database's write lock.
    """
    return session.get(Event, event_id, with_for_update=True, populate_existing=True)


def get_all(*, session: Session, grade: str | None = None, topic: str | None = None,
            limit: int = 100, offset: int = 0, scope: Scope = OFFICE) -> list[Event]:
    """Return the events the scope sees, most recently active first."""
    stmt = (select(Event).where(scope.events())
            .order_by(col(Event.last_seen_at).desc(), col(Event.id).desc()))
    if grade:
        stmt = stmt.where(Event.grade == grade)
    if topic:
        stmt = stmt.where(Event.topic == topic)
    return list(session.exec(stmt.offset(offset).limit(limit)))


def create_from_mention(*, session: Session, mention: Mention, bigrams: frozenset[str] = frozenset(),
                        flush: bool = True) -> Event:
    """Open a new event whose first mention is `mention` (flush=False: the caller flushes a batch)."""
    seen = mention.published_at or mention.created_at
    now = utcnow()
    # Every field with a default factory is given: pydantic otherwise inspects each factory's
    # signature on every construction (~1.5 ms an event).
    event = Event(
        title=(mention.title or mention.text)[:120],
        topic=mention.topics[0] if mention.topics else "other",
        first_seen_at=seen,
        last_seen_at=seen,
        story_bigrams=sorted(bigrams)[:STORY_BIGRAMS_CAP],
        created_at=now, updated_at=now, topics=[], places=[], sensitive_terms=[], channels=[],
    )
    session.add(event)
    if flush:
        session.flush()
    return event


@dataclass
class EventDraft:
    """A new event of a batch before it is inserted: the columns of Event, without the ORM's cost.

    The batch fills in its numbers (absorb, grade) and inserts all drafts in one statement.
    """

    title: str
    topic: str
    first_seen_at: datetime
    last_seen_at: datetime
    created_at: datetime
    updated_at: datetime
    story_bigrams: list[str]
    id: int | None = None
    grade: str | None = None
    status: str = "open"
    mention_count: int = 0
    engagement: int = 0
    heat: float = 0.0
    negative_count: int = 0
    relevant: bool = False
    max_risk: float = 0.0
    grade_score: float = 0.0
    grade_reason: str = ""
    media_involved: bool = False
    topics: list[str] = dataclass_field(default_factory=list)
    places: list[str] = dataclass_field(default_factory=list)
    sensitive_terms: list[str] = dataclass_field(default_factory=list)
    channels: list[str] = dataclass_field(default_factory=list)


def draft_from_mention(*, mention: Mention, bigrams: frozenset[str] = frozenset()) -> EventDraft:
    """A new event whose first mention is `mention`, to be inserted by `insert_drafts`."""
    seen = ensure_utc(mention.published_at or mention.created_at)
    now = utcnow()
    return EventDraft(title=(mention.title or mention.text)[:120],
                      topic=mention.topics[0] if mention.topics else "other", first_seen_at=seen,
                      last_seen_at=seen, created_at=now, updated_at=now,
                      story_bigrams=sorted(bigrams)[:STORY_BIGRAMS_CAP])


def insert_drafts(*, session: Session, drafts: list[EventDraft]) -> None:
    """Insert new events in one statement; each draft gets its id."""
    if not drafts:
        return
    table = Event.__table__  # type: ignore[attr-defined]
    own = {f.name for f in fields(EventDraft)}
    # A column the draft does not know (added to Event later) is left to its server default.
    names = [c.name for c in table.columns if c.name != "id" and c.name in own]
    stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.execute(stmt, [{name: getattr(d, name) for name in names} for d in drafts]).scalars().all()
    for draft, event_id in zip(drafts, ids, strict=True):
        draft.id = int(event_id)


def absorb(*, session: Session, event: Event | EventDraft, mention: Mention) -> None:
    """Add a mention's numbers to its event (the mention must already point at it)."""
    seen = ensure_utc(mention.published_at or mention.created_at)
    event.mention_count += 1
    event.engagement += mention.likes + mention.reposts + mention.comments
    event.negative_count += 1 if mention.sentiment == "negative" else 0
    event.relevant = event.relevant or mention.relevant
    event.max_risk = max(event.max_risk, mention.risk)
    event.first_seen_at = min(ensure_utc(event.first_seen_at or seen), seen)
    event.last_seen_at = max(ensure_utc(event.last_seen_at or seen), seen)
    event.topics = _merge(event.topics, mention.topics)
    event.places = _merge(event.places, mention.places)
    event.sensitive_terms = _merge(event.sensitive_terms, mention.sensitive_terms)
    event.channels = _merge(event.channels, [mention.channel])
    # A late, better-classified mention names an event that started as 'other'.
    if event.topic == "other" and mention.topics and mention.topics[0] != "other":
        event.topic = mention.topics[0]
    event.updated_at = utcnow()
    if isinstance(event, Event):
        session.add(event)


def outranks(new: str | None, old: str | None) -> bool:
    """True when grade `new` is more serious than `old`."""
    return GRADE_ORDER.get(new or "", 0) > GRADE_ORDER.get(old or "", 0)


def _merge(existing: list[str], new: list[str]) -> list[str]:
    out = list(existing)
    for item in new:
        if item and item not in out:
            out.append(item)
    return out
