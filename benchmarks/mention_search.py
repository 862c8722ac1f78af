"""Mention search at scale: p50/p95 of first page, deep page, topic, keywords and time range.

Usage: python benchmarks/mention_search.py [N] [database URL] [--runs R]
    default 50,000 mentions on a temporary SQLite file, R = 60 timed runs per case.
    On PostgreSQL give an empty database (or one this script filled before with N rows: it is reused).

Texts are real 留言板 messages and 微博 posts from ../shared/realdata (cycled, each copy with its own
number), seen over one year, on 4 channels, 10 topics (one rare), 3 sentiments, 6 places.
On PostgreSQL the rows are loaded by COPY with the keyword index dropped, then the index is built
as migration 0010search builds it on an existing database (its time is printed).
Last line: `worst p95 X ms at N mentions (dialect)`.

Measured 2026-11-29 on the shared 2-core machine (load 8–15 from parallel work), 1,000,000 on PostgreSQL 15:
COPY 115 s, keyword index build 2,933 s; table 790 MB, keyword index 885 MB; storing a mention +1.2 ms.
p95: first/deep page 14/12 ms, topic 12 ms (rare topic 92), place 24, a week 19, common 2-character word
125, 1 character 49, rare word 37, middling word (0.3–1.2% of posts) 472, Latin/digits 859, two words 426.
The middling words lost because the planner cannot tell them from rare ones: it fetched every match
from the GIN bitmap and sorted. Since then search walks the newest rows by LIKE first and asks the
index one time window at a time (core/mentions/search.py, _keyword_page_ids). At 200,000 on the same
machine (load 6–7, same run conditions, 30 runs): worst p95 618 ms → 158 ms; Latin/digits 415 → 87,
keyword + topic + deep page 618 → 118, two words 247 → 133, common word 119 → 64, 1 character 96 → 57;
rare word 23 → 102 and middling 89 → 158 (the walk and the windows cost a few statements).
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "datasets"
TOPICS = ["parking", "heating", "noise", "environment", "property", "demolition", "traffic", "safety",
          "other", "petition"]
TOPIC_WEIGHTS = [20, 12, 12, 12, 10, 8, 10, 8, 7.8, 0.2]  # petition: 1 in 500
PLACES = ["站前小区", "永安小区", "站前街道", "和平路", "幸福里", "东风小区"]
CHANNELS = ["weibo", "board", "news", "wechat"]


def corpus() -> list[tuple[str, str, str]]:
    """(title, author, text) of real posts."""
    out: list[tuple[str, str, str]] = []
    board = REALDATA / "taidi2020_C_zhihui_zhengwu" / "fujian3_full4326_hotspot_unlabeled.clean.csv"
    with board.open(encoding="utf-8-sig") as fh:
        out += [(r["留言主题"], r["留言用户"], r["留言详情"].strip()) for r in csv.DictReader(fh)]
    weibo = REALDATA / "fuzhou_12345_liuyan_weibo_timeofmei" / "weibo_search_fuzhou_env_keywords_3707.csv"
    with weibo.open(encoding="utf-8-sig") as fh:
        out += [("", r["用户昵称"], r["微博正文"].strip()) for r in csv.DictReader(fh)]
    senti = REALDATA / "weibo_senti_100k_subset" / "weibo_senti_100k_2400rows.csv"
    with senti.open(encoding="utf-8-sig") as fh:
        out += [("", "网友", r["review"].strip()) for r in csv.DictReader(fh)]
    return out


def rows(n: int, start: Any) -> Any:
    rng = random.Random(14)
    texts = corpus()
    span = timedelta(days=365) / n
    for i in range(n):
        title, author, text = texts[i % len(texts)]
        at = start - span * i
        yield {"channel": CHANNELS[i % 4], "external_id": f"bench-{i}", "title": f"{title}（{i}）" if title else "",
               "text": text, "author": author, "url": "", "published_at": at, "seen_at": at, "created_at": at,
               "likes": i % 50, "reposts": 0, "comments": 0, "views": 0,
               "topics": [rng.choices(TOPICS, TOPIC_WEIGHTS)[0]], "topic_scores": {},
               "places": rng.sample(PLACES, rng.randint(0, 1)), "sensitive_terms": [], "raw": "",
               "raw_sha256": "", "contact": "", "process_attempts": 0, "process_error": "", "label_topic": "",
               "analyzer_version": "", "sentiment": rng.choice(["negative", "neutral", "positive"]),
               "sentiment_score": 0.0, "relevant": rng.random() < 0.7, "risk": 0.1, "simhash": ""}


def load(engine: sa.Engine, n: int) -> None:
    from core.mentions.models import Mention
    from core.mentions.search_index import GRAMS_INDEX, POSTGRES_UP
    from core.timeutil import utcnow

    start = utcnow()
    t0 = time.perf_counter()
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in rows(n, start):
                batch.append(row)
                if len(batch) == 5000:
                    conn.execute(sa.insert(Mention), batch)
                    batch = []
            if batch:
                conn.execute(sa.insert(Mention), batch)
        print(f"loaded {n} rows (FTS5 kept by triggers) in {time.perf_counter() - t0:.1f} s")
        return
    columns = list(next(rows(1, start)))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {GRAMS_INDEX}")
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY mention ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows(n, start):
                copy.write_row([json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()])
    print(f"COPY {n} rows in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
        conn.exec_driver_sql(next(sql for sql in POSTGRES_UP if f"INDEX {GRAMS_INDEX} " in sql))
    print(f"keyword index built in {time.perf_counter() - t0:.1f} s (what migration 0010search costs here)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE mention")


def write_cost(engine: sa.Engine, k: int = 2000) -> None:
    """What the keyword index adds to storing a mention (PostgreSQL): k real rows into two copies of
    the table with all its indexes, one without the keyword index (rolled back)."""
    from core.mentions.models import Mention
    from core.timeutil import utcnow

    batch = list(rows(k, utcnow()))
    columns = [c for c in sa.inspect(Mention).columns if c.name != "id"]
    timings = {}
    for target in ("with_index", "without_index"):
        with engine.connect() as conn:
            trans = conn.begin()
            conn.exec_driver_sql(f"CREATE TEMP TABLE {target} (LIKE mention INCLUDING ALL)")
            if target == "without_index":
                for (name,) in conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = "
                                                    "'without_index' AND indexdef LIKE '%%mention_search_grams%%'"):
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
            table = sa.Table(target, sa.MetaData(), *(sa.Column(c.name, c.type) for c in columns))
            t0 = time.perf_counter()
            conn.execute(table.insert(), batch)
            timings[target] = (time.perf_counter() - t0) * 1000 / k
            trans.rollback()
    extra = timings["with_index"] - timings["without_index"]
    print(f"storing a mention: {timings['with_index']:.3f} ms with the keyword index, "
          f"{timings['without_index']:.3f} ms without (+{extra:.3f} ms)")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 60
    if "--runs" in sys.argv:
        args.remove(str(runs))
    n = int(args[0]) if args else 50_000
    url = args[1] if len(args) > 1 else f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    os.environ["YUQING_DATABASE_URL"] = url
    from sqlmodel import Session, col, select

    from core import migrate
    from core.db import get_engine
    from core.mentions.models import Mention
    from core.mentions.search import Filters, encode_cursor, search
    from core.mentions.search_index import keyword_clause

    migrate.upgrade(url)
    engine = get_engine()
    dialect = engine.dialect.name
    with engine.connect() as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM mention WHERE external_id LIKE 'bench-%'")).scalar_one()
    if have != n:
        if have:
            sys.exit(f"the database holds {have} benchmark rows, not {n}: give an empty one")
        load(engine, n)
    else:
        print(f"reusing the {n} rows already loaded")

    results: list[tuple[str, float, float]] = []
    with Session(engine) as session:
        newest = session.exec(select(Mention.seen_at).order_by(col(Mention.seen_at).desc()).limit(1)).one()
        assert newest is not None
        cursors = []
        for frac in (0.3, 0.5, 0.7, 0.9):  # deep pages: cursors far down the list
            seen_at, mention_id = session.exec(select(Mention.seen_at, Mention.id).order_by(
                col(Mention.seen_at).desc(), col(Mention.id).desc()).offset(int(n * frac)).limit(1)).one()
            assert seen_at is not None and mention_id is not None
            cursors.append(encode_cursor(seen_at, mention_id))
        weeks = [(newest - timedelta(days=7 * k + 7), newest - timedelta(days=7 * k)) for k in (3, 10, 25, 40)]

        def case(label: str, variants: list[Callable[[], Any]]) -> None:
            for fn in variants:  # warm up
                fn()
            times = []
            for i in range(runs):
                t0 = time.perf_counter()
                variants[i % len(variants)]()
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p50, p95 = statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]
            results.append((label, p50, p95))
            print(f"{label:<52} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms", flush=True)

        def q(**kw: Any) -> Callable[[], Any]:
            cursor = kw.pop("cursor", None)
            return lambda: search(session=session, filters=Filters(**kw), cursor=cursor, limit=50)

        common = ["小区", "问题", "政府", "业主", "环境"]  # 2-character words in many posts
        middling = ["噪音扰民", "垃圾焚烧", "学位", "油烟"]  # 0.3–1.2% of the posts
        rare = ["（4000）", "（777777）", "不存在的词语"]  # one post (a numbered title) or none
        single = ["车", "水", "楼"]
        latin = ["A市", "a7县", "12345"]
        print(f"{n} mentions on {dialect}, 50 per page, {runs} runs per case (p50/p95)")
        case("first page", [q()])
        case("deep page (cursor 30–90% down)", [q(cursor=c) for c in cursors])
        case("deep page by topic parking", [q(topic="parking", cursor=c) for c in cursors])
        case("by topic (common: parking, heating, noise)", [q(topic=t) for t in ("parking", "heating", "noise")])
        case("by topic (rare: petition, 0.2%)", [q(topic="petition")])
        case("by channel + sentiment", [q(channel=c, sentiment="negative") for c in CHANNELS])
        case("by place", [q(place=p) for p in PLACES])
        case("by time range (a week)", [q(since=a, until=b) for a, b in weeks])
        case("keyword, common 2-character word", [q(q=w) for w in common])
        case("keyword, middling word (0.3–1.2%)", [q(q=w) for w in middling])
        case("keyword, rare or absent", [q(q=w) for w in rare])
        case("keyword, 1 character", [q(q=w) for w in single])
        case("keyword, Latin and digits", [q(q=w) for w in latin])
        case("keyword, two words", [q(q="小区 停车"), q(q="噪音 夜间"), q(q="环境 污染")])
        case("keyword + time range (a week)",
             [q(q=w, since=a, until=b) for w, (a, b) in zip(common[:4], weeks, strict=True)])
        case("keyword + topic + deep cursor", [q(q="小区", topic="parking", cursor=c) for c in cursors])

        for label, word in (("rare keyword", "垃圾焚烧"), ("common keyword", "小区")):
            stmt: Any = (select(Mention.id).where(keyword_clause([word], dialect))
                         .order_by(col(Mention.seen_at).desc(), col(Mention.id).desc()).limit(51))
            compiled = stmt.compile(engine)
            conn = session.connection()
            if dialect == "postgresql":
                plan = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}",
                                                           compiled.params)]
            else:
                params = tuple(compiled.params[k] for k in compiled.positiontup or [])
                plan = [str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)]
            print(f"\nplan, {label} {word}:")
            print("\n".join("  " + line for line in plan))
        session.rollback()

    if dialect == "postgresql":
        with engine.connect() as conn:
            sizes = conn.execute(sa.text(
                "SELECT pg_size_pretty(pg_table_size('mention')), pg_size_pretty(pg_relation_size("
                "'ix_mention_search_grams'))")).one()
        print(f"\nmention table {sizes[0]}, keyword index {sizes[1]}")
    if dialect == "postgresql":
        write_cost(engine)
    worst = max(results, key=lambda r: r[2])
    print(f"worst p95 {worst[2]:.1f} ms ({worst[0]}) at {n} mentions ({dialect})")


if __name__ == "__main__":
    main()
