"""Base for spiders that crawl monitoring sources (core Source rows) of one kind.

Subclasses (feed now; weibo, wechat, forum, board later) only build requests for a source
and turn responses into MentionItems; loading sources, translating download failures into
reasons and recording source health once the crawl is over live here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

import core.models  # noqa: F401  (every table, so foreign keys such as mention.event_id resolve)
from core.db import session_scope
from core.sources import service as source_service
from core.sources.models import Source
from crawlers.report import ERROR, PENDING, CrawlReport, SourceReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRef:
    """What a spider needs of a Source, detached from any database session."""

    id: int
    name: str
    kind: str
    channel: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: Source) -> SourceRef:
        assert source.id is not None
        return cls(id=source.id, name=source.name, kind=source.kind, channel=source.channel,
                   url=source.url, params=dict(source.params or {}),
                   keywords=list(source.keywords or []), cursor=dict(source.cursor or {}))


class SourceSpider(scrapy.Spider):
    """Crawls the enabled sources of ``source_kind``, or those named by ``-a sources=a,b``."""

    source_kind: ClassVar[str] = ""

    def __init__(self, name: str | None = None, sources: str | Iterable[str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        # Named sources are crawled even when disabled: that is an admin's explicit "fetch now".
        # From `scrapy crawl -a sources=a,b` this is a string; run_crawl passes a list.
        names = sources.split(",") if isinstance(sources, str) else sources
        self.source_names = [n.strip() for n in names if n.strip()] if names is not None else None
        self.report = CrawlReport()

    # ----- to implement -------------------------------------------------------------------
    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        raise NotImplementedError

    # ----- sources ------------------------------------------------------------------------
    def load_sources(self) -> list[SourceRef]:
        """Read the sources to crawl; unknown or foreign-kind names are reported, not crawled."""
        with session_scope() as session:
            if self.source_names is None:
                rows = source_service.get_all(session=session, enabled_only=True,
                                              kind=self.source_kind)
            else:
                rows = []
                for name in self.source_names:
                    row = source_service.get_by_name(session=session, name=name)
                    if row is None:
                        self.report.add(name, None).fail("未找到该监测源")
                    elif row.kind != self.source_kind:
                        self.report.add(name, None).fail(
                            f"监测源类型为 {row.kind}，不由 {self.name} 爬虫抓取")
                    else:
                        rows.append(row)
            refs = [SourceRef.from_source(row) for row in rows]
        for ref in refs:
            self.report.add(ref.name, ref.id)
        return refs

    def report_for(self, source: SourceRef) -> SourceReport:
        return self.report.by_id(source.id) or self.report.add(source.name, source.id)

    async def start(self) -> AsyncIterator[Any]:
        for source in self.load_sources():
            logger.info("抓取监测源 %s: %s", source.name, source.url)
            for request in self.requests_for(source):
                yield request

    # ----- failures -----------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        """Errback: a download failed (after retries) or the HTTP status was an error."""
        request = getattr(failure, "request", None)
        source = request.cb_kwargs.get("source") if request is not None else None
        reason, status = describe_failure(failure, self.settings.getfloat("DOWNLOAD_TIMEOUT"))
        if not isinstance(source, SourceRef):
            logger.error("请求失败（无对应监测源）: %s", reason)
            return
        logger.warning("监测源 %s 抓取失败: %s", source.name, reason)
        self.report_for(source).fail(reason, http_status=status,
                                     health=health_for_status(status))

    # ----- health -------------------------------------------------------------------------
    def closed(self, reason: str) -> None:
        """Record each source's health once all its items went through the pipeline."""
        for rep in self.report:
            if rep.source_id is None or rep.status == PENDING:
                continue
            try:
                record_health(rep)
            except Exception:  # one broken row must not keep the others unrecorded
                logger.exception("记录监测源 %s 的健康状态失败", rep.name)
        logger.info("爬虫结束（%s）: %s", reason, self.report.to_dict())


def record_health(rep: SourceReport) -> None:
    """Write one source's outcome: success with the count of NEW items, or the failure reason."""
    with session_scope() as session:
        assert rep.source_id is not None
        source = source_service.get(session=session, source_id=rep.source_id)
        if source is None:
            return
        if rep.store_failed:
            # Keep the old cursor: a conditional GET must not hide items we failed to store.
            source_service.record_failure(
                session=session, source=source, health="error",
                error=f"入库失败 {rep.store_failed} 条（数据库错误，见日志）")
        elif rep.status == ERROR:
            source_service.record_failure(session=session, source=source, health=rep.health,
                                          error="；".join(rep.errors))
        else:
            source_service.record_success(session=session, source=source, new_items=rep.new)
            if rep.new_cursor:
                # A new dict, so SQLAlchemy sees the JSON column change.
                source.cursor = {**(source.cursor or {}), **rep.new_cursor}
                session.add(source)


def describe_failure(failure: Failure, timeout: float) -> tuple[str, int | None]:
    """A reason a duty officer can act on, and the HTTP status if there was one."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}", exc.response.status
    # Scrapy >= 2.13 wraps Twisted's errors in its own; both are matched.
    if isinstance(exc, (DownloadTimeoutError, TimeoutError, TCPTimedOutError)):
        return f"超时：{timeout:g} 秒内无响应", None
    if isinstance(exc, (CannotResolveHostError, DNSLookupError)):
        return "域名解析失败", None
    if isinstance(exc, (DownloadConnectionRefusedError, ConnectionRefusedError)):
        return "连接被拒绝", None
    if isinstance(exc, ResponseDataLossError):
        return "响应不完整（连接中断）", None
    return f"下载失败：{type(exc).__name__}: {exc}", None


def health_for_status(status: int | None) -> str:
    """401/403/418 mean the site refuses us (login or anti-bot), not that it is down."""
    if status in (401, 403, 418):
        return "blocked"
    return "error"
