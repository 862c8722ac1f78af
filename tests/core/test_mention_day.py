"""The per-day mention counts (mention_day) equal a count of the mention rows after every kind of write."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.db import get_engine
from core.mentions import rollup
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate, MentionDay
from core.processing import service as processing
from core.reports import briefing, dashboard
from core.reports import service as reports
from core.timeutil import utcnow

PARKING = "站前街道永安小区门口天天乱停车，消防通道被私家车堵死，救护车都进不来，物业不管，太气人了。"
PRAISE = "点赞站前街道！永安小区的路灯修好了，晚上出门亮堂多了，感谢社区工作人员的辛苦付出。"
FIRE = "站前街道永安小区楼道电动车充电起火，浓烟冒到六楼，好几户被困，居民要求物业马上清理楼道。"


def stored(session: Session) -> Counter[rollup.Key]:
    out: Counter[rollup.Key] = Counter()
    for row in session.exec(select(MentionDay)):
        day = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        if row.n:
            out[(day, row.channel, row.sentiment, bool(row.dated))] += row.n
    return out


def truth(session: Session) -> Counter[rollup.Key]:
    """Counted from the mention rows, the day cut by hand: Beijing is UTC+8 all year."""
    out: Counter[rollup.Key] = Counter()
    for seen, channel, sentiment, published in session.execute(
            sa.select(Mention.seen_at, Mention.channel, Mention.sentiment, Mention.published_at)):
        seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
        out[((seen + timedelta(hours=8)).date(), channel, sentiment, published is not None)] += 1
    return out


def _ingest(session: Session, external_id: str, text: str, **extra: Any) -> int:
    result = mentions.ingest(session=session, mention_in=MentionCreate(
        external_id=external_id, channel=extra.pop("channel", "weibo"), text=text, **extra))
    session.commit()
    assert result.mention.id is not None
    return result.mention.id


def test_the_day_counts_follow_ingest_processing_relabels_and_redelivery(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.analysis

    before_midnight = datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Beijing, 1 March
    midnight = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 in Beijing, 2 March
    ids = [_ingest(session, "late", PARKING, published_at=before_midnight),
           _ingest(session, "midnight", PRAISE, published_at=midnight),
           _ingest(session, "call", FIRE, channel="hotline")]  # no published time: counted on its stored day
    assert _ingest(session, "late", PARKING, published_at=before_midnight) == ids[0]  # stored once, counted once
    # The spider's batch store: one duplicate of a stored post, one inside the batch.
    batch = [mentions.prepare(MentionCreate(external_id=f"b{i % 3}", channel="forum", text=f"{FIRE}（{i % 3}）",
                                            published_at=midnight + timedelta(hours=i))) for i in range(4)]
    batch.append(mentions.prepare(MentionCreate(external_id="late", channel="weibo", text=PARKING)))
    new_ids = mentions.ingest_many(session=session, mentions_in=batch)
    session.commit()
    assert sum(i is not None for i in new_ids) == 3
    assert stored(session) == truth(session)
    counted = stored(session)
    assert counted[(date(2026, 3, 1), "weibo", "", True)] == 1 and counted[(date(2026, 3, 2), "weibo", "", True)] == 1
    assert sum(counted.values()) == 6

    # Processing moves each mention from "not analyzed" to its sentiment; one the analysis
    # cannot take stays where it was.
    all_ids = ids + [i for i in new_ids if i is not None]
    real = core.analysis.analyze

    def choking(text: str, **kwargs: Any) -> Any:  # fault injection: this input breaks the analysis
        if text.startswith(PRAISE):
            raise ValueError("无法解析")
        return real(text, **kwargs)

    monkeypatch.setattr(core.analysis, "analyze", choking)
    out = processing.process_batch(session=session, mention_ids=all_ids)
    session.commit()
    assert len(out.processed) == 5 and ids[1] in out.failed
    assert stored(session) == truth(session)
    assert stored(session)[(date(2026, 3, 2), "weibo", "", True)] == 1  # the failed one, not analyzed
    monkeypatch.undo()

    # Redelivery: the same batch again changes nothing; the failed one, sent again, moves.
    before = stored(session)
    from worker.tasks import process_batch

    assert process_batch(all_ids)["processed"] == 1
    session.expire_all()
    after = stored(session)
    assert after == truth(session) and after != before and sum(after.values()) == 6
    assert after[(date(2026, 3, 2), "weibo", "", True)] == 0

    # A relabel (topic) and a person's edits through the ORM: sentiment, channel, deletion.
    mentions.relabel(session=session, mention_id=ids[0], topic="parking", actor_id=None)
    session.commit()
    m = session.get(Mention, ids[0])
    assert m is not None
    m.sentiment = "positive" if m.sentiment != "positive" else "negative"
    m.channel = "board"
    session.add(m)
    session.commit()
    assert stored(session) == truth(session)
    gone = session.get(Mention, ids[2])
    session.delete(gone)
    session.commit()
    assert stored(session) == truth(session) and sum(stored(session).values()) == 5

    # The migration's back-fill (SQL, the database cuts the days) gives the same counts.
    with get_engine().begin() as conn:
        rollup.recount(conn)
    session.expire_all()
    assert stored(session) == truth(session)


def test_the_readers_give_what_the_mention_rows_say(session: Session) -> None:
    now = utcnow()
    for i in range(30):
        _ingest(session, f"m{i}", f"{(PARKING, PRAISE, FIRE)[i % 3]}（{i}）",
                channel=("weibo", "forum", "news")[i % 3],
                published_at=None if i % 7 == 0 else now - timedelta(hours=13 * i))
    processing.process_batch(session=session, mention_ids=[m.id for m in session.exec(select(Mention))
                                                           if m.id is not None])
    session.commit()
    s = dashboard.summary(session=session, days=30, now=now)
    rows = truth(session)
    assert s.counts.mentions_total == 30
    today = (now + timedelta(hours=8)).date()
    assert s.counts.mentions_today == sum(n for k, n in rows.items() if k[0] >= today)
    by_day = Counter[date]()
    negative = Counter[date]()
    for (day, _channel, sentiment, _dated), n in rows.items():
        by_day[day] += n
        negative[day] += n if sentiment == "negative" else 0
    assert {p.date: p.mentions for p in s.trend if p.mentions} == {d: n for d, n in by_day.items() if n}
    assert {p.date: p.negative for p in s.trend if p.negative} == {d: n for d, n in negative.items() if n}
    assert {c.key: c.count for c in s.channels} == {"weibo": 10, "forum": 10, "news": 10}
    assert sum(c.count for c in s.sentiment) == 30
    # The annual report counts the mentions published in the year (not the undated ones).
    year = today.year
    published = sum(1 for m in session.exec(select(Mention)) if m.published_at is not None
                    and (m.published_at.replace(tzinfo=m.published_at.tzinfo or UTC)
                         + timedelta(hours=8)).year == year)
    assert reports.annual(session=session, year=year)["mentions"] == published
    week = briefing.briefing(session=session, period="daily", now=now)
    figures = {f["key"]: f["value"] for f in week["figures"]}
    assert figures["mentions"] == by_day[today]
    assert figures["negative"] == negative[today]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_writers_on_the_same_day_rows_lose_no_count(session: Session) -> None:
    """Crawlers storing batches at the same time as workers process: all on the same few day rows."""
    ids = [_ingest(session, f"seed-{n}", f"{(PARKING, FIRE)[n % 2]}（{n}）") for n in range(120)]
    errors: list[BaseException] = []

    def store(n: int) -> None:
        try:
            for k in range(6):
                with Session(get_engine(), expire_on_commit=False) as s:
                    mentions.ingest_many(session=s, mentions_in=[mentions.prepare(MentionCreate(
                        external_id=f"w{n}-{k}-{i}", channel="weibo", text=f"{PRAISE}（{n}-{k}-{i}）"))
                        for i in range(20)])
                    s.commit()
        except BaseException as exc:
            errors.append(exc)

    def work(chunks: list[list[int]]) -> None:
        try:
            for chunk in chunks:
                with Session(get_engine(), expire_on_commit=False) as s:
                    processing.process_batch(session=s, mention_ids=chunk)
                    s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(n,)) for n in (0, 1)]
    threads += [threading.Thread(target=work, args=([ids[i:i + 20] for i in range(0, 120, 20)],)),
                threading.Thread(target=work, args=([ids[i:i + 20] for i in range(100, -20, -20)],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    session.expire_all()
    assert sum(stored(session).values()) == 120 + 2 * 6 * 20
    assert stored(session) == truth(session)
