"""Mention search: keyset paging stays as fast deep down as on page 1 (and OFFSET does not).

Usage: python benchmarks/mention_search.py [N] [database URL]   (default 50,000 on a temp SQLite file)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    os.environ["YUQING_DATABASE_URL"] = url
    from core import migrate
    from core.db import get_engine
    from core.mentions.models import Mention
    from core.mentions.search import Filters, encode_cursor, search
    from core.timeutil import utcnow

    migrate.upgrade(url)
    engine = get_engine()
    start = utcnow()
    rows = [{"channel": ("weibo", "wechat", "board", "news")[i % 4], "external_id": f"b-{i}",
             "title": f"站前街道第{i}条信息", "text": "小区停车难，消防通道被堵" if i % 7 else "暖气不热",
             "author": "居民", "url": "", "published_at": start - timedelta(minutes=i),
             "seen_at": start - timedelta(minutes=i), "created_at": start, "likes": i % 50, "reposts": 0,
             "comments": 0, "views": 0, "topics": ["parking"], "topic_scores": {}, "places": ["站前街道"],
             "sensitive_terms": [], "raw": "", "raw_sha256": "", "contact": "", "process_attempts": 0,
             "process_error": "", "label_topic": "", "analyzer_version": "", "sentiment": "negative",
             "sentiment_score": 0.0, "relevant": True, "risk": 0.1, "simhash": ""} for i in range(n)]
    with Session(engine) as session:
        for k in range(0, n, 5000):
            session.execute(sa.insert(Mention), rows[k:k + 5000])
        session.commit()

        def timed(label: str, fn: object) -> None:
            best = min(_time(fn) for _ in range(5))
            print(f"{label:<44} {best * 1000:8.2f} ms")

        deep = n - 100
        seen_at, mention_id = session.exec(select(Mention.seen_at, Mention.id).order_by(
            col(Mention.seen_at).desc(), col(Mention.id).desc()).offset(deep).limit(1)).one()
        assert seen_at is not None and mention_id is not None
        cursor = encode_cursor(seen_at, mention_id)
        print(f"{n} mentions on {engine.dialect.name}, 50 per page")
        timed("page 1 (keyset)", lambda: search(session=session, filters=Filters(), limit=50))
        timed(f"page at row {deep} (keyset cursor)",
              lambda: search(session=session, filters=Filters(), cursor=cursor, limit=50))
        timed(f"page at row {deep} (OFFSET, for comparison)", lambda: session.exec(
            select(Mention).order_by(col(Mention.seen_at).desc(), col(Mention.id).desc())
            .offset(deep).limit(50)).all())
        timed("keyword 暖气 + channel weibo, page 1",
              lambda: search(session=session, filters=Filters(q="暖气", channel="weibo"), limit=50))


def _time(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
