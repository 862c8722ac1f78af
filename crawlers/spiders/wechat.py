"""WechatSpider: official-account articles found through a feed, then read on the article page.

source.url is the account's feed on an RSSHub / wechat2rss / we-mp-rss / wechat-feeds service
(sources are created in bulk from those services' OPML, see core.sources.opml), or with
params.mode = history an account history page (``var msgList``). Each article not stored yet
is fetched (params.base_url redirects mp.weixin.qq.com to a mirror or test server) and parsed
for title, account, publish time (var ct) and body (#js_content). params.fetch_articles =
false stores the feed entries as they are (services that put the full text in the feed);
params.max_articles caps the pages per crawl (default 30).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.feeds import FeedError, matches_keywords, parse_feed
from crawlers.items import MentionItem
from crawlers.report import OK
from crawlers.spiders.base import SourceRef, SourceSpider
from crawlers.wechat import WechatError, parse_article, parse_history

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listed:
    """What the feed said about an article, kept in case the page adds nothing."""

    external_id: str
    url: str
    title: str
    text: str
    author: str
    published_at: datetime | None


class WechatSpider(SourceSpider):
    name = "wechat"
    source_kind = "wechat"
    custom_settings = {"DOWNLOAD_SLOTS": {"mp.weixin.qq.com": {"concurrency": 1, "delay": 5.0}}}

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        yield scrapy.Request(source.url, callback=self.parse_list, errback=self.on_error,
                             cb_kwargs={"source": source}, dont_filter=True)

    def parse_list(self, response: Response, source: SourceRef) -> Iterator[MentionItem | scrapy.Request]:
        report = self.report_for(source)
        report.http_status = response.status
        listed: list[Listed] = []
        try:
            if source.params.get("mode") == "history":
                listed = [Listed(external_id=e.url, url=e.url, title=e.title, text=e.digest, author=e.author,
                                 published_at=e.published_at) for e in parse_history(self.decode(response))]
            else:
                feed = parse_feed(response.body, url=response.url,
                                  content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"))
                listed = [Listed(external_id=e.external_id, url=e.url, title=e.title, text=e.text,
                                 author=e.author or feed.title, published_at=e.published_at)
                          for e in feed.entries if e.url or e.text]
                report.warnings.extend(feed.warnings)
        except (FeedError, WechatError) as exc:
            found = self.wall(response, self.decode(response))
            report.fail(found[1] if found else str(exc), health=found[0] if found else "error")
            return
        report.status = OK
        report.fetched = len(listed)
        if not source.params.get("fetch_articles", True):
            for entry in listed:
                if matches_keywords(source.keywords, entry.title, entry.text):
                    yield self.item(source, entry, entry.title, entry.text, entry.author, entry.published_at,
                                    raw={"feed": entry.__dict__})
                else:
                    report.filtered += 1
            return
        stored = self.already_stored(source, [e.url for e in listed])
        report.duplicate += len(stored)
        todo = [e for e in listed if e.url and e.url not in stored][: self.int_param(source, "max_articles", 30)]
        for entry in todo:
            yield scrapy.Request(self.fetch_url(source, entry.url), callback=self.parse_article,
                                 errback=self.on_page_error, cb_kwargs={"source": source, "entry": entry},
                                 meta={"yuqing_version": entry.external_id})

    def parse_article(self, response: Response, source: SourceRef, entry: Listed) -> Iterator[MentionItem]:
        report = self.report_for(source)
        page = self.detail_page(response, source, entry.title or entry.url)
        if page is None:
            return
        try:
            article = parse_article(page)
        except WechatError as exc:
            self.detail_unreadable(response, page, source, entry.title or entry.url, exc)
            return
        if not matches_keywords(source.keywords, article.title, article.text):
            report.filtered += 1
            return
        raw = {"url": entry.url, "account": article.account, "author": article.author, "biz": article.biz,
               "mid": article.mid, "idx": article.idx, "feed_title": entry.title,
               "js_content": article.body_html}
        yield self.item(source, entry, article.title or entry.title, article.text,
                        article.account or entry.author, article.published_at or entry.published_at, raw=raw)

    @staticmethod
    def item(source: SourceRef, entry: Listed, title: str, text: str, author: str,
             published_at: datetime | None, raw: dict[str, Any]) -> MentionItem:
        return MentionItem(source_id=source.id, channel=source.channel, external_id=entry.external_id[:300],
                           url=entry.url, title=title[:500], text=text, author=author[:200],
                           published_at=published_at, raw=json.dumps(raw, ensure_ascii=False, default=str))
