"""The pipeline after storage: analyze → cluster → grade → alert (→ auto ticket), a batch at a time.

A batch of mentions is processed in one transaction with a handful of statements per step for
the whole batch (claim, look-ups, new events, locks, updates), not ~15 per mention:

1. claim: one conditional UPDATE … RETURNING (rows locked in id order); a mention analyzed or
   claimed already is left out, so a retried or duplicated queue message does nothing twice
   and a crash leaves the whole batch in the outbox;
2. analysis of each mention; one that the analysis cannot take is released with its error
   (the others go on);
3. clustering in id order against the near-duplicates and stories stored in the window (two
   look-ups for the batch) and the batch's own earlier mentions;
4. new events inserted, the joined ones locked in id order and re-read, every mention absorbed;
5. engagement kept per event and minute, media involvement kept on the event, each touched
   event graded once from its true numbers, then alerts and automatic tickets.

`process_mention` is the batch of one (manual re-processing, the CLI demo, tests).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from core.alerts import service as alerts
from core.config import get_settings
from core.events import service as events
from core.events.models import Event
from core.mentions import rollup
from core.mentions.models import Mention
from core.sources import service as sources
from core.tickets import service as tickets
from core.timeutil import ensure_utc, utcnow
from core.topics import service as topics
from core.units import service as units

log = logging.getLogger(__name__)


@dataclass
class ProcessResult:
    mention_id: int
    processed: bool  # False when another worker had already claimed it
    event_id: int | None = None
    new_event: bool = False
    grade: str | None = None
    alert_ids: list[int] = field(default_factory=list)
    ticket_id: int | None = None


@dataclass
class BatchResult:
    results: dict[int, ProcessResult] = field(default_factory=dict)  # every id asked for
    # Mentions the analysis could not take: released unanalyzed, their error kept on the row.
    failed: dict[int, BaseException] = field(default_factory=dict)

    @property
    def processed(self) -> list[int]:
        return [i for i, r in self.results.items() if r.processed]

    @property
    def alert_ids(self) -> list[int]:
        return sorted({a for r in self.results.values() for a in r.alert_ids})

    @property
    def ticket_ids(self) -> list[int]:
        return sorted({r.ticket_id for r in self.results.values() if r.ticket_id is not None})


@dataclass
class _Item:
    """One claimed mention on its way through the batch."""

    mention: Mention
    seen: datetime
    simhash: int
    bands: tuple[int, int, int, int]
    bigrams: frozenset[str]
    event_key: int | str | None = None  # an event id, or "new:<n>" before it is inserted


@dataclass
class _StoryView:
    """What same-story matching needs of an event, kept current while the batch joins it."""

    key: int | str
    topic: str
    places: set[str]
    bigrams: set[str]
    first_seen: datetime
    last_seen: datetime


def claim_batch(*, session: Session, mention_ids: list[int]) -> list[Mention]:
    """Take the mentions not analyzed (or claimed) yet, in one statement; returns them by id.

    Rows are locked in id order: two deliveries of overlapping batches wait for each other (the
    second then finds them claimed) instead of deadlocking. On PostgreSQL the row locks, held to
    the end of the transaction, are the claim: `analyzed_at` is written with the analysis (the
    batch's final UPDATE), so a mention is not rewritten once more only to be marked (a row
    version costs an entry in every index, the keyword GIN index's hundreds among them). A
    second claimer waits on the locks, then re-checks `analyzed_at` on the committed rows and
    leaves them out. SQLite has no row locks: there the UPDATE takes the database's write lock.
    """
    from core.analysis import ANALYZER_VERSION

    ids = sorted(set(mention_ids))
    if not ids:
        return []
    pending = [col(Mention.id).in_(ids), col(Mention.analyzed_at).is_(None)]
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        locked = (sa.select(Mention).where(*pending).order_by(col(Mention.id)).with_for_update()
                  .execution_options(populate_existing=True))
        claimed = list(session.scalars(locked))
        for mention in claimed:  # as the final UPDATE will store them
            set_committed_value(mention, "analyzed_at", now)
            set_committed_value(mention, "analyzer_version", ANALYZER_VERSION)
    else:
        locked_ids = sa.select(col(Mention.id)).where(*pending).order_by(col(Mention.id)).with_for_update()
        stmt = (sa.update(Mention).where(col(Mention.id).in_(locked_ids), *pending)
                .values(analyzed_at=now, analyzer_version=ANALYZER_VERSION)
                .returning(Mention).execution_options(synchronize_session=False, populate_existing=True))
        claimed = list(session.scalars(stmt))
    return sorted(claimed, key=lambda m: m.id or 0)


def process_mention(*, session: Session, mention_id: int) -> ProcessResult:
    """Analyze one stored mention and carry it through clustering, grading and alerting.

    The analysis' own error is raised (the caller records it), as it always was for one mention.
    """
    batch = process_batch(session=session, mention_ids=[mention_id])
    if mention_id in batch.failed:
        raise batch.failed[mention_id]
    return batch.results[mention_id]


def after_analysis(*, session: Session, mentions: list[Mention]) -> None:
    """The batch's analyzed mentions, before clustering: the place for steps that must see every
    processed mention: 专题 (special topics) tag them here, in the batch's transaction."""
    topics.tag_mentions(session=session, mentions=mentions)


def process_batch(*, session: Session, mention_ids: list[int]) -> BatchResult:
    """Analyze stored mentions and carry them through clustering, grading and alerting together.

    Runs in the caller's transaction; an error other than the analysis' own (which is kept per
    mention) leaves the transaction to be rolled back: the caller then processes the mentions
    one by one, so one bad mention cannot hold back the others.
    """
    out = BatchResult({i: ProcessResult(i, processed=False) for i in mention_ids})
    claimed = claim_batch(session=session, mention_ids=mention_ids)
    if not claimed:
        return out
    settings = get_settings()
    window = timedelta(hours=settings.cluster_window_hours)
    since = events.minute_of(utcnow() - VELOCITY_WINDOW)
    # Nothing is written before the end: new events are inserted with their final numbers and
    # every row is written once (autoflush would write each step's half-done state).
    # What each mention counts as in mention_day before its analysis (its sentiment changes).
    counted_as = {m.id: rollup.key_of(m) for m in claimed}
    with session.no_autoflush:
        items = _analyze(session, claimed, out)
        if not items:
            return out
        after_analysis(session=session, mentions=[item.mention for item in items])
        new_events = _cluster(session, items, window, settings.cluster_max_distance,
                              settings.cluster_story_jaccard)
        by_key: dict[int | str, Event | events.EventDraft] = {
            key: events.draft_from_mention(mention=first.mention, bigrams=first.bigrams)
            for key, first in new_events.items()}
        # The joined events, locked in id order (no two workers wait on each other in a circle)
        # and re-read with their committed numbers.
        existing = sorted({item.event_key for item in items if isinstance(item.event_key, int)})
        for locked_id, locked in events.lock_many(session=session, event_ids=existing).items():
            by_key[locked_id] = locked
        media = sources.media_mention_ids(session=session,
                                          mention_ids=[i.mention.id for i in items if i.mention.id])
        recent: dict[int | str, int] = {}
        recent.update(events.recent_engagement(session=session, event_ids=existing, since=since).items())
        amounts: dict[tuple[int | str, datetime], int] = {}
        last_item: dict[int | str, _Item] = {}
        for item in items:
            assert item.event_key is not None
            event, m = by_key[item.event_key], item.mention
            events.absorb(session=session, event=event, mention=m)
            if m.id in media:
                event.media_involved = True
            slot = (item.event_key, events.minute_of(m.created_at))
            amounts[slot] = amounts.get(slot, 0) + m.likes + m.reposts + m.comments
            last_item[item.event_key] = item
        for (key, minute), amount in amounts.items():
            if minute >= since:
                recent[key] = recent.get(key, 0) + amount
        rose = {key for key, event in by_key.items()
                if regrade(event, engagement_2h_ago=event.engagement - recent.get(key, 0),
                           media_involved=event.media_involved)}
    # New events inserted with their final numbers in one statement, the joined ones updated.
    events.insert_drafts(session=session, drafts=[d for d in by_key.values() if isinstance(d, events.EventDraft)])
    session.flush()
    rows = []
    for item in items:
        event, m = by_key[item.event_key], item.mention  # type: ignore[index]
        assert event.id is not None and m.id is not None
        set_committed_value(m, "event_id", event.id)
        rows.append({"_id": m.id, "event_id": event.id, **{name: getattr(m, name) for name in WRITTEN_COLUMNS}})
        first = isinstance(item.event_key, str) and new_events[item.event_key] is item
        out.results[m.id] = ProcessResult(m.id, True, event.id, first, event.grade)
    table = Mention.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == sa.bindparam("_id"))
                    .values({name: sa.bindparam(name) for name in ("event_id", *WRITTEN_COLUMNS)}), rows)
    moved: Counter[rollup.Key] = Counter()
    for item in items:
        moved[counted_as[item.mention.id]] -= 1
        moved[rollup.key_of(item.mention)] += 1
    events.add_engagement(session=session, amounts={
        (by_key[key].id, minute): amount for (key, minute), amount in amounts.items()})  # type: ignore[misc]

    unit_of: dict[str, Any] = {}
    for key, entry in sorted(by_key.items(), key=lambda kv: kv[1].id or 0):
        event_id = entry.id
        assert event_id is not None
        if entry.grade is None:
            continue  # nothing to alert or follow (a grade never falls back to none)
        if isinstance(entry, Event):
            event = entry
            if key in rose:
                tickets.follow_event_grade(session=session, event=event)  # the ticket's grade follows
        else:  # a new event with a grade: the ORM row that alerts and tickets work with
            loaded = session.get(Event, event_id)
            assert loaded is not None
            event = loaded
        result = out.results[last_item[key].mention.id or 0]
        alert = alerts.open_for_event(session=session, event=event)
        if alert is not None and alert.id is not None:
            result.alert_ids.append(alert.id)
        if event.grade in settings.auto_ticket_grades:
            if event.topic not in unit_of:
                unit_of[event.topic] = units.for_topic(session=session, topic=event.topic)
            unit = unit_of[event.topic]
            ticket, opened = tickets.open_from_event(
                session=session, event_id=event_id, actor_id=None,
                unit_id=unit.id if unit else None, note=f"{event.grade}级舆情自动开单",
            )
            result.ticket_id = ticket.id if opened else None
    # Last: the day rows this locks stay locked only until the commit (workers queue briefly on a
    # busy day's row instead of for a whole batch).
    rollup.bump(session, moved)
    return out


