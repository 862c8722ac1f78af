"""Mention search answers the same on SQLite (FTS5 trigrams) and PostgreSQL (GIN over character
grams) as a plain Python filter over the rows: keywords of 1, 2, 3+ characters, Latin, digits,
LIKE's wildcards, combined filters, and keyset paging."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core.mentions.models import Mention
from core.mentions.search import Filters, search
from core.mentions.search_index import matches
from core.sources.models import Source
from core.timeutil import ensure_utc, utcnow

PIECES = ["暖气不热", "小区停车难", "消防通道被堵", "A3区", "iPhone15", "IPHONE15 发热", "水管爆裂", "噪音扰民",
          "降价50%", "a_b", "路\\灯", '说"好"的', "Äbc", "äbc", "5G基站", "垃圾分类", "水", "停车", "难消"]
AUTHORS = ["居民", "Zhang", "ZHANG三", "网友水哥", ""]
SEPARATORS = ["", " ", "，", "\n", "\t"]
TOPICS = ["parking", "heating", "noise", "other"]
PLACES = ["站前小区", "永安小区", "站前街道"]


def _text(rng: random.Random, most: int) -> str:
    parts = rng.sample(PIECES, rng.randint(0, most))
    return "".join(p + rng.choice(SEPARATORS) for p in parts)


@pytest.fixture
def stored(session: Session) -> list[Mention]:
    rng = random.Random(14)
    sources = [Source(name=f"源{i}", url=f"http://127.0.0.1/{i}") for i in range(2)]
    session.add_all(sources)
    session.flush()
    start = utcnow().replace(microsecond=0)
    rows = []
    for i in range(160):
        at = start - timedelta(hours=rng.randint(0, 300))  # many share a time: the id breaks ties
        topics = rng.sample(TOPICS, rng.randint(0, 2))
        rows.append(Mention(
            channel=rng.choice(["weibo", "board", "news"]), external_id=f"m{i}",
            source_id=rng.choice([None, sources[0].id, sources[1].id]), title=_text(rng, 2),
            text=_text(rng, 4), author=rng.choice(AUTHORS), published_at=at, topics=topics,
            label_topic=rng.choice(["", "", "", "noise"]), sentiment=rng.choice(["negative", "neutral"]),
            places=rng.sample(PLACES, rng.randint(0, 2)), relevant=rng.random() < 0.5))
    session.add_all(rows)
    session.commit()
    # Edits and deletions reach the keyword index too (triggers on SQLite, an expression on PG).
    rows[0].text, rows[1].title = "新写的暖气不热", "改过的标题A3区"
    session.add_all(rows[:2])
    session.execute(sa.delete(Mention).where(Mention.id == rows[2].id))  # type: ignore[arg-type]
    session.commit()
    return rows[:2] + rows[3:]


def _expected(rows: list[Mention], f: Filters) -> list[int]:
    def keep(m: Mention) -> bool:
        assert m.seen_at is not None
        topic_ok = f.topic is None or (m.label_topic == f.topic if m.label_topic else f.topic in m.topics)
        return (all(matches(w, m.title, m.author, m.text) for w in f.q.split()[:5])
                and (f.channel is None or m.channel == f.channel)
                and (f.source_id is None or m.source_id == f.source_id) and topic_ok
                and (f.sentiment is None or m.sentiment == f.sentiment)
                and (f.place is None or f.place in m.places)
                and (f.relevant is None or m.relevant == f.relevant)
                and (f.since is None or ensure_utc(m.seen_at) >= f.since)
                and (f.until is None or ensure_utc(m.seen_at) < f.until))
    found = [m for m in rows if keep(m)]
    found.sort(key=lambda m: (ensure_utc(m.seen_at), m.id), reverse=True)  # type: ignore[arg-type]
    return [m.id for m in found]  # type: ignore[misc]


def _all_pages(session: Session, f: Filters, limit: int) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(200):
        page = search(session=session, filters=f, cursor=cursor, limit=limit)
        ids += [item.id for item in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
    raise AssertionError("paging did not end")


KEYWORDS = [
    "水", "热", "暖气", "停车", "停车难", "小区停车难", "消防通道", "a3区", "A3区", "iphone15", "IPhone", "5g",
    "50%", "0%", "%", "_", "a_b", "ab", "路\\灯", "\\", '"好"', '"', "äbc", "Äbc", "bc", "难消", "车难消",
    "热，", "区 停车", "热 暖气 通道", "zhang三", "水哥", "不存在的词", "新写的", "改过", "标题a3",
]


@pytest.mark.parametrize("q", KEYWORDS)
def test_keywords_find_what_python_finds(session: Session, stored: list[Mention], q: str) -> None:
    f = Filters(q=q)
    assert _all_pages(session, f, limit=500) == _expected(stored, f)


def test_combined_filters_and_paging_find_what_python_finds(session: Session, stored: list[Mention]) -> None:
    times = sorted(ensure_utc(m.seen_at) for m in stored if m.seen_at is not None)
    since, until = times[20], times[120]
    source_id = next(m.source_id for m in stored if m.source_id is not None)
    cases = [
        Filters(), Filters(q="停车", channel="weibo"), Filters(q="水", sentiment="negative", relevant=True),
        Filters(q="暖气", topic="noise"), Filters(topic="parking"), Filters(q="区", place="站前小区"),
        Filters(q="a3区 停车", since=since, until=until), Filters(source_id=source_id, q="iphone15"),
        Filters(since=since), Filters(until=until, channel="board", place="永安小区"),
    ]
    checked = 0
    for f in cases:
        expected = _expected(stored, f)
        for limit in (1, 3, 7, 500):
            assert _all_pages(session, f, limit=limit) == expected, (asdict(f), limit)
        checked += len(expected)
    assert checked > 200  # the filters select something to compare


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_walk_then_time_windows_answer_like_one_query(
        session: Session, stored: list[Mention], monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL reads the newest rows by LIKE, then asks the keyword index window by window: with
    walks of 5 to 30 rows and windows of hours (the 160 posts span 300 hours) every step and boundary is
    crossed, and every keyword, filter and page size still gives what Python finds."""
    from core.mentions import search as search_module

    monkeypatch.setattr(search_module, "WALK_ROWS", 5)
    monkeypatch.setattr(search_module, "MAX_WALK", 30)
    monkeypatch.setattr(search_module, "WINDOWS", (timedelta(hours=20), timedelta(hours=90), None))
    for q in KEYWORDS:
        f = Filters(q=q)
        for limit in (1, 4, 500):
            assert _all_pages(session, f, limit=limit) == _expected(stored, f), (q, limit)
    times = sorted(ensure_utc(m.seen_at) for m in stored if m.seen_at is not None)
    for f in (Filters(q="停车", channel="weibo"), Filters(q="暖气", topic="noise"), Filters(q="区", place="站前小区"),
              Filters(q="a3区 停车", since=times[20], until=times[120]), Filters(q="水", relevant=True)):
        for limit in (1, 3, 7):
            assert _all_pages(session, f, limit=limit) == _expected(stored, f), (asdict(f), limit)


