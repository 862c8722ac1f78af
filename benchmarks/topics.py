"""专题 on the loaded demo (`yuqing run --no-serve` first): define topics after the fact, time the
re-tagging of the stored history, check the count against a plain search, and write an example 专报.

    YUQING_VAR_DIR=<the demo's var dir> .venv/bin/python -m benchmarks.topics docs/examples

Prints, per topic: mentions scanned, tagged, the time to tag the history, the time to build the
专报; the last line is the record (total mentions, tagging rate).

    .venv/bin/python -m benchmarks.topics --synthetic 100000

instead fills a fresh SQLite database in a temporary directory with that many generated mentions
(real demo sentences, some in traditional characters or full-width, spread over a year) and times
defining a topic over all of them: the history pass a duty officer waits for when saving. With
YUQING_BENCH_DATABASE_URL set (an empty PostgreSQL database) it runs there instead.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from cli.demo import demo_year
from core.access import OFFICE
from core.db import session_scope
from core.mentions.models import Mention
from core.topics import report, views
from core.topics import service as topics
from core.topics.models import Track, TrackIn
from core.topics.rules import Rules

OPINION = ("本专题舆情总体可控，诉求集中在供热温度与维修响应。建议供热企业公布报修电话与处理时限，"
           "社区对反映问题的住户逐户回访，并在街道公众号发布供暖保障情况说明。")


def _defined(year: int) -> list[TrackIn]:
    return [
        TrackIn(name=f"{year}-{year + 1}供暖季", description="供暖不热、停暖、收费等诉求",
                any_words=["供暖", "暖气", "供热", "采暖"], none_words=["招聘"],
                starts_on=date(year, 10, 15), ends_on=date(year + 1, 4, 15)),
        TrackIn(name="站前片区征收动迁", description="征收补偿、安置、拆迁进度",
                any_words=["动迁", "拆迁", "征收", "棚改", "安置"], starts_on=date(year, 1, 1)),
    ]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    year = demo_year()
    total_scanned, total_seconds = 0, 0.0
    with session_scope() as session:
        stored = session.exec(select(sa.func.count()).select_from(Mention)).one()
        for track_in in _defined(year):
            old = session.exec(select(Track).where(Track.name == track_in.name)).first()
            if old is not None and old.id is not None:
                topics.delete(session=session, track_id=old.id, actor_id=None)
                session.flush()
            start = time.perf_counter()
            track = topics.create(session=session, track_in=track_in, actor_id=None)
            tag_seconds = time.perf_counter() - start
            assert track.id is not None
            tagged = topics.count(session=session, track_id=track.id, scope=OFFICE)
            # the same rules done as a plain search over every stored row
            rules = Rules.of(track)
            plain = sum(1 for m in session.exec(select(Mention))
                        if rules.matches(title=m.title, text=m.text, places=m.places, seen_at=m.seen_at))
            assert plain == tagged, (plain, tagged)
            start = time.perf_counter()
            data = views.overview(session=session, track=track, scope=OFFICE)
            heating = "供暖" in track.name
            opinion = OPINION if heating else ""  # the other one shows the blank form to fill in
            content = report.track_docx(session=session, overview=data, scope=OFFICE, opinion=opinion)
            report_seconds = time.perf_counter() - start
            name = f"yuqing-track-{track_in.starts_on:%Y%m%d}-{'heating' if heating else 'relocation'}.docx"
            (out / name).write_bytes(content)
            scanned = topics.retag(session=session, track=track).scanned  # again, for the rate
            total_scanned += scanned
            total_seconds += tag_seconds
            print(f"{track.name}\tscanned {scanned}\ttagged {tagged} (plain search {plain})\t"
                  f"tag history {tag_seconds * 1000:.0f} ms\t专报 {report_seconds * 1000:.0f} ms\t{name}")
    rate = total_scanned / total_seconds if total_seconds else 0.0
    print(f"stored {stored} mentions; history tagged at {rate:,.0f} mentions/s (SQLite, one pass, batches of "
          f"{topics.BATCH})")


SENTENCES = ("站前街道友谊小区暖气不热，室内只有十六度", "南站片区動遷補償標準什麼時候公布",
             "粮栈社区门口乱停车堵住消防通道",
             "浑河南岸小区供暖费涨价无人解释", "站前棚户区拆迁安置房交房延期", "裕民小区楼道堆物无人清理",
             "和平社区ＷｉＦｉ信号差", "站前街道招聘供暖巡查员", "民主小区夜间施工噪声扰民", "铁路住宅暖氣管漏水")


def synthetic(n: int) -> None:
    """Time a topic defined over `n` generated mentions in a fresh SQLite database."""
    import os
    import random
    import tempfile
    from datetime import datetime, timedelta

    from core import migrate
    from core.config import get_settings
    from core.db import reset_engine
    from core.timeutil import utcnow

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("YUQING_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        os.environ["YUQING_DATABASE_URL"], os.environ["YUQING_VAR_DIR"] = url, tmp
        get_settings.cache_clear()
        reset_engine()
        migrate.upgrade(url)
        rng = random.Random(1)
        start = datetime(2025, 1, 1, tzinfo=utcnow().tzinfo)
        now = utcnow()
        with session_scope() as session:
            for first in range(0, n, 5000):
                rows = []
                for i in range(first, min(n, first + 5000)):
                    seen = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
                    text = "，".join(rng.sample(SENTENCES, 2)) + f"。网友{i}反映"
                    rows.append({"channel": "weibo", "external_id": f"s{i}", "url": "", "title": "", "text": text,
                                 "author": "", "published_at": seen, "seen_at": seen, "created_at": now,
                                 "raw": "", "raw_sha256": "", "contact": "", "process_attempts": 0,
                                 "process_error": "", "label_topic": "", "analyzer_version": "", "topics": [],
                                 "topic_scores": {}, "sentiment": "negative", "sentiment_score": 0.0,
                                 "places": ["站前街道"] if i % 3 else [], "relevant": True, "risk": 0.0,
                                 "sensitive_terms": [], "simhash": "", "likes": 0, "reposts": 0, "comments": 0,
                                 "views": 0})
                session.execute(sa.insert(Mention), rows)
        with session_scope() as session:
            begin = time.perf_counter()
            track = topics.create(session=session, actor_id=None, track_in=TrackIn(
                name="供暖", any_words=["供暖", "暖气"], none_words=["招聘"], places=["站前街道"],
                starts_on=date(2025, 1, 1)))
            seconds = time.perf_counter() - begin
            assert track.id is not None
            tagged = topics.count(session=session, track_id=track.id, scope=OFFICE)
        print(f"synthetic: {n} mentions over 2025, topic defined after the fact: tagged {tagged} in "
              f"{seconds:.2f} s = {n / seconds:,.0f} mentions/s ({url.split(':')[0]}, batches of {topics.BATCH})")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--synthetic":
        synthetic(int(sys.argv[2]))
    else:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples"))
