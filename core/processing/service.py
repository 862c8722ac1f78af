"""The pipeline after storage: analyze → cluster → grade → alert (→ auto ticket).

One mention is processed in one transaction, claimed by a conditional UPDATE, so a retried
or duplicated queue message does nothing twice and a crash leaves it in the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from core.alerts import service as alerts
from core.config import get_settings
from core.events import service as events
from core.events.models import Event
from core.mentions.models import Mention
from core.sources import service as sources
from core.tickets import service as tickets
from core.timeutil import utcnow
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


def claim(*, session: Session, mention_id: int) -> bool:
    """Mark a mention as taken; False when it was analyzed (or claimed) already."""
    from core.analysis import ANALYZER_VERSION

    result = session.execute(
        sa.update(Mention)
        .where(col(Mention.id) == mention_id, col(Mention.analyzed_at).is_(None))
        .values(analyzed_at=utcnow(), analyzer_version=ANALYZER_VERSION)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def process_mention(*, session: Session, mention_id: int) -> ProcessResult:
    """Analyze one stored mention and carry it through clustering, grading and alerting."""
    from core.analysis import analyze
    from core.analysis.events import content_bigrams

    if not claim(session=session, mention_id=mention_id):
        return ProcessResult(mention_id, processed=False)
    mention = session.get(Mention, mention_id)
    assert mention is not None
    session.refresh(mention)
    result = analyze(mention.text, title=mention.title, published_at=mention.published_at)
    mention.topics = list(result.topics)
    mention.topic_scores = {k: round(float(v), 4) for k, v in result.topic_scores.items()}
    mention.sentiment, mention.sentiment_score = result.sentiment, float(result.sentiment_score)
    mention.places, mention.relevant = list(result.places), bool(result.relevant)
    mention.risk, mention.sensitive_terms = float(result.risk), list(result.sensitive_terms)
    mention.simhash = f"{result.simhash:016x}"
    (mention.simhash_b0, mention.simhash_b1, mention.simhash_b2,
     mention.simhash_b3) = events.simhash_bands(result.simhash)
    topics.tag_mentions(session=session, mentions=[mention])  # 专题: tag with the matching special topics

    settings = get_settings()
    window = timedelta(hours=settings.cluster_window_hours)
    seen = mention.published_at or mention.created_at
    bigrams = content_bigrams(result.tokens)
    event_id = events.find_similar_event(
        session=session, simhash=result.simhash, at=seen, window=window,
        max_distance=settings.cluster_max_distance, exclude_mention_id=mention.id,
    ) or events.find_same_story_event(
        session=session, topic=mention.topics[0] if mention.topics else "other", places=mention.places,
        bigrams=bigrams, at=seen, window=window, min_jaccard=settings.cluster_story_jaccard,
    )
    new_event = event_id is None
    # An existing event is locked (SELECT ... FOR UPDATE) and re-read before its numbers change:
    # two workers adding mentions to one event then take turns instead of overwriting each other.
    event = (events.create_from_mention(session=session, mention=mention, bigrams=bigrams) if event_id is None
             else events.lock(session=session, event_id=event_id))
    assert event is not None and event.id is not None
    mention.event_id = event.id
    session.add(mention)
    session.flush()
    events.absorb(session=session, event=event, mention=mention)
    grade_event(session=session, event=event)
    out = ProcessResult(mention_id, True, event.id, new_event, event.grade)

    alert = alerts.open_for_event(session=session, event=event)
    if alert is not None and alert.id is not None:
        out.alert_ids.append(alert.id)
    if event.grade in settings.auto_ticket_grades:
        unit = units.for_topic(session=session, topic=event.topic)
        ticket, created = tickets.open_from_event(
            session=session, event_id=event.id, actor_id=None,
            unit_id=unit.id if unit else None, note=f"{event.grade}级舆情自动开单",
        )
        out.ticket_id = ticket.id if created else None
    return out


def grade_event(*, session: Session, event: Event) -> None:
    """Re-grade an event from its accumulated numbers; a grade only ever rises."""
    from core.analysis import grade_event as analysis_grade

    assert event.id is not None
    before = events.engagement_before(session=session, event_id=event.id,
                                      before=utcnow() - timedelta(hours=2))
    grade, score, reason = analysis_grade(
        mention_count=event.mention_count,
        engagement=event.engagement,
        engagement_2h_ago=before,
        negative_ratio=event.negative_count / max(event.mention_count, 1),
        sensitive_terms=list(event.sensitive_terms),
        media_involved=sources.media_involved(session=session, event_id=event.id),
        relevant=event.relevant,
        max_risk=event.max_risk,
    )
    rose = events.outranks(grade, event.grade)
    if rose:
        event.grade, event.grade_reason = grade, reason
    event.grade_score = max(event.grade_score, float(score))
    session.add(event)
    if rose:
        tickets.follow_event_grade(session=session, event=event)  # the ticket's grade follows