def test_the_keyword_search_uses_the_index(session: Session, stored: list[Mention]) -> None:
    # Without it a million mentions are read for every rare keyword.
    dialect = session.get_bind().dialect.name
    from core.mentions.search_index import keyword_clause

    stmt: Any = sa.select(Mention.id).where(keyword_clause(["停车难"], dialect))  # type: ignore[call-overload]
    compiled = stmt.compile(session.get_bind())
    conn = session.connection()
    if dialect == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a table of 160 rows is read whole otherwise
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
        assert "ix_mention_search_grams" in plan, plan
    else:
        params = tuple(compiled.params[k] for k in compiled.positiontup or [])
        plan = "\n".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params))
        assert "mention_fts VIRTUAL TABLE INDEX" in plan, plan
    session.rollback()


def test_mentions_stored_before_the_index_are_found_after_the_upgrade(app_env: Any, database_url: str) -> None:
    from core import migrate
    from core.db import get_engine

    migrate.downgrade(database_url, "0009docs")
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO mention (channel, external_id, url, title, text, author, likes, reposts, comments, views, "
            "created_at, seen_at, raw, raw_sha256, contact, process_attempts, process_error, label_topic, "
            "analyzer_version, topics, topic_scores, sentiment, sentiment_score, places, relevant, risk, "
            "sensitive_terms, simhash) VALUES ('board', 'old-1', '', '老帖子', '三号楼暖气不热', 'Li', 0, 0, 0, 0, "
            ":t, :t, '', '', '', 0, '', '', '', '[]', '{}', '', 0, '[]', false, 0, '[]', '')"), {"t": utcnow()})
    migrate.upgrade(database_url)
    with Session(engine) as session:
        for q in ("暖气不热", "暖气", "暖", "li"):
            assert [m.title for m in search(session=session, filters=Filters(q=q)).items] == ["老帖子"], q
