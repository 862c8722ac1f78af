"""StorePipeline: every spider's items become Mentions, one short transaction each."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.misc import load_object
from sqlalchemy.exc import SQLAlchemyError

import core.models  # noqa: F401  (every table, so foreign keys such as mention.event_id resolve)
from core.db import session_scope
from core.errors import InvalidInput
from core.mentions import service as mention_service
from crawlers.items import MentionItem
from crawlers.report import CrawlReport, SourceReport

logger = logging.getLogger(__name__)

OnStored = Callable[[Iterable[int]], None]


class StorePipeline:
    """Validate, ingest (idempotently), count per source, then announce new ids after commit.

    The database is the source of truth: ``on_stored`` (setting ``YUQING_ON_STORED``, default
    ``worker.dispatch.enqueue_mentions``) only speeds processing up. If it is missing or fails,
    the mention stays unanalyzed in the outbox and the worker's sweep enqueues it later.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.on_stored: OnStored | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.on_stored = self._load_hook(self.crawler.settings.get("YUQING_ON_STORED"))

    @staticmethod
    def _load_hook(target: Any) -> OnStored | None:
        if not target:
            return None
        if callable(target):
            return target
        try:
            hook = load_object(target)
        except (ImportError, NameError, AttributeError, ValueError) as exc:
            # Imported lazily: the worker package may be absent where only crawling runs.
            logger.error("on_stored 钩子 %s 不可用（%s）：新信息留在待处理队列，由定时补偿任务处理",
                         target, exc)
            return None
        return hook

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, MentionItem):
            return item
        report = self._report(item.get("source_id"))
        try:
            mention_in = item.to_mention_create()
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            self._reject(item, report, f"字段不合法：{reason}")
        try:
            with session_scope() as session:
                result = mention_service.ingest(session=session, mention_in=mention_in)
                mention_id = result.mention.id
        except InvalidInput as exc:
            self._reject(item, report, str(exc))
        except SQLAlchemyError as exc:
            # Not the item's fault: count it so the source is not marked healthy and its
            # cursor is not advanced past items we never stored.
            logger.exception("入库失败 source_id=%s external_id=%s", item.get("source_id"),
                             item.get("external_id"))
            if report is not None:
                report.store_failed += 1
            self._stat("store_failed")
            raise DropItem(f"入库失败：{type(exc).__name__}", log_level="DEBUG") from exc
        # The transaction has committed here, so a worker that picks the id up will find the row.
        if result.created and mention_id is not None:
            if report is not None:
                report.new += 1
            self._stat("new")
            self._announce([mention_id])
        else:
            if report is not None:
                report.duplicate += 1
            self._stat("duplicate")
        return item

    def _announce(self, ids: list[int]) -> None:
        if self.on_stored is None:
            return
        try:
            self.on_stored(ids)
        except Exception:  # the row is stored; the outbox sweep will enqueue it
            logger.exception("on_stored 钩子出错，信息 %s 留待补偿任务处理", ids)

    def _reject(self, item: MentionItem, report: SourceReport | None, reason: str) -> NoReturn:
        logger.warning("丢弃无效信息 source_id=%s external_id=%r url=%r：%s",
                       item.get("source_id"), item.get("external_id"), item.get("url"), reason)
        if report is not None:
            report.rejected += 1
            report.warnings.append(f"丢弃 {item.get('external_id') or item.get('url')}：{reason}")
        self._stat("rejected")
        # Already logged above with the reason; Scrapy's own line would repeat the whole item.
        raise DropItem(reason, log_level="DEBUG")

    def _report(self, source_id: Any) -> SourceReport | None:
        report = getattr(self.crawler.spider, "report", None)
        if isinstance(report, CrawlReport) and isinstance(source_id, int):
            return report.by_id(source_id)
        return None

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"yuqing/mentions/{key}")
