"""Mentions processed a batch at a time keep every guarantee of one at a time: claimed once, a bad
mention isolated with its error, counters equal to a recount, events graded from true numbers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.db import get_engine
from core.events.models import Event, EventEngagement
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.processing import service as processing
from core.sources import service as sources
from core.sources.models import SourceCreate
from core.timeutil import utcnow

FIRE = ("站前街道永安小区楼道电动车充电起火，浓烟冒到六楼，好几户被困，楼下几十个居民聚集，"
        "要求物业和街道马上清理楼道、安装充电桩[怒]")
PARKING = "站前街道永安小区门口天天乱停车，消防通道被私家车堵死，救护车都进不来，物业不管。"
PARKING_RETOLD = "永安小区大门口的消防通道又被乱停的私家车堵住了，救护车进不来，站前街道管管吧！"
GARBAGE = "站前街道和平小区垃圾一个星期没人清运，臭气熏天，物业收了钱不干活。"
BOOKSHOP = "周末去哪儿：新开的书店咖啡馆打卡攻略，环境安静适合看书，欢迎带孩子一起去逛逛。"


def _store(session: Session, external_id: str, text: str, **extra: Any) -> int:
    result = mentions.ingest(session=session, mention_in=MentionCreate(
        external_id=external_id, channel=extra.pop("channel", "weibo"), title="", text=text, **extra))
    session.commit()
    assert result.mention.id is not None
    return result.mention.id


def _recount(session: Session) -> tuple[dict[int, tuple[int, int, int]], dict[int, tuple[int, int, int]]]:
    """(stored counters, recount from the mentions) per event."""
    truth = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in session.execute(
        sa.select(Mention.event_id, func.count(),
                  func.sum(sa.case((col(Mention.sentiment) == "negative", 1), else_=0)),
                  func.sum(Mention.likes + Mention.reposts + Mention.comments))
        .where(col(Mention.event_id).is_not(None)).group_by(col(Mention.event_id)))}
    stored = {e.id: (e.mention_count, e.negative_count, e.engagement) for e in session.exec(select(Event))
              if e.id is not None}
    return stored, truth


def test_a_batch_across_several_events_clusters_as_one_at_a_time_would(session: Session) -> None:
    fire = [_store(session, f"f{i}", f"转发微博 {FIRE}" if i else FIRE, reposts=i * 10) for i in range(6)]
    parking = [_store(session, "p1", PARKING), _store(session, "p2", PARKING_RETOLD)]
    garbage = _store(session, "g1", GARBAGE, likes=7)
    book = _store(session, "b1", BOOKSHOP)
    ids = [fire[0], parking[0], fire[1], garbage, fire[2], parking[1], fire[3], book, fire[4], fire[5]]
    batch = processing.process_batch(session=session, mention_ids=ids)
    session.commit()

    assert not batch.failed and sorted(batch.processed) == sorted(ids)
    event_of = {i: batch.results[i].event_id for i in ids}
    assert len({event_of[i] for i in fire}) == 1  # the repost storm is one event
    assert event_of[parking[0]] == event_of[parking[1]]  # the same story in other words
    assert len({event_of[fire[0]], event_of[parking[0]], event_of[garbage], event_of[book]}) == 4
    assert [batch.results[i].new_event for i in fire] == [True, False, False, False, False, False]
    stored, truth = _recount(session)
    assert stored == truth and len(stored) == 4
    storm = session.get(Event, event_of[fire[0]])
    assert storm is not None and storm.mention_count == 6 and storm.engagement == 150
    # 150 interactions stored within 2 h, people trapped: graded from the batch's true numbers.
    assert storm.grade == "I" and "被困" in storm.grade_reason
    assert batch.results[fire[5]].grade == "I" and batch.results[fire[5]].alert_ids
    assert sum(e.engagement for e in session.exec(select(EventEngagement)).all()) == 157

    # The next batch joins the stored events (looked up in the database now, not in the batch).
    more = [_store(session, "f9", f"转发微博 {FIRE}", reposts=5), _store(session, "g2", GARBAGE + "！")]
    second = processing.process_batch(session=session, mention_ids=more)
    session.commit()
    assert second.results[more[0]].event_id == event_of[fire[0]]
    assert second.results[more[1]].event_id == event_of[garbage]
    stored, truth = _recount(session)
    assert stored == truth


def test_a_redelivered_batch_does_nothing_twice(session: Session) -> None:
    from worker.tasks import process_batch

    ids = [_store(session, f"w{i}", f"转发微博 {FIRE}" if i else FIRE, likes=3) for i in range(4)]
    first = process_batch(ids)  # embedded mode: runs here
    again = process_batch(ids)
    assert (first["processed"], again["processed"]) == (4, 0)
    session.expire_all()
    stored, truth = _recount(session)
    assert stored == truth and list(stored.values()) == [(4, truth[next(iter(truth))][1], 12)]
    attempts = session.exec(select(Mention.process_attempts).where(col(Mention.id).in_(ids))).all()
    assert attempts == [1, 1, 1, 1]  # a delivery of work done already is not an attempt
    # Claimed once: a stray overlapping delivery takes only what is new.
    extra = _store(session, "w9", f"转发微博 {FIRE}", likes=3)
    assert processing.process_batch(session=session, mention_ids=[ids[0], extra, ids[2]]).processed == [extra]
    session.commit()
    stored, truth = _recount(session)
    assert stored == truth and next(iter(stored.values()))[0] == 5


def test_a_mention_the_analysis_chokes_on_is_isolated_from_its_batch(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.analysis
    from worker.tasks import process_batch

    good = [_store(session, "a", FIRE), _store(session, "b", GARBAGE)]
    bad = _store(session, "c", "无法解析的文本 " + PARKING)
    real = core.analysis.analyze

    def choking(text: str, **kwargs: Any) -> Any:  # fault injection: this one input breaks the analysis
        if text.startswith("无法解析"):
            raise ValueError("无法解析的文本")
        return real(text, **kwargs)

    monkeypatch.setattr(core.analysis, "analyze", choking)
    out = process_batch([good[0], bad, good[1]])
    assert out["processed"] == 2 and "ValueError" in out["failed"][bad]
    session.expire_all()
    for mention_id in good:
        m = session.get(Mention, mention_id)
        assert m is not None and m.analyzed_at is not None and m.event_id is not None and m.process_attempts == 1
    m = session.get(Mention, bad)
    assert m is not None and m.analyzed_at is None and m.event_id is None and not m.simhash
    assert m.process_attempts == 1 and "无法解析的文本" in m.process_error
    assert mentions.get_pending_ids(session=session, older_than=timedelta(minutes=-1)) == [bad]
    monkeypatch.undo()
    assert process_batch([bad])["processed"] == 1  # sent again once the cause is fixed
    session.expire_all()
    m = session.get(Mention, bad)
    assert m is not None and m.event_id is not None and m.process_attempts == 2


def test_a_mention_that_fails_later_in_the_batch_is_retried_alone_and_the_rest_commit(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.events import service as events
    from worker.tasks import process_batch

    ids = [_store(session, "a", FIRE, reposts=2), _store(session, "b", GARBAGE), _store(session, "c", BOOKSHOP),
           _store(session, "d", f"转发微博 {FIRE}", reposts=3)]
    real = events.absorb

    def breaking(*, session: Session, event: Event, mention: Mention) -> None:  # fault injection
        if mention.text == GARBAGE:
            raise RuntimeError("absorb failed")
        real(session=session, event=event, mention=mention)

    monkeypatch.setattr(events, "absorb", breaking)
    out = process_batch(ids)
    assert out["processed"] == 3 and "RuntimeError" in out["failed"][ids[1]]
    session.expire_all()
    m = session.get(Mention, ids[1])
    assert m is not None and m.analyzed_at is None and m.event_id is None and "absorb failed" in m.process_error
    assert [session.get(Mention, i).process_attempts for i in ids] == [1, 1, 1, 1]  # type: ignore[union-attr]
    stored, truth = _recount(session)
    assert stored == truth and sorted((n, eng) for n, _, eng in stored.values()) == [(1, 0), (2, 5)]


def test_velocity_counts_engagement_stored_in_the_last_two_hours_only(session: Session) -> None:
    old = _store(session, "v0", "永安小区门口乱停车，站前街道管管", reposts=1000)
    m = session.get(Mention, old)
    assert m is not None
    m.created_at = utcnow() - timedelta(hours=3)
    session.add(m)
    session.commit()
    processing.process_batch(session=session, mention_ids=[old])
    session.commit()
    new = _store(session, "v1", "永安小区门口乱停车，站前街道管管！", reposts=10)
    result = processing.process_batch(session=session, mention_ids=[new]).results[new]
    session.commit()
    event = session.get(Event, result.event_id)
    assert event is not None and event.mention_count == 2 and event.engagement == 1010
    # Not "2小时内新增转评赞1010": only the 10 stored just now are new.
    assert "2小时内新增" not in event.grade_reason, event.grade_reason
    recent = session.exec(select(func.sum(EventEngagement.engagement))
                          .where(EventEngagement.event_id == event.id)).one()
    assert recent == 10  # the per-minute row of 3 h ago is pruned: never asked for again


def test_media_involvement_is_kept_on_the_event(session: Session) -> None:
    paper = sources.create(session=session, source_in=SourceCreate(
        name="paper", kind="news", channel="news", url="https://example.org/paper", publisher_kind="unknown"))
    session.commit()
    first = _store(session, "m1", FIRE)
    processing.process_batch(session=session, mention_ids=[first])
    session.commit()
    event_id = session.get(Mention, first).event_id  # type: ignore[union-attr]
    assert event_id is not None and session.get(Event, event_id).media_involved is False  # type: ignore[union-attr]
    reported = _store(session, "m2", "转发 " + FIRE, channel="news", source_id=paper.id)
    processing.process_batch(session=session, mention_ids=[reported])
    session.commit()
    session.expire_all()
    event = session.get(Event, event_id)
    assert event is not None and event.mention_count == 2
    assert event.media_involved is sources.media_involved(session=session, event_id=event_id) is True


def test_near_duplicates_outside_the_window_make_a_new_event(session: Session) -> None:
    now = utcnow()
    then = _store(session, "t0", FIRE, published_at=now - timedelta(days=10))
    processing.process_batch(session=session, mention_ids=[then])
    session.commit()
    fresh = [_store(session, "t1", FIRE + "！", published_at=now), _store(session, "t2", FIRE + "？")]
    batch = processing.process_batch(session=session, mention_ids=fresh)
    session.commit()
    first_event = session.get(Mention, then).event_id  # type: ignore[union-attr]
    assert batch.results[fresh[0]].event_id == batch.results[fresh[1]].event_id != first_event


STORIES = (
    "站前街道永安小区门口乱停车严重，消防通道被堵，居民出行困难，希望城管尽快处理",
    "新抚区站前街道幸福小区暖气不热，室温只有十二度，老人孩子受冻，供热公司不接电话",
)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_workers_on_overlapping_batches_keep_exact_counters(session: Session) -> None:
    # Events exist first, so both workers join (and lock) the same rows from the start.
    seed = [_store(session, f"seed-{n}", story) for n, story in enumerate(STORIES)]
    processing.process_batch(session=session, mention_ids=seed)
    session.commit()
    ids = [_store(session, f"race-{n}", f"{STORIES[n % 2]}（{n % 5}）" if n % 3 else STORIES[n % 2],
                  likes=n % 7, reposts=n % 3, comments=1) for n in range(240)]
    # Overlapping, in opposite orders: each mention must be taken by exactly one of them.
    plans = ([ids[i:i + 40] for i in range(0, 160, 40)], [ids[i:i + 40] for i in range(200, 40, -40)])
    processed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for chunk in plans[n]:
                with Session(get_engine(), expire_on_commit=False) as s:
                    processed[n] += processing.process_batch(session=s, mention_ids=chunk).processed
                    s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert not set(processed[0]) & set(processed[1])  # claimed once
    rest = [i for i in ids if i not in set(processed[0]) | set(processed[1])]
    processing.process_batch(session=session, mention_ids=rest)
    session.commit()
    session.expire_all()
    stored, truth = _recount(session)
    assert sum(n for n, _, _ in truth.values()) == len(ids) + len(seed)
    assert stored == truth
    # The per-day counts, bumped by both workers on the same day rows, lost nothing either.
    from tests.core.test_mention_day import stored as day_counts
    from tests.core.test_mention_day import truth as day_truth

    assert day_counts(session) == day_truth(session)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_processed_mention_is_rewritten_once(session: Session) -> None:
    """The claim is the batch's row locks; the stamp goes with the analysis: one row version per
    mention (each version costs an entry in every index of `mention`, the keyword index among them)."""
    ids = [_store(session, f"w{i}", text) for i, text in enumerate((FIRE, PARKING, GARBAGE, BOOKSHOP))]
    stamp = utcnow()

    def updated() -> int:
        return int(session.execute(sa.text(
            "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'mention'")).scalar_one())

    batch = processing.process_batch(session=session, mention_ids=ids)
    assert sorted(batch.processed) == sorted(ids)
    assert updated() == len(ids)
    session.commit()
    for mention_id in ids:
        m = session.get(Mention, mention_id, populate_existing=True)
        assert m is not None and m.analyzed_at is not None and m.analyzed_at >= stamp - timedelta(seconds=1)
        assert m.analyzer_version and m.event_id is not None and m.simhash
