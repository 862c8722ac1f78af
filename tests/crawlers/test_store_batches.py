"""StorePipeline batches: one transaction per batch, with every guarantee of one item at a time.

Driven in this process with a real Scrapy Crawler and a real database (SQLite and PostgreSQL);
no reactor runs, so batches are stored on size and at close (the timer is covered by the crawls
in child processes, test_feed_crawl).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from crawl_helpers import add_source
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlmodel import Session, select
from twisted.python.failure import Failure

from core.mentions.models import Mention
from crawlers.items import MentionItem
from crawlers.pipelines import Stored, StorePipeline
from crawlers.report import SourceReport
from crawlers.spiders.feed import FeedSpider


class Recorder:
    """The on_stored hook: the ids it was given, each checked as committed through another connection."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self.calls: list[list[int]] = []
        self.uncommitted: list[int] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> Recorder:
        return self  # Scrapy freezes a deep copy of its settings: keep this one recorder

    def __call__(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        self.calls.append(ids)
        with self.db.connect() as conn:
            for i in ids:
                if conn.execute(sa.text("SELECT 1 FROM mention WHERE id = :i"), {"i": i}).first() is None:
                    self.uncommitted.append(i)


def make_pipeline(hook: object, batch_size: int) -> tuple[StorePipeline, Crawler]:
    crawler = get_crawler(FeedSpider, {"YUQING_ON_STORED": hook, "YUQING_STORE_BATCH_SIZE": batch_size})
    crawler.spider = FeedSpider.from_crawler(crawler)
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline, crawler


def report_of(crawler: Crawler, source_id: int, name: str = "问政") -> SourceReport:
    spider = crawler.spider
    assert isinstance(spider, FeedSpider)
    return spider.report.by_id(source_id) or spider.report.add(name, source_id)


def item(source_id: int, n: int, **fields: object) -> MentionItem:
    data: dict[str, object] = {
        "source_id": source_id, "channel": "board", "external_id": f"post-{n}",
        "url": f"https://wenzheng.xinfu.example/post/{n}", "title": f"站前街道留言 {n}",
        "text": "西一路12号院乱停车，消防通道被堵。", "author": "居民",
        "published_at": datetime(2024, 1, 20, 2, 0, tzinfo=UTC), "raw": "{}"}
    data.update(fields)
    return MentionItem(**data)


class Outcome:
    """What a process_item result delivered: the item (stored or duplicate) or a DropItem."""

    def __init__(self, result: Any) -> None:
        self.value: Any = None
        self.fired = False
        assert isinstance(result, Stored), "a MentionItem must wait for its batch"
        result.deferred.addCallbacks(self._ok, self._failed)

    def _ok(self, value: Any) -> None:
        self.fired, self.value = True, value

    def _failed(self, failure: Failure) -> None:
        self.fired, self.value = True, failure.value


def stored(db: sa.Engine) -> list[tuple[int, str]]:
    with Session(db) as session:
        return [(m.id or 0, m.external_id) for m in session.exec(select(Mention).order_by(Mention.id))]


def test_duplicates_inside_a_batch_and_across_batches_are_stored_once(db: sa.Engine) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    hook = Recorder(db)
    pipeline, crawler = make_pipeline(hook, batch_size=3)
    rep = report_of(crawler, source_id)

    first = [Outcome(pipeline.process_item(i)) for i in (
        item(source_id, 1), item(source_id, 1),  # the same post twice in one batch
        # A share link of post 1 (tracking parameter) under another id: the same page.
        item(source_id, 2, url="https://wenzheng.xinfu.example/post/1?from=timeline"))]
    # The batch was full: stored, counted and announced, and only then handed back to Scrapy.
    assert [o.fired for o in first] == [True, True, True]
    assert [external for _, external in stored(db)] == ["post-1"]
    assert (rep.new, rep.duplicate) == (1, 2)

    later = [Outcome(pipeline.process_item(i)) for i in (item(source_id, 3), item(source_id, 4))]
    assert not any(o.fired for o in later)  # waiting for the batch to fill, or for the close
    assert (rep.new, rep.duplicate) == (1, 2)
    pipeline.close_spider()
    assert all(o.fired and isinstance(o.value, MentionItem) for o in later)
    assert [external for _, external in stored(db)] == ["post-1", "post-3", "post-4"]

    # The next crawl sees posts 1 and 3 again (one by its share link) and a new post 5.
    again, crawler2 = make_pipeline(hook, batch_size=3)
    rep2 = report_of(crawler2, source_id)
    for i in (item(source_id, 1), item(source_id, 9, url="https://wenzheng.xinfu.example/post/3#rd"),
              item(source_id, 5)):
        Outcome(again.process_item(i))
    again.close_spider()

    rows = stored(db)
    assert [external for _, external in rows] == ["post-1", "post-3", "post-4", "post-5"]
    assert (rep2.new, rep2.duplicate) == (1, 2)
    ids = {external: i for i, external in rows}
    assert hook.calls == [[ids["post-1"]], [ids["post-3"], ids["post-4"]], [ids["post-5"]]]
    assert hook.uncommitted == []
    assert crawler.stats is not None and crawler.stats.get_value("yuqing/mentions/duplicate") == 2
    assert crawler.stats.get_value("yuqing/mentions/new") == 3


def test_a_bad_item_fails_alone_and_the_rest_of_its_batch_is_stored(
        db: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    gone_id = add_source(db, "已删除的源", "https://gone.example/atom.xml")
    with db.begin() as conn:  # an administrator deletes a source while its crawl runs
        conn.execute(sa.text("DELETE FROM source WHERE id = :i"), {"i": gone_id})
    hook = Recorder(db)
    pipeline, crawler = make_pipeline(hook, batch_size=4)
    rep = report_of(crawler, source_id)
    secret = "居民手机13800138000"

    with caplog.at_level(logging.DEBUG):
        outcomes = [Outcome(pipeline.process_item(i)) for i in (
            item(source_id, 1),
            # A broken API answer: a count no database integer holds (the database refuses the row).
            item(source_id, 2, text=f"{secret} 楼道堵塞", likes=2**63),
            item(gone_id, 3),
            item(source_id, 4))]

    assert [external for _, external in stored(db)] == ["post-1", "post-4"]
    assert [type(o.value).__name__ for o in outcomes] == ["MentionItem", "DropItem", "DropItem", "MentionItem"]
    assert (rep.new, rep.duplicate, rep.store_failed) == (2, 0, 1)  # the deleted source has no report
    assert crawler.stats is not None and crawler.stats.get_value("yuqing/mentions/store_failed") == 2
    ids = [i for i, _ in stored(db)]
    assert hook.calls == [[ids[0]], [ids[1]]] and hook.uncommitted == []
    failures = [r.getMessage() for r in caplog.records if "入库失败" in r.getMessage()
                and "批量" not in r.getMessage()]
    assert len(failures) == 2
    assert any("external_id=post-2" in m for m in failures)
    assert any("external_id=post-3" in m for m in failures)
    assert not any(secret in r.getMessage() or secret in (r.exc_text or "") for r in caplog.records)


def test_an_item_the_database_refuses_keeps_the_source_cursor_and_health(db: sa.Engine) -> None:
    from crawlers.report import OK
    from crawlers.spiders.base import record_health

    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    pipeline, crawler = make_pipeline("", batch_size=10)
    rep = report_of(crawler, source_id)
    rep.status, rep.new_cursor = OK, {"etag": '"v2"'}
    Outcome(pipeline.process_item(item(source_id, 1)))
    Outcome(pipeline.process_item(item(source_id, 2, text="楼道堵塞", views=2**63)))
    pipeline.close_spider()  # what Scrapy does before the spider's `closed` records health
    record_health(rep)

    with Session(db) as session:
        from core.sources.models import Source

        source = session.get(Source, source_id)
        assert source is not None
        assert source.health == "error" and "入库失败 1 条" in source.last_error
        assert source.cursor == {}  # the next crawl fetches the feed again in full
    assert [external for _, external in stored(db)] == ["post-1"]


def test_a_crash_before_the_flush_loses_nothing_that_was_reported_stored(db: sa.Engine) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    hook = Recorder(db)
    pipeline, crawler = make_pipeline(hook, batch_size=3)
    rep = report_of(crawler, source_id)
    outcomes = [Outcome(pipeline.process_item(item(source_id, n))) for n in range(1, 6)]
    # The process dies here: posts 4 and 5 were buffered, never stored, never reported.
    reported = sum(len(c) for c in hook.calls)
    assert (rep.new, reported, [o.fired for o in outcomes]) == (3, 3, [True] * 3 + [False] * 2)
    assert [external for _, external in stored(db)] == ["post-1", "post-2", "post-3"]
    del pipeline

    # The next crawl (the cursor was not advanced: `closed` never ran) stores the rest.
    again, crawler2 = make_pipeline(hook, batch_size=3)
    rep2 = report_of(crawler2, source_id)
    for n in range(1, 6):
        Outcome(again.process_item(item(source_id, n)))
    again.close_spider()
    assert [external for _, external in stored(db)] == [f"post-{n}" for n in range(1, 6)]
    assert (rep2.new, rep2.duplicate) == (2, 3)
    assert sorted(i for call in hook.calls for i in call) == [i for i, _ in stored(db)]


def test_an_invalid_item_is_dropped_at_once_and_does_not_enter_a_batch(db: sa.Engine) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    pipeline, crawler = make_pipeline("", batch_size=2)
    rep = report_of(crawler, source_id)
    with pytest.raises(DropItem, match="标题和正文不能都为空"):
        pipeline.process_item(item(source_id, 1, title="\x00", text=" \x00 "))
    Outcome(pipeline.process_item(item(source_id, 2, text="正文\x00里的空字符")))
    assert stored(db) == []  # one valid item buffered: the invalid one did not count toward the batch
    pipeline.close_spider()
    with Session(db) as session:
        assert [m.text for m in session.exec(select(Mention))] == ["正文里的空字符"]
    assert (rep.new, rep.rejected) == (1, 1)


def test_an_item_with_half_an_emoji_is_stored_not_rejected_at_every_crawl(db: sa.Engine) -> None:
    source_id = add_source(db, "微博", "https://weibo.xinfu.example/atom.xml")
    pipeline, crawler = make_pipeline("", batch_size=2)
    rep = report_of(crawler, source_id)
    Outcome(pipeline.process_item(item(source_id, 1, title="暖气不热\ud83d", text="正文\ud83d\ude00")))
    pipeline.close_spider()
    with Session(db) as session:
        assert [(m.title, m.text) for m in session.exec(select(Mention))] == [("暖气不热\ufffd", "正文😀")]
    assert (rep.new, rep.rejected) == (1, 0)