VELOCITY_WINDOW = timedelta(hours=2)
ANALYSIS_COLUMNS = ("topics", "topic_scores", "sentiment", "sentiment_score", "places", "relevant", "risk",
                    "sensitive_terms", "simhash", "simhash_b0", "simhash_b1", "simhash_b2", "simhash_b3")
# The analysis and the claim's stamp (see claim_batch), written in the batch's one UPDATE.
WRITTEN_COLUMNS = (*ANALYSIS_COLUMNS, "analyzed_at", "analyzer_version")


def _analyze(session: Session, claimed: list[Mention], out: BatchResult) -> list[_Item]:
    """Analyze each claimed mention; release the ones the analysis cannot take, with their error."""
    import core.analysis  # the module, not the function: fault injection replaces core.analysis.analyze
    from core.analysis.events import content_bigrams

    items: list[_Item] = []
    failures: list[dict[str, Any]] = []
    for mention in claimed:
        assert mention.id is not None
        try:
            result = core.analysis.analyze(mention.text, title=mention.title, published_at=mention.published_at)
            bands = events.simhash_bands(result.simhash)
            values: dict[str, Any] = {
                "topics": list(result.topics),
                "topic_scores": {k: round(float(v), 4) for k, v in result.topic_scores.items()},
                "sentiment": result.sentiment, "sentiment_score": float(result.sentiment_score),
                "places": list(result.places), "relevant": bool(result.relevant),
                "risk": float(result.risk), "sensitive_terms": list(result.sensitive_terms),
                "simhash": f"{result.simhash:016x}", "simhash_b0": bands[0], "simhash_b1": bands[1],
                "simhash_b2": bands[2], "simhash_b3": bands[3],
            }
            bigrams = content_bigrams(result.tokens)
        except Exception as exc:  # this mention only: a bug or an input the analysis cannot take
            log.warning("analysis of mention %s failed: %s: %s", mention.id, type(exc).__name__, exc)
            out.failed[mention.id] = exc
            failures.append({"id": mention.id, "error": f"{type(exc).__name__}: {exc}"[:1000]})
            continue
        # Shown on the object without making it dirty: the batch writes all rows in one statement.
        for name, value in values.items():
            set_committed_value(mention, name, value)
        seen = ensure_utc(mention.seen_at or mention.published_at or mention.created_at)
        items.append(_Item(mention, seen, result.simhash, bands, bigrams))
    for failure in failures:
        # Back in the outbox, unanalyzed, with its error; the attempt was counted before the work.
        session.execute(sa.update(Mention).where(col(Mention.id) == failure["id"])
                        .values(analyzed_at=None, analyzer_version="", process_error=failure["error"],
                                enqueued_at=None).execution_options(synchronize_session=False))
    return items


