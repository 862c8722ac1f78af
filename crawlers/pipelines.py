"""StorePipeline: every spider's items become Mentions, stored in batches (one transaction each)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.defer import Deferred

import core.models  # noqa: F401  (every table, so foreign keys such as mention.event_id resolve)
from core.db import session_scope
from core.errors import InvalidInput
from core.mentions import service as mention_service
from core.mentions.models import MentionCreate
from crawlers.items import MentionItem
from crawlers.report import CrawlReport, SourceReport

logger = logging.getLogger(__name__)

OnStored = Callable[[Iterable[int]], None]

DEFAULT_BATCH_SIZE = 100  # Scrapy hands over at most CONCURRENT_ITEMS (100) items of a response at once
DEFAULT_FLUSH_SECONDS = 0.5


class Stored:
    """What process_item hands Scrapy for a buffered item: awaited, it gives the item once its batch
    committed (or raises DropItem); `deferred` serves callers without an event loop."""

    def __init__(self) -> None:
        self.deferred: Deferred[Any] = Deferred()

    def __await__(self) -> Generator[Any, Any, Any]:
        # Scrapy >= 2.14 awaits what a pipeline returns (a bare Deferred is deprecated).
        return maybe_deferred_to_future(self.deferred).__await__()


@dataclass
class _Pending:
    item: MentionItem
    mention_in: MentionCreate
    report: SourceReport | None
    done: Deferred[Any]


class StorePipeline:
    """Validate, buffer, ingest a batch (idempotently, in one transaction), count per source,
    then announce the new ids after commit.

    An item is checked at once (an invalid one is dropped with its reason) and then waits in a
    buffer; the buffer is stored when it holds YUQING_STORE_BATCH_SIZE items, when its oldest
    item has waited YUQING_STORE_FLUSH_SECONDS, and when the spider closes (before the spider
    records source health and cursors). Nothing counts as stored (report, stats, hook, Scrapy's
    item_scraped) before its transaction committed, so a crash before a flush loses only items
    nobody was told about: the cursor is not advanced and the next crawl fetches them again.

    The database is the source of truth: ``on_stored`` (setting ``YUQING_ON_STORED``, default
    ``worker.dispatch.enqueue_mentions``) only speeds processing up. If it is missing or fails,
    the mention stays unanalyzed in the outbox and the worker's sweep enqueues it later.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.on_stored: OnStored | None = None
        settings = crawler.settings
        self.batch_size = max(1, settings.getint("YUQING_STORE_BATCH_SIZE", DEFAULT_BATCH_SIZE))
        self.flush_seconds = settings.getfloat("YUQING_STORE_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS)
        self._buffer: list[_Pending] = []
        self._timer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.on_stored = self._load_hook(self.crawler.settings.get("YUQING_ON_STORED"))

    def close_spider(self) -> None:
        """Store what is still buffered (Scrapy calls this before the spider's `closed`)."""
        self.flush()

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
        """Check the item now (DropItem with the reason); return what resolves once it is stored."""
        if not isinstance(item, MentionItem):
            return item
        report = self._report(item.get("source_id"))
        try:
            mention_in = mention_service.prepare(item.to_mention_create())
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            self._reject(item, report, f"字段不合法：{reason}")
        except InvalidInput as exc:
            self._reject(item, report, str(exc))
        stored = Stored()
        self._buffer.append(_Pending(item, mention_in, report, stored.deferred))
        if len(self._buffer) >= self.batch_size:
            self.flush()
        else:
            self._arm_timer()
        return stored

    # ----- batches ------------------------------------------------------------------------
    def flush(self) -> None:
        """Store the buffered items; each item's Deferred fires (or fails) after the commit."""
        self._disarm_timer()
        while self._buffer:
            batch, self._buffer = self._buffer[:self.batch_size], self._buffer[self.batch_size:]
            started = time.perf_counter()
            try:
                ids = self._store(batch)
            except Exception as exc:
                # One bad row (a source deleted meanwhile, text the driver cannot encode) or a lost
                # connection fails the whole statement: store each item on its own, so only the
                # items the database refuses are lost, each named and counted.
                logger.warning("批量入库失败（%s），逐条重试 %d 条", _describe(exc), len(batch))
                self._store_one_by_one(batch)
                continue
            self._settle(batch, ids)
            logger.debug("入库 %d 条，用时 %.3f 秒", len(batch), time.perf_counter() - started)

    @staticmethod
    def _store(batch: list[_Pending]) -> list[int | None]:
        with session_scope() as session:
            return mention_service.ingest_many(session=session,
                                               mentions_in=[p.mention_in for p in batch])

    def _store_one_by_one(self, batch: list[_Pending]) -> None:
        for pending in batch:
            try:
                ids = self._store([pending])
            except Exception as exc:
                self._failed(pending, exc)
                continue
            self._settle([pending], ids)

    def _settle(self, batch: list[_Pending], ids: list[int | None]) -> None:
        """After the commit: count, announce the new ids, then let Scrapy go on with the items."""
        new_ids: list[int] = []
        for pending, mention_id in zip(batch, ids, strict=True):
            if mention_id is not None:
                new_ids.append(mention_id)
                if pending.report is not None:
                    pending.report.new += 1
                self._stat("new")
            else:
                if pending.report is not None:
                    pending.report.duplicate += 1
                self._stat("duplicate")
        # The transaction has committed here, so a worker that picks an id up will find the row.
        self._announce(new_ids)
        for pending in batch:
            pending.done.callback(pending.item)

    def _failed(self, pending: _Pending, exc: Exception) -> None:
        # Not the item's fault as far as we know: count it so the source is not marked healthy
        # and its cursor is not advanced past items we never stored. The error names the
        # statement's problem only (the engine hides parameters): no text, contact or secret.
        item = pending.item
        logger.error("入库失败 source_id=%s external_id=%s：%s", item.get("source_id"),
                     item.get("external_id"), _describe(exc))
        if pending.report is not None:
            pending.report.store_failed += 1
        self._stat("store_failed")
        pending.done.errback(DropItem(f"入库失败：{type(exc).__name__}", log_level="DEBUG"))

    def _arm_timer(self) -> None:
        if self._timer is not None or self.flush_seconds <= 0:
            return
        reactor = sys.modules.get("twisted.internet.reactor")
        # No running reactor (the pipeline driven directly): flushed on size or at close only.
        if reactor is not None and getattr(reactor, "running", False):
            self._timer = reactor.callLater(self.flush_seconds, self._on_timer)

    def _disarm_timer(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    # ----- bookkeeping --------------------------------------------------------------------
    def _announce(self, ids: list[int]) -> None:
        if self.on_stored is None or not ids:
            return
        try:
            self.on_stored(ids)
        except Exception:  # the rows are stored; the outbox sweep will enqueue them
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


def _describe(exc: Exception) -> str:
    """The driver's message without SQL text or parameters (first line only)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"[:300]
