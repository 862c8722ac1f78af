"""The worker alone: N real texts stored, then processed in batches by a real `yuqing worker` on Redis
and a PostgreSQL database of its own (created and dropped here); `jieba.lcut` on the same texts in
the same run. No crawl: this isolates the processing (benchmarks/pipeline.py measures the whole path).

    python benchmarks/process_batches.py [--n 2000] [--concurrency 2] [--batch 50] [--history 0]

--history N first stores N analyzed, clustered mentions spread over the past year (COPY).
The LAST line is `ratio X cost Y ms`: worker mentions/s ÷ jieba texts/s, and ms per mention.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSV = Path("/work/shared/realdata/datasets/fuzhou_12345_liuyan_weibo_timeofmei/"
           "weibo_search_fuzhou_env_keywords_3707.csv")


def texts() -> list[str]:
    out = []
    with CSV.open(encoding="utf-8") as fh:
        out += [r["微博正文"] for r in csv.DictReader(fh) if r.get("微博正文")]
    return out


def preload(url: str, n: int, texts_: list[str]) -> None:
    """n stored, analyzed, clustered mentions over the past year (COPY), ~2.7 per event."""
    import psycopg

    from core.analysis import analyze
    from core.events.service import simhash_bands

    rnd = random.Random(7)
    sample = [analyze(t) for t in texts_[:400]]
    now = datetime.now(UTC)
    n_events = max(1, int(n / 2.7))
    pg = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(pg) as conn, conn.cursor() as cur:
        t0 = time.monotonic()
        with cur.copy("COPY event (id, title, topic, status, created_at, updated_at, first_seen_at, last_seen_at, "
                      "mention_count, engagement, heat, negative_count, relevant, max_risk, grade_score, "
                      "grade_reason, topics, places, sensitive_terms, channels, story_bigrams, media_involved) "
                      "FROM STDIN") as copy:
            for e in range(1, n_events + 1):
                at = now - timedelta(days=365 * e / n_events + 4)
                a = sample[e % len(sample)]
                copy.write_row((e, "t", a.topics[0], "open", at, at, at, at, 3, 10, 0, 1, True, 0.2, 0, "",
                                "[]", "[]", "[]", "[]", "[]", False))
        with cur.copy("COPY mention (channel, external_id, url, title, text, author, published_at, likes, "
                      "reposts, comments, views, source_id, created_at, seen_at, raw, raw_sha256, contact, "
                      "analyzed_at, process_attempts, process_error, label_topic, analyzer_version, topics, "
                      "topic_scores, sentiment, sentiment_score, places, relevant, risk, sensitive_terms, simhash, "
                      "simhash_b0, simhash_b1, simhash_b2, simhash_b3, event_id) FROM STDIN") as copy:
            for i in range(n):
                e = 1 + i * n_events // n
                at = now - timedelta(days=365 * e / n_events + 4)
                a = sample[i % len(sample)]
                h = a.simhash ^ rnd.getrandbits(64) if i % 3 else a.simhash  # some exact copies, many not
                b = simhash_bands(h)
                copy.write_row(("weibo", f"hist-{i}", "", "", texts_[i % len(texts_)][:200], "", at, 1, 1, 1, 0,
                                None, at, at, "", "", "", at, 1, "", "", "x", json.dumps([a.topics[0]]), "{}",
                                a.sentiment, 0.0, "[]", True, 0.2, "[]", f"{h:016x}", b[0], b[1], b[2], b[3], e))
        cur.execute("SELECT setval('event_id_seq', %s)", (n_events + 1,))
        conn.commit()
        cur.execute("ANALYZE")
        print(f"preloaded {n} mentions / {n_events} events in {time.monotonic() - t0:.0f}s", flush=True)


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the worker's main process and pool children)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = [pid], [pid]
    while frontier:
        frontier = [p for p, pp in parents.items() if pp in frontier]
        out += frontier
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--history", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()

    import sqlalchemy as sa

    from tests.realstack import Process, redis_server

    name = f"pipebench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    all_texts = texts()
    random.Random(3).shuffle(all_texts)
    sample = all_texts[: args.n] if args.n <= len(all_texts) else (all_texts * (args.n // len(all_texts) + 1))[: args.n]
    try:
        with redis_server(tmp) as redis:
            os.environ.update(YUQING_DATABASE_URL=url, YUQING_REDIS_URL=redis.url, YUQING_VAR_DIR=str(tmp / "var"),
                              YUQING_SECRET_KEY="bench-secret-key-of-sufficient-length-0123456789",
                              YUQING_PROCESS_BATCH_SIZE=str(args.batch))
            from core import migrate
            from core.config import get_settings

            get_settings.cache_clear()
            migrate.upgrade(url)
            if args.history:
                preload(url, args.history, all_texts)
            from sqlmodel import Session, col, func, select

            from core.db import get_engine
            from core.mentions import service as mentions
            from core.mentions.models import Mention, MentionCreate
            from worker.app import app, configure

            configure(app)
            t0 = time.monotonic()
            ids: list[int] = []
            with Session(get_engine()) as s:
                for n, text in enumerate(sample):
                    m = mentions.ingest(session=s, mention_in=MentionCreate(
                        channel="weibo", external_id=f"b{n}", text=f"{text}" if n < len(all_texts) else f"{text} #{n}",
                        likes=n % 5, reposts=n % 3, comments=n % 7)).mention
                    ids.append(int(m.id or 0))
                s.commit()
            print(f"stored {len(ids)} in {time.monotonic() - t0:.1f}s", flush=True)
            worker = Process([sys.executable, "-m", "cli.main", "worker", f"--concurrency={args.concurrency}",
                              "--hostname", f"bench-{os.getpid()}@%h"], tmp / "worker.log")
            time.sleep(8)  # worker up (jieba loaded lazily per child)
            from worker.dispatch import enqueue_mentions

            # warm the children (first batch loads jieba and the model): small warm-up set
            t0 = time.monotonic()
            enqueue_mentions(ids[:4])
            enqueue_mentions(ids[4:8])

            def left(ids_: list[int]) -> int:
                with Session(get_engine()) as s:
                    return int(s.exec(select(func.count()).select_from(Mention).where(
                        col(Mention.id).in_(ids_), col(Mention.analyzed_at).is_(None))).one())

            while left(ids[:8]):
                time.sleep(0.2)
            time.sleep(3)
            rest = ids[8:]
            t0 = time.monotonic()
            enqueue_mentions(rest)
            while left(rest):
                time.sleep(0.2)
            took = time.monotonic() - t0
            rate = len(rest) / took
            rss = [_rss_kb(pid) for pid in _tree(worker.proc.pid)]
            worker.stop()
            import jieba

            jieba.initialize()
            rounds = []
            for _ in range(3):  # best of three: one pass takes a second or two, and others share the CPUs
                t1 = time.monotonic()
                for t in sample:
                    jieba.lcut(t)
                rounds.append(len(sample) / (time.monotonic() - t1))
            jrate = max(rounds)
            with Session(get_engine()) as s:
                events = s.exec(select(func.count(func.distinct(Mention.event_id))).where(
                    col(Mention.id).in_(ids))).one()
            print(f"worker {rate:.1f} mentions/s ({len(rest)} in {took:.1f}s, {events} events, batches of "
                  f"{args.batch}, concurrency {args.concurrency}, history {args.history}); jieba {jrate:.0f} texts/s;"
                  f" worker RSS {max(rss, default=0) // 1024} MB per process")
            print(f"ratio {rate / jrate:.3f} cost {1000 / rate:.2f} ms")
    finally:
        if not args.keep:
            from core.db import reset_engine
            reset_engine()
            with admin.connect() as c:
                c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