def _cluster(session: Session, items: list[_Item], window: timedelta, max_distance: int,
             min_jaccard: float) -> dict[str, _Item]:
    """Give each item its event key, in id order, as if they had come one after another.

    Returns the new events' keys with the mention that opens each.
    """
    from core.analysis import hamming
    from core.analysis.events import jaccard

    stored = events.band_candidates(session=session, hashes=[(i.simhash, i.seen) for i in items], window=window)
    # Every clustered mention the batch may match, by band: (id, simhash, event key, seen).
    by_band: dict[tuple[int, int], list[tuple[int, int, int | str, datetime]]] = {}

    def remember(mid: int, value: int, bands: tuple[int, int, int, int], key: int | str, seen: datetime) -> None:
        for n, band in enumerate(bands):
            by_band.setdefault((n, band), []).append((mid, value, key, seen))

    for mid, value, event_id, seen in stored:
        remember(mid, value, events.simhash_bands(value), event_id, seen)
    story_wanted = [(i.mention.topics[0], i.seen) for i in items
                    if i.mention.topics and i.mention.topics[0] != "other" and i.mention.places and i.bigrams]
    views: dict[int | str, _StoryView] = {}
    for event in events.story_candidates(session=session, wanted=story_wanted, window=window):
        assert event.id is not None and event.first_seen_at is not None and event.last_seen_at is not None
        if event.story_bigrams:
            views[event.id] = _StoryView(event.id, event.topic, set(event.places), set(event.story_bigrams),
                                         ensure_utc(event.first_seen_at), ensure_utc(event.last_seen_at))
    new_events: dict[str, _Item] = {}
    for item in items:
        assert item.mention.id is not None
        best: tuple[int, int | str] | None = None
        sharing = {row[0]: row for n, band in enumerate(item.bands) for row in by_band.get((n, band), ())}
        for mid, value, ekey, seen in sorted(sharing.values(), key=lambda row: -row[0]):  # newest first
            if mid == item.mention.id or abs(seen - item.seen) > window:
                continue
            distance = hamming(item.simhash, value)
            if distance <= max_distance and (best is None or distance < best[0]):
                best = (distance, ekey)
        key: int | str | None = best[1] if best else None
        topic = item.mention.topics[0] if item.mention.topics else "other"
        if key is None and topic != "other" and item.mention.places and item.bigrams:
            recent = sorted((v for v in views.values() if v.topic == topic and v.last_seen >= item.seen - window
                             and v.first_seen <= item.seen + window), key=lambda v: v.last_seen, reverse=True)[:64]
            story: tuple[float, int | str] | None = None
            for view in recent:
                if not view.places & set(item.mention.places):
                    continue
                score = jaccard(item.bigrams, view.bigrams)
                if score >= min_jaccard and (story is None or score > story[0]):
                    story = (score, view.key)
            key = story[1] if story else None
        if key is None:
            key = f"new:{len(new_events)}"
            new_events[key] = item
            views[key] = _StoryView(key, topic, set(), set(sorted(item.bigrams)[:events.STORY_BIGRAMS_CAP]),
                                    item.seen, item.seen)
        item.event_key = key
        remember(item.mention.id, item.simhash, item.bands, key, item.seen)
        joined = views.get(key)
        if joined is not None:  # the event as it will be after absorbing this mention
            joined.places |= set(item.mention.places)
            joined.first_seen, joined.last_seen = min(joined.first_seen, item.seen), max(joined.last_seen, item.seen)
            if joined.topic == "other" and topic != "other":
                joined.topic = topic
    return new_events


