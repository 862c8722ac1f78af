"""StorePipeline in this process: a real Scrapy Crawler object and a real SQLite database
(no reactor is started, so these can run alongside the child-process crawl tests)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from crawl_helpers import add_source
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlmodel import Session, select

from core.mentions.models import Mention
from crawlers.items import MentionItem
from crawlers.pipelines import StorePipeline
from crawlers.report import SourceReport
from crawlers.spiders.feed import FeedSpider


def make_pipeline(hook: object) -> tuple[StorePipeline, Crawler]:
    crawler = get_crawler(FeedSpider, {"YUQING_ON_STORED": hook})
    crawler.spider = FeedSpider.from_crawler(crawler)
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline, crawler


def item(source_id: int, n: int, **fields: object) -> MentionItem:
    data: dict[str, object] = {
        "source_id": source_id, "channel": "board", "external_id": f"post-{n}",
        "url": f"https://wenzheng.xinfu.example/post/{n}", "title": f"站前街道留言 {n}",
        "text": "西一路12号院乱停车，消防通道被堵。", "author": "居民",
        "published_at": datetime(2024, 1, 20, 2, 0, tzinfo=UTC), "raw": "{}"}
    data.update(fields)
    return MentionItem(**data)


def report_of(crawler: Crawler, source_id: int) -> SourceReport:
    spider = crawler.spider
    assert isinstance(spider, FeedSpider)
    return spider.report.by_id(source_id) or spider.report.add("问政", source_id)


def test_it_stores_an_item_once_and_announces_it_after_commit(db: sa.Engine) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    seen: list[tuple[int, bool]] = []

    def hook(ids: Iterable[int]) -> None:
        # Looked up through another connection: the row must already be committed.
        with db.connect() as conn:
            for i in ids:
                row = conn.execute(sa.text("SELECT 1 FROM mention WHERE id = :i"), {"i": i})
                seen.append((i, row.first() is not None))

    pipeline, crawler = make_pipeline(hook)
    rep = report_of(crawler, source_id)

    pipeline.process_item(item(source_id, 1))
    pipeline.process_item(item(source_id, 1))  # the same post again
    # A share link of the same page (tracking parameter) is the same mention too.
    pipeline.process_item(item(source_id, 2, url="https://wenzheng.xinfu.example/post/1?from=timeline"))
    pipeline.close_spider()  # items are stored in batches: the rest when the spider closes

    with Session(db) as session:
        stored = list(session.exec(select(Mention)))
    assert [(m.external_id, m.title) for m in stored] == [("post-1", "站前街道留言 1")]
    assert seen == [(stored[0].id, True)]
    assert (rep.new, rep.duplicate, rep.rejected) == (1, 2, 0)
    assert crawler.stats is not None
    assert crawler.stats.get_value("yuqing/mentions/duplicate") == 2


def test_an_invalid_item_is_dropped_with_its_reason_logged(
        db: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")
    pipeline, crawler = make_pipeline("")
    rep = report_of(crawler, source_id)

    with caplog.at_level(logging.WARNING), pytest.raises(DropItem):
        pipeline.process_item(item(source_id, 3, title="x" * 501))
    with caplog.at_level(logging.WARNING), pytest.raises(DropItem):
        pipeline.process_item(item(source_id, 4, title="", text="  "))

    assert rep.rejected == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("post-3" in m and "title" in m and "500" in m for m in messages)
    assert any("post-4" in m and "标题和正文不能都为空" in m for m in messages)
    with Session(db) as session:
        assert list(session.exec(select(Mention))) == []


def test_without_a_usable_hook_the_mention_is_still_stored_for_the_outbox_sweep(
        db: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    source_id = add_source(db, "问政", "https://wenzheng.xinfu.example/atom.xml")

    with caplog.at_level(logging.ERROR):
        missing, _ = make_pipeline("no_such_module.enqueue")
    assert missing.on_stored is None
    assert any("no_such_module.enqueue" in r.getMessage() for r in caplog.records)
    missing.process_item(item(source_id, 5))
    missing.close_spider()

    def broken(ids: Iterable[int]) -> None:
        raise ConnectionError("redis down")

    failing, _ = make_pipeline(broken)
    failing.process_item(item(source_id, 6))
    failing.close_spider()

    with Session(db) as session:
        stored = {m.external_id: m.analyzed_at for m in session.exec(select(Mention))}
    assert stored == {"post-5": None, "post-6": None}  # both wait in the outbox
