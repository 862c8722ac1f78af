"""专题: define, edit and delete topics; tag the stored history and each new mention.

Tagging cannot be a plain SQL LIKE: the rules match the folded text (traditional → simplified,
full-width → half-width, see core.topics.rules), which SQL cannot compute on both backends. So
the history is read once, in (seen_at, id) keyset batches of BATCH rows restricted to the
topic's time range in SQL (index ix_mention_seen), matched in Python, and the links are written
set-based per batch: one INSERT … ON CONFLICT DO NOTHING for the matches and one DELETE for the
links that no longer match. Memory stays at one batch however long the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.access import Scope
from core.audit import service as audit
from core.errors import Conflict, InvalidInput, NotFound
from core.mentions.models import Mention
from core.timeutil import utcnow
from core.topics.models import MAX_WORD_CHARS, MentionTrack, Track, TrackIn, TrackPublic, TrackUpdate
from core.topics.rules import Rules, clean_words

BATCH = 1000
RULE_FIELDS = ("all_words", "any_words", "none_words", "places", "starts_on", "ends_on", "active")


@dataclass
class TagResult:
    """What one tagging pass did."""

    scanned: int = 0
    matched: int = 0
    added: int = 0
    removed: int = 0


def get(*, session: Session, track_id: int) -> Track:
    """The topic, or NotFound."""
    track = session.get(Track, track_id)
    if track is None:
        raise NotFound(f"专题不存在: {track_id}")
    return track


def get_all(*, session: Session, scope: Scope) -> list[TrackPublic]:
    """Every topic, newest first, with the number of tagged mentions the scope may see."""
    counts = dict(session.exec(
        select(MentionTrack.track_id, func.count())
        .join(Mention, col(Mention.id) == col(MentionTrack.mention_id))
        .where(scope.mentions()).group_by(col(MentionTrack.track_id))).all())
    tracks = session.exec(select(Track).order_by(col(Track.active).desc(), col(Track.starts_on).desc(),
                                                 col(Track.id).desc())).all()
    return [public(t, int(counts.get(t.id or 0, 0))) for t in tracks]


def public(track: Track, mention_count: int) -> TrackPublic:
    return TrackPublic.model_validate(track, update={"mention_count": mention_count})


def count(*, session: Session, track_id: int, scope: Scope) -> int:
    """Tagged mentions of the topic that the scope may see."""
    return int(session.exec(
        select(func.count()).select_from(MentionTrack)
        .join(Mention, col(Mention.id) == col(MentionTrack.mention_id))
        .where(MentionTrack.track_id == track_id, scope.mentions())).one() or 0)


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    """Fold the keywords, check places against the gazetteer, the range and that something is asked."""
    from core.analysis.config import load_gazetteer

    out = dict(values)
    for key in ("all_words", "any_words", "none_words"):
        out[key] = clean_words(out.get(key) or [])
        if any(len(w) > MAX_WORD_CHARS for w in out[key]):
            raise InvalidInput(f"关键词不能超过 {MAX_WORD_CHARS} 个字")
    places = [p.strip() for p in out.get("places") or [] if p.strip()]
    known = load_gazetteer().by_name
    unknown = [p for p in places if p not in known]
    if unknown:
        raise InvalidInput(f"地名库中没有这些地名: {'、'.join(unknown)}")
    out["places"] = list(dict.fromkeys(places))
    if not (out["all_words"] or out["any_words"] or out["places"]):
        raise InvalidInput("请至少填写一个“全部包含”或“包含任一”关键词，或选择地名")
    starts_on, ends_on = out["starts_on"], out.get("ends_on")
    if not 2000 <= starts_on.year <= 2100 or (ends_on is not None and not 2000 <= ends_on.year <= 2100):
        raise InvalidInput("日期超出范围")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput("结束日期不能早于开始日期")
    name = (out.get("name") or "").strip()
    if not name:
        raise InvalidInput("请填写专题名称")
    out["name"] = name
    return out


def _check_name(session: Session, name: str, track_id: int | None) -> None:
    stmt = select(Track.id).where(Track.name == name)
    if track_id is not None:
        stmt = stmt.where(Track.id != track_id)
    if session.exec(stmt).first() is not None:
        raise Conflict(f"专题名称已存在: {name}")


def create(*, session: Session, track_in: TrackIn, actor_id: int | None) -> Track:
    """Define a topic and tag the stored history that matches it."""
    values = _validated(track_in.model_dump())
    _check_name(session, values["name"], None)
    track = Track(**values, created_by_id=actor_id)
    session.add(track)
    session.flush()
    assert track.id is not None
    audit.record(session=session, entity="track", entity_id=track.id, action="create", actor_id=actor_id,
                 after=values)
    retag(session=session, track=track)
    return track


def update(*, session: Session, track_id: int, changes: TrackUpdate, actor_id: int | None) -> Track:
    """Edit a topic; a change of rules, places, range or activity re-tags its history."""
    track = get(session=session, track_id=track_id)
    given = changes.model_dump(exclude_unset=True)
    if "starts_on" in given and given["starts_on"] is None:
        raise InvalidInput("开始日期不能为空")
    if "name" in given and given["name"] is None:
        raise InvalidInput("请填写专题名称")
    merged = {**track.model_dump(include=set(TrackIn.model_fields)), **given}
    values = _validated(merged)
    _check_name(session, values["name"], track_id)
    rules_changed = any(values[k] != getattr(track, k) for k in RULE_FIELDS)
    before, after = audit.diff(track, values)
    if after:
        audit.record(session=session, entity="track", entity_id=track_id, action="update", actor_id=actor_id,
                     before=before, after=after)
    for key, value in values.items():
        setattr(track, key, value)
    track.updated_at = utcnow()
    session.add(track)
    session.flush()
    if rules_changed:
        retag(session=session, track=track)
    return track


def delete(*, session: Session, track_id: int, actor_id: int | None) -> None:
    """Remove a topic and its links (the mentions stay)."""
    track = get(session=session, track_id=track_id)
    audit.record(session=session, entity="track", entity_id=track_id, action="delete", actor_id=actor_id,
                 before={"name": track.name})
    session.execute(sa.delete(MentionTrack).where(col(MentionTrack.track_id) == track_id))
    session.delete(track)
    session.flush()


def _insert_links(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert links, ignoring pairs already there (a worker may have tagged the same mention)."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(MentionTrack).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(MentionTrack).on_conflict_do_nothing()
    # One cached statement for every batch (SQLAlchemy packs the rows into multi-row INSERTs);
    # RETURNING gives the rows really inserted, which rowcount does not on psycopg.
    return len(session.execute(stmt.returning(col(MentionTrack.mention_id)), rows).all())


def _delete_links(session: Session, track_ids: Iterable[int], mention_ids: Sequence[int]) -> int:
    track_ids = list(track_ids)
    if not mention_ids or not track_ids:
        return 0
    result = session.execute(sa.delete(MentionTrack).where(
        col(MentionTrack.track_id).in_(track_ids), col(MentionTrack.mention_id).in_(list(mention_ids))))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def retag(*, session: Session, track: Track, batch: int = BATCH) -> TagResult:
    """Match the stored mentions of the topic's range against its rules and bring the links in line.

    Links to mentions outside the range go in one DELETE; inside it, each keyset batch of
    `batch` rows is matched and written before the next is read.
    """
    assert track.id is not None
    rules = Rules.of(track)
    since, until = rules.since, rules.until
    out = TagResult()
    in_range = col(Mention.seen_at) >= since
    if until is not None:
        in_range = sa.and_(in_range, col(Mention.seen_at) < until)
    outside = select(Mention.id).where(sa.or_(col(Mention.seen_at).is_(None), sa.not_(in_range)))
    result = session.execute(sa.delete(MentionTrack).where(
        col(MentionTrack.track_id) == track.id, col(MentionTrack.mention_id).in_(outside)))
    out.removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    now = utcnow()
    cursor: tuple[datetime, int] | None = None
    while True:
        # Each row says whether it is linked already: only the changes are written.
        linked = sa.and_(col(MentionTrack.mention_id) == col(Mention.id), col(MentionTrack.track_id) == track.id)
        stmt: Any = (sa.select(col(Mention.id), col(Mention.seen_at), col(Mention.title), col(Mention.text),
                               col(Mention.places), col(MentionTrack.mention_id))
                     .outerjoin(MentionTrack, linked).where(in_range))
        if cursor is not None:
            seen, last_id = cursor
            stmt = stmt.where(col(Mention.seen_at) >= seen,
                              sa.or_(col(Mention.seen_at) > seen, col(Mention.id) > last_id))
        rows = session.execute(stmt.order_by(col(Mention.seen_at), col(Mention.id)).limit(batch)).all()
        if not rows:
            break
        new: list[int] = []
        stale: list[int] = []
        for mention_id, seen_at, title, text, places, link in rows:
            ok = rules.matches(title=title, text=text, places=places, seen_at=seen_at)
            out.matched += ok
            if ok and link is None:
                new.append(mention_id)
            elif not ok and link is not None:
                stale.append(mention_id)
        out.scanned += len(rows)
        out.added += _insert_links(session, [{"track_id": track.id, "mention_id": m, "tagged_at": now}
                                             for m in new])
        out.removed += _delete_links(session, [track.id], stale)
        last = rows[-1]
        cursor = (last[1], last[0])
        if len(rows) < batch:
            break
    track.tagged_at = now
    session.add(track)
    session.flush()
    return out


def tag_mentions(*, session: Session, mentions: list[Mention]) -> dict[int, list[int]]:
    """Tag freshly analyzed mentions with every active topic they match (batch-shaped: one query
    for the topics, one INSERT and one DELETE for the whole list). Returns mention id → topic ids.

    Links of active topics that a mention no longer matches (re-analysis found other places)
    are removed, so calling it again for the same mentions is harmless.
    """
    mentions = [m for m in mentions if m.id is not None]
    if not mentions:
        return {}
    tracks = session.exec(select(Track).where(Track.active == True)).all()  # noqa: E712
    if not tracks:
        return {}
    compiled = [(t.id, Rules.of(t)) for t in tracks if t.id is not None]
    from core.topics.rules import fold

    now = utcnow()
    found: dict[int, list[int]] = {}
    rows: list[dict[str, Any]] = []
    for m in mentions:
        assert m.id is not None
        seen = m.seen_at or m.published_at or m.created_at
        folded: str | None = None
        for track_id, rules in compiled:
            if not rules.in_range(seen) or not rules.matches_places(m.places):
                continue
            folded = folded if folded is not None else fold(f"{m.title or ''}\n{m.text or ''}")
            if rules.matches_text(folded):
                assert track_id is not None
                found.setdefault(m.id, []).append(track_id)
                rows.append({"track_id": track_id, "mention_id": m.id, "tagged_at": now})
    _insert_links(session, rows)
    stale = sa.and_(col(MentionTrack.mention_id).in_([m.id for m in mentions]),
                    col(MentionTrack.track_id).in_([t for t, _ in compiled]))
    keep = [sa.and_(col(MentionTrack.mention_id) == mid, col(MentionTrack.track_id).in_(tids))
            for mid, tids in found.items()]
    session.execute(sa.delete(MentionTrack).where(stale, sa.not_(sa.or_(*keep)) if keep else sa.true()))
    return found
