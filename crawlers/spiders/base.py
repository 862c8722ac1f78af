"""Base for spiders that crawl monitoring sources (core Source rows) of one kind.

Subclasses (feed, weibo, wechat, forum, board, news) only build requests for a source and turn
responses into MentionItems; loading sources (and their credentials, kept off the requests),
the circuit breaker, base-URL overrides, translating download failures and login/captcha
walls into reasons, and recording source health once the crawl is over live here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from sqlmodel import col, select
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

import core.models  # noqa: F401  (every table, so foreign keys such as mention.event_id resolve)
from core.db import session_scope
from core.mentions.models import Mention
from core.mentions.service import url_fingerprint
from core.sources import health as source_health
from core.sources import service as source_service
from core.sources.models import Source
from core.timeutil import to_local
from crawlers.report import ERROR, PENDING, SKIPPED, CrawlReport, SourceReport
from crawlers.textutil import classify_block, complete_html, decode_html

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
        # Secrets stay here, by source id; CredentialsMiddleware adds them as requests leave.
        self._credentials: dict[int, dict[str, Any]] = {}

    def credentials_for(self, source_id: int) -> dict[str, Any]:
        return self._credentials.get(source_id, {})

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
            refs = []
            for row in rows:
                # The breaker holds back scheduled crawls; a source named explicitly is fetched.
                if self.source_names is None and source_health.circuit_open(row):
                    until = to_local(row.circuit_open_until).strftime("%m-%d %H:%M")  # type: ignore[arg-type]
                    rep = self.report.add(row.name, row.id)
                    rep.status = SKIPPED
                    rep.warnings.append(f"连续失败已熔断，{until} 前暂停抓取")
                    continue
                ref = SourceRef.from_source(row)
                if row.credentials:
                    self._credentials[ref.id] = dict(row.credentials)
                refs.append(ref)
        for ref in refs:
            self.report.add(ref.name, ref.id)
        return refs

    # ----- helpers for subclasses -----------------------------------------------------------
    @staticmethod
    def fetch_url(source: SourceRef, url: str, key: str = "base_url") -> str:
        """Where to fetch ``url``: on ``params[key]`` (a mirror, an RSSHub instance, a test
        server) when set, keeping path and query; the stored URL stays the original."""
        base = str(source.params.get(key) or "").strip()
        if not base:
            return url
        b, u = urlsplit(base), urlsplit(url)
        prefix = b.path.rstrip("/")
        path = u.path if not prefix or u.path.startswith(prefix + "/") else prefix + u.path
        return urlunsplit((b.scheme, b.netloc, path, u.query, ""))

    @staticmethod
    def int_param(source: SourceRef, key: str, default: int) -> int:
        try:
            return int(source.params.get(key, default))
        except (TypeError, ValueError):
            return default

    @staticmethod
    def decode(response: Response) -> str:
        """The body as text, whatever charset the server claims (see decode_html)."""
        charset = None
        content_type = response.headers.get("Content-Type")
        if content_type:
            ct = content_type.decode("latin-1")
            if "charset=" in ct.lower():
                charset = ct.lower().split("charset=")[-1].split(";")[0].strip(" \"'")
        text, _ = decode_html(response.body, charset)
        return text

    def detail_page(self, response: Response, source: SourceRef, label: str) -> str | None:
        """A detail page's text, or None (counted and explained) when its download was cut short."""
        page = self.decode(response)
        if complete_html(page):
            return page
        report = self.report_for(source)
        report.pages_failed += 1
        report.warnings.append(f"{label}：页面不完整（下载被截断），本次未保存")
        return None

    def detail_unreadable(self, response: Response, page: str, source: SourceRef, label: str,
                          error: Exception) -> None:
        """A detail page that did not parse: a login/captcha wall fails the source; anything
        else is one page lost, said as a warning, while the rest of the crawl goes on."""
        found = self.wall(response, page)
        report = self.report_for(source)
        if found:
            report.fail(found[1], health=found[0])
        else:
            report.pages_failed += 1
            report.warnings.append(f"{label}：{error}")

    def wall(self, response: Response, text: str = "") -> tuple[str, str] | None:
        """(health, reason) if the response is a login/captcha wall (also after redirects)."""
        urls = [*response.request.meta.get("redirect_urls", []), response.url] if response.request else [response.url]
        for url in reversed(urls):
            found = classify_block(url)
            if found:
                return found
        return classify_block(response.url, text)

    def already_stored(self, source: SourceRef, urls: Iterable[str]) -> set[str]:
        """Those of ``urls`` already stored (by canonical-URL fingerprint): not fetched again."""
        by_fp = {fp: u for u in urls if (fp := url_fingerprint(u))}
        if not by_fp:
            return set()
        with session_scope() as session:
            found = session.exec(select(Mention.url_fingerprint)
                                 .where(col(Mention.url_fingerprint).in_(list(by_fp)))).all()
        return {by_fp[fp] for fp in found if fp in by_fp}

    def on_page_error(self, failure: Failure) -> None:
        """Errback for secondary pages (articles, threads): a warning, unless the site refuses us."""
        request = getattr(failure, "request", None)
        source = request.cb_kwargs.get("source") if request is not None else None
        reason, status = describe_failure(failure, self.settings.getfloat("DOWNLOAD_TIMEOUT"))
        if not isinstance(source, SourceRef) or request is None:
            return
        rep = self.report_for(source)
        wall = _redirected_to_wall(request)
        if wall is not None:  # redirected to a login page that then failed to load
            rep.fail(wall[1], health=wall[0], http_status=status)
            return
        health = health_for_status(status)
        if health != "error":
            rep.fail(f"{reason}（{request.url.split('?')[0]}）", health=health, http_status=status)
            return
        rep.pages_failed += 1
        rep.warnings.append(f"页面抓取失败 {request.url}：{reason}")

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
        wall = _redirected_to_wall(request)
        if wall is not None:  # a login redirect whose target failed: still "login expired"
            self.report_for(source).fail(wall[1], http_status=status, health=wall[0])
            return
        self.report_for(source).fail(reason, http_status=status,
                                     health=health_for_status(status))

    # ----- health -------------------------------------------------------------------------
    def closed(self, reason: str) -> None:
        """Record each source's health once all its items went through the pipeline."""
        for rep in self.report:
            if rep.source_id is None or rep.status in (PENDING, SKIPPED):
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
        elif rep.pages_failed and not (rep.new or rep.duplicate):
            # The list answered but every page behind it failed: nothing was collected.
            source_service.record_failure(session=session, source=source, health="error",
                                          error=rep.warnings[-1] if rep.warnings else "页面全部抓取失败")
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


def _redirected_to_wall(request: Any) -> tuple[str, str] | None:
    """(health, reason) when a failed request had been redirected to a login/captcha page."""
    if request is None or not request.meta.get("redirect_urls"):
        return None
    return classify_block(request.url)


def health_for_status(status: int | None) -> str:
    """401/403/418/432 mean the site refuses us (login or anti-bot), not that it is down
    (432 is m.weibo.cn's anti-crawl answer)."""
    if status in (401, 403, 418, 429, 432):
        return "blocked"
    return "error"
