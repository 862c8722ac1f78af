"""NewsSpider: news and government sites, by RSS/Atom or by a list page, read article by article.

source.url is a feed or an HTML list page (a 政务公开 column, a news channel). Each linked
article not stored yet is fetched (params.base_url redirects it to a mirror or test server)
and its main text extracted with trafilatura. params: link_pattern (regex for article links
on a list page; default: same-site links that look like dated article paths), max_articles
(default 30), fetch_articles (false: store feed entries as they are).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.articles import ArticleError, article_links, extract
from crawlers.feeds import FeedError, matches_keywords, parse_feed
from crawlers.items import MentionItem
from crawlers.report import OK
from crawlers.spiders.base import SourceRef, SourceSpider, describe_failure, health_for_status


@dataclass(frozen=True)
class Link:
    external_id: str
    url: str
    title: str = ""
    text: str = ""
    author: str = ""
    published_at: datetime | None = None


class NewsSpider(SourceSpider):
    name = "news"
    source_kind = "news"

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        yield scrapy.Request(source.url, callback=self.parse_list, errback=self.on_error,
                             cb_kwargs={"source": source}, dont_filter=True)

    def parse_list(self, response: Response, source: SourceRef) -> Iterator[MentionItem | scrapy.Request]:
        report = self.report_for(source)
        report.http_status = response.status
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        links: list[Link]
        try:
            feed = parse_feed(response.body, url=response.url, content_type=content_type)
            links = [Link(e.external_id, e.url, e.title, e.text, e.author, e.published_at) for e in feed.entries]
        except FeedError:
            page = self.decode(response)
            try:
                urls = article_links(page, response.url, source.params.get("link_pattern"),
                                     limit=self.int_param(source, "max_articles", 30))
            except ValueError:
                urls = []
            if not urls:
                found = self.wall(response, page)
                report.fail(found[1] if found else "既不是订阅源，也没有找到文章链接",
                            health=found[0] if found else "error")
                return
            links = [Link(u, u) for u in urls]
        report.status = OK
        report.fetched = len(links)
        if not source.params.get("fetch_articles", True):
            for link in links:
                if matches_keywords(source.keywords, link.title, link.text):
                    yield self.item(source, link, link.title, link.text, link.author, link.published_at, {})
                else:
                    report.filtered += 1
            return
        stored = self.already_stored(source, [link.url for link in links])
        report.duplicate += len(stored)
        todo = [link for link in links if link.url and link.url not in stored]
        for link in todo[: self.int_param(source, "max_articles", 30)]:
            yield scrapy.Request(self.fetch_url(source, link.url), callback=self.parse_article,
                                 errback=self.article_failed, cb_kwargs={"source": source, "link": link})

    def article_failed(self, failure: Failure) -> Iterator[MentionItem]:
        """An article that could not be downloaded: keep what the feed said about it."""
        request = failure.request  # type: ignore[attr-defined]
        source, link = request.cb_kwargs["source"], request.cb_kwargs["link"]
        reason, status = describe_failure(failure, self.settings.getfloat("DOWNLOAD_TIMEOUT"))
        if health_for_status(status) != "error" or not (link.text or link.title):
            self.on_page_error(failure)  # the site refuses us, or there is nothing to keep
            return
        report = self.report_for(source)
        if not matches_keywords(source.keywords, link.title, link.text):
            report.filtered += 1
            return
        report.warnings.append(f"{link.url}：文章下载失败（{reason}），已保存订阅源中的摘要")
        yield self.item(source, link, link.title, link.text, link.author, link.published_at,
                           {"partial": True, "partial_reason": reason})

    def parse_article(self, response: Response, source: SourceRef, link: Link) -> Iterator[MentionItem]:
        report = self.report_for(source)
        page = self.detail_page(response, source, link.url)
        if page is None:
            return
        try:
            article = extract(page, link.url)
        except ArticleError as exc:
            if exc.health != "error":
                report.fail(str(exc), health=exc.health)
                return
            if link.text or link.title:  # the feed's own text is better than nothing
                report.warnings.append(f"{link.url}：{exc}，已保存订阅源中的摘要")
                yield self.item(source, link, link.title, link.text, link.author, link.published_at, {})
            else:
                report.pages_failed += 1
                report.warnings.append(f"{link.url}：{exc}")
            return
        title = article.title or link.title
        if not matches_keywords(source.keywords, title, article.text):
            report.filtered += 1
            return
        yield self.item(source, link, title, article.text, article.author or link.author,
                        article.published_at or link.published_at, {"html": page})

    @staticmethod
    def item(source: SourceRef, link: Link, title: str, text: str, author: str,
             published_at: datetime | None, raw: dict[str, object]) -> MentionItem:
        return MentionItem(source_id=source.id, channel=source.channel, external_id=link.external_id[:300],
                           url=link.url, title=title.replace("\n", " ")[:500], text=text, author=author[:200],
                           published_at=published_at,
                           raw=json.dumps({"url": link.url, **raw}, ensure_ascii=False))