def regrade(event: Event | events.EventDraft, *, engagement_2h_ago: int, media_involved: bool) -> bool:
    """Grade an event from its accumulated numbers (in memory); True when the grade rose.

    A grade only ever rises; the score keeps its maximum.
    """
    from core.analysis import grade_event as analysis_grade

    grade, score, reason = analysis_grade(
        mention_count=event.mention_count,
        engagement=event.engagement,
        engagement_2h_ago=engagement_2h_ago,
        negative_ratio=event.negative_count / max(event.mention_count, 1),
        sensitive_terms=list(event.sensitive_terms),
        media_involved=media_involved,
        relevant=event.relevant,
        max_risk=event.max_risk,
    )
    rose = events.outranks(grade, event.grade)
    if rose:
        event.grade, event.grade_reason = grade, reason
    event.grade_score = max(event.grade_score, float(score))
    return rose


def grade_event(*, session: Session, event: Event, engagement_2h_ago: int | None = None,
                media_involved: bool | None = None) -> None:
    """Re-grade a stored event from its accumulated numbers; a grade only ever rises.

    Velocity compares with the engagement of mentions stored before 2 h ago: the event's total
    minus its per-minute rows of the last 2 h; media involvement is kept on the event.
    """
    assert event.id is not None
    if engagement_2h_ago is None:
        recent = events.recent_engagement(session=session, event_ids=[event.id], since=utcnow() - VELOCITY_WINDOW)
        engagement_2h_ago = event.engagement - recent.get(event.id, 0)
    rose = regrade(event, engagement_2h_ago=engagement_2h_ago,
                   media_involved=event.media_involved if media_involved is None else media_involved)
    session.add(event)
    if rose:
        tickets.follow_event_grade(session=session, event=event)  # the ticket's grade follows
