"""FeedSpider: RSS/Atom feeds the office subscribed to (news sites, WeChat-account bridges ...)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.feeds import FeedError, filter_entries, parse_feed
from crawlers.items import MentionItem
from crawlers.report import NOT_MODIFIED, OK
from crawlers.spiders.base import SourceRef, SourceSpider

logger = logging.getLogger(__name__)

_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
           "text/xml;q=0.8, */*;q=0.5")


class FeedSpider(SourceSpider):
    name = "feed"
    source_kind = "feed"

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        headers = {"Accept": _ACCEPT}
        # Conditional GET: an unchanged feed costs the site (and us) a bodiless 304.
        if etag := source.cursor.get("etag"):
            headers["If-None-Match"] = str(etag)
        if modified := source.cursor.get("last_modified"):
            headers["If-Modified-Since"] = str(modified)
        yield scrapy.Request(
            source.url, headers=headers, callback=self.parse_feed, errback=self.on_error,
            cb_kwargs={"source": source},
            meta={"handle_httpstatus_list": [304]},
            dont_filter=True,  # two sources may share a URL (e.g. different keywords)
        )

    def parse_feed(self, response: Response, source: SourceRef) -> Iterator[MentionItem]:
        report = self.report_for(source)
        report.http_status = response.status
        if response.status == 304:
            report.status = NOT_MODIFIED
            logger.info("监测源 %s 未更新（304）", source.name)
            return
        content_type = _header(response, "Content-Type")
        try:
            feed = parse_feed(response.body, url=response.url, content_type=content_type,
                              default_author=str(source.params.get("author") or ""))
        except FeedError as exc:
            logger.warning("监测源 %s: %s", source.name, exc)
            report.fail(str(exc))
            return
        except Exception as exc:  # a parser bug must fail this source only, with a reason
            logger.exception("监测源 %s 解析出错", source.name)
            report.fail(f"解析出错：{type(exc).__name__}: {exc}")
            return
        report.status = OK
        report.warnings.extend(feed.warnings)
        report.fetched = len(feed.entries)
        report.new_cursor = {k: v for k, v in (("etag", _header(response, "ETag")),
                                               ("last_modified", _header(response, "Last-Modified")))
                             if v}
        kept = filter_entries(feed.entries, source.keywords)
        report.filtered = report.fetched - len(kept)
        logger.info("监测源 %s: %s 编码 %s，%d 条，关键词保留 %d 条", source.name, feed.version,
                    feed.encoding, report.fetched, len(kept))
        for entry in kept:
            yield MentionItem(
                source_id=source.id,
                channel=source.channel,
                external_id=entry.external_id,
                url=entry.url,
                title=entry.title,
                text=entry.text,
                author=entry.author,
                published_at=entry.published_at,
                raw=entry.raw,
            )


def _header(response: Response, name: str) -> str:
    value: Any = response.headers.get(name)
    if not value:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)
