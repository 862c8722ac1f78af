"""Events: clusters of mentions about one matter, found through a SimHash band index."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.access import OFFICE, Scope
from core.events.models import Event
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


def find_similar_event(*, session: Session, simhash: int, at: datetime, window: timedelta,
                       max_distance: int, exclude_mention_id: int | None = None) -> int | None:
    """Return the event of the nearest stored near-duplicate within the window, if any."""
    from core.analysis import hamming  # local: keeps module import light for the api

    b0, b1, b2, b3 = simhash_bands(simhash)
    stmt = (
        select(Mention.id, Mention.simhash, Mention.event_id,
               func.coalesce(col(Mention.published_at), col(Mention.created_at)))
        .where(col(Mention.event_id).is_not(None))
        .where(sa.or_(col(Mention.simhash_b0) == b0, col(Mention.simhash_b1) == b1,
                      col(Mention.simhash_b2) == b2, col(Mention.simhash_b3) == b3))
        .order_by(col(Mention.id).desc())
        .limit(200)
    )
    at = ensure_utc(at)
    best: tuple[int, int] | None = None
    for mention_id, hexhash, event_id, seen in session.exec(stmt):
        if mention_id == exclude_mention_id or not hexhash or event_id is None:
            continue
        if abs(ensure_utc(seen) - at) > window:
            continue
        distance = hamming(simhash, int(hexhash, 16))
        if distance <= max_distance and (best is None or distance < best[0]):
            best = (distance, event_id)
    return best[1] if best else None


def find_same_story_event(*, session: Session, topic: str, places: list[str], bigrams: frozenset[str],
                          at: datetime, window: timedelta, min_jaccard: float, limit: int = 64) -> int | None:
    """Return the event telling the same story in other words: same topic, a shared place, similar wording.

    Looks only at the newest `limit` events of the topic inside the window (indexed by topic and
    time), so the cost per mention does not grow with the store.
    """
    from core.analysis.events import jaccard

    if topic == "other" or not places or not bigrams:
        return None
    at = ensure_utc(at)
    stmt = (select(Event).where(Event.topic == topic)
            .where(col(Event.last_seen_at) >= at - window, col(Event.first_seen_at) <= at + window)
            .order_by(col(Event.last_seen_at).desc()).limit(limit))
    best: tuple[float, int] | None = None
    wanted = set(places)
    for event in session.exec(stmt):
        if event.id is None or not wanted & set(event.places) or not event.story_bigrams:
            continue
        score = jaccard(bigrams, set(event.story_bigrams))
        if score >= min_jaccard and (best is None or score > best[0]):
            best = (score, event.id)
    return best[1] if best else None


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


def create_from_mention(*, session: Session, mention: Mention, bigrams: frozenset[str] = frozenset()) -> Event:
    """Open a new event whose first mention is `mention`."""
    seen = mention.published_at or mention.created_at
    event = Event(
        title=(mention.title or mention.text)[:120],
        topic=mention.topics[0] if mention.topics else "other",
        first_seen_at=seen,
        last_seen_at=seen,
        story_bigrams=sorted(bigrams)[:STORY_BIGRAMS_CAP],
    )
    session.add(event)
    session.flush()
    return event


def absorb(*, session: Session, event: Event, mention: Mention) -> None:
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
    session.add(event)


def engagement_before(*, session: Session, event_id: int, before: datetime) -> int:
    """Sum of engagement of the event's mentions stored before a moment (for velocity)."""
    total = session.exec(
        select(func.coalesce(func.sum(Mention.likes + Mention.reposts + Mention.comments), 0))
        .where(Mention.event_id == event_id).where(Mention.created_at < before)
    ).one()
    return int(total or 0)


def outranks(new: str | None, old: str | None) -> bool:
    """True when grade `new` is more serious than `old`."""
    return GRADE_ORDER.get(new or "", 0) > GRADE_ORDER.get(old or "", 0)


def _merge(existing: list[str], new: list[str]) -> list[str]:
    out = list(existing)
    for item in new:
        if item and item not in out:
            out.append(item)
    return out
