"""WeiboSpider: keyword search and user timelines from m.weibo.cn, the weibo.com ajax API,
or an RSSHub instance.

params: mode = search | timeline | ajax | rss (default: search when keywords are set, else
timeline); keyword (else the source's keywords); search_type (1 综合, 61 实时; default 61, the
newest first); uid or containerid; base_url (default https://m.weibo.cn; https://weibo.com for
ajax; the RSSHub instance for rss); rss_path (default /weibo/user/<uid> or /weibo/keyword/<kw>);
max_pages (default 2); long_text (fetch the full text of truncated posts; default true);
comments (also store the comments of new posts that have any; default false), comments_api
(hotflow | show, default hotflow), max_comment_pages (default 2), comments_base_url (default
base_url, or https://m.weibo.cn for ajax), comments_recheck_hours (default 48: an already stored
post published within this window is asked for its comments again when its comment count
grew since the last crawl; 0 turns the re-check off).
Incremental: cursor.since_id is the newest id stored; older posts end the paging;
cursor.comment_counts remembers the comment count last seen per recent post.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from crawlers.feeds import FeedError, filter_entries, matches_keywords, parse_feed
from crawlers.items import MentionItem
from crawlers.report import OK
from crawlers.spiders.base import SourceRef, SourceSpider
from crawlers.textutil import load_json
from crawlers.weibo import (
    WeiboComment,
    WeiboError,
    WeiboPost,
    parse_comments,
    parse_long_text,
    parse_timeline,
)

logger = logging.getLogger(__name__)
M_WEIBO = "https://m.weibo.cn"
WEIBO_COM = "https://weibo.com"
MAX_COMMENT_COUNTS = 300  # recent posts whose comment count the cursor remembers


def _id_num(value: str) -> int:
    return int(value) if value.isdigit() else 0


class WeiboSpider(SourceSpider):
    name = "weibo"
    source_kind = "weibo"
    custom_settings = {"DOWNLOAD_SLOTS": {"m.weibo.cn": {"concurrency": 1, "delay": 3.0},
                                          "weibo.com": {"concurrency": 1, "delay": 3.0}}}

    def mode(self, source: SourceRef) -> str:
        mode = str(source.params.get("mode") or "")
        if mode:
            return mode
        if "/ajax/" in source.url:
            return "ajax"
        if source.params.get("keyword") or (source.keywords and not source.params.get("uid")):
            return "search"
        return "timeline"

    def list_url(self, source: SourceRef, page: int, keyword: str = "") -> str:
        mode = self.mode(source)
        params = source.params
        if mode == "ajax":
            base = str(params.get("base_url") or WEIBO_COM).rstrip("/")
            return f"{base}/ajax/statuses/mymblog?uid={quote(str(params.get('uid', '')))}&page={page}&feature=0"
        base = str(params.get("base_url") or M_WEIBO).rstrip("/")
        if mode == "search":
            containerid = f"100103type={params.get('search_type', 61)}&q={keyword}"
        else:
            containerid = str(params.get("containerid") or f"107603{params.get('uid', '')}")
        url = f"{base}/api/container/getIndex?containerid={quote(containerid, safe='')}"
        if mode == "search":
            url += "&page_type=searchall"
        return url + (f"&page={page}" if page > 1 else "")

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        mode = self.mode(source)
        headers = {"Accept": "application/json, text/plain, */*", "X-Requested-With": "XMLHttpRequest",
                   "MWeibo-Pwa": "1"}
        if mode == "rss":
            yield self.rss_request(source)
            return
        keywords = [str(source.params["keyword"])] if source.params.get("keyword") else list(source.keywords)
        for keyword in (keywords if mode == "search" else [""]):
            yield scrapy.Request(self.list_url(source, 1, keyword), headers=headers, callback=self.parse_list,
                                 errback=self.on_error, cb_kwargs={"source": source, "page": 1,
                                                                   "keyword": keyword},
                                 dont_filter=True)

    # ----- RSSHub -------------------------------------------------------------------------------
    def rss_request(self, source: SourceRef) -> scrapy.Request:
        params = source.params
        url = source.url
        if params.get("base_url") or params.get("rss_path"):
            path = str(params.get("rss_path") or (
                f"/weibo/user/{params.get('uid')}" if params.get("uid")
                else f"/weibo/keyword/{quote(str(params.get('keyword') or (source.keywords or [''])[0]))}"))
            url = str(params.get("base_url") or "").rstrip("/") + path
        return scrapy.Request(url, callback=self.parse_rss, errback=self.on_error,
                              cb_kwargs={"source": source}, dont_filter=True)

    def parse_rss(self, response: Response, source: SourceRef) -> Iterator[MentionItem]:
        report = self.report_for(source)
        report.http_status = response.status
        try:
            feed = parse_feed(response.body, url=response.url,
                              content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"))
        except FeedError as exc:
            found = self.wall(response, self.decode(response))
            report.fail(found[1] if found else str(exc), health=found[0] if found else "error")
            return
        report.status = OK
        report.fetched += len(feed.entries)
        kept = filter_entries(feed.entries, source.keywords)
        report.filtered += report.fetched - len(kept)
        for e in kept:
            yield MentionItem(source_id=source.id, channel=source.channel, external_id=e.external_id,
                              url=e.url, title=e.title, text=e.text, author=e.author,
                              published_at=e.published_at, raw=e.raw)

    # ----- container / ajax API -----------------------------------------------------------------
    def parse_list(self, response: Response, source: SourceRef, page: int,
                   keyword: str) -> Iterator[MentionItem | scrapy.Request]:
        report = self.report_for(source)
        report.http_status = response.status
        text = self.decode(response)
        try:
            data = load_json(response.body)
        except ValueError:
            found = self.wall(response, text)
            if found:
                report.fail(found[1], health=found[0])
            else:
                ctype = (response.headers.get("Content-Type") or b"").decode("latin-1")
                report.fail(f"返回的不是 JSON（{ctype}）")
            return
        now = datetime.now(UTC)
        try:
            _state, posts = parse_timeline(data, now)
        except WeiboError as exc:
            report.fail(str(exc), health=exc.health)
            return
        except Exception as exc:  # a parser bug fails this source only, with a reason
            logger.exception("监测源 %s 解析出错", source.name)
            report.fail(f"解析出错：{type(exc).__name__}: {exc}")
            return
        if report.status != "error":
            report.status = OK
        report.fetched += len(posts)
        since = _id_num(str(source.cursor.get("since_id") or "0"))
        newest = max([_id_num(p.id) for p in posts] + [_id_num(str(report.new_cursor.get("since_id") or "0"))])
        if newest > since:
            report.new_cursor["since_id"] = str(max(newest, since))
        fresh = [p for p in posts if not since or _id_num(p.id) > since]
        mode = self.mode(source)
        for post in fresh:
            if mode != "search" and not matches_keywords(source.keywords, post.text):
                report.filtered += 1
                continue
            if post.truncated and source.params.get("long_text", True):
                yield self.long_text_request(source, post)
            else:
                yield self.item(source, post, post.text)
            if source.params.get("comments") and post.comments > 0:
                yield self.comments_request(source, post, 1)
        if source.params.get("comments"):
            yield from self.recheck_comments(source, [p for p in posts if p not in fresh], fresh, now)
        max_pages = self.int_param(source, "max_pages", 2)
        if fresh and len(fresh) == len(posts) and page < max_pages:
            yield scrapy.Request(self.list_url(source, page + 1, keyword), headers=response.request.headers
                                 if response.request else None, callback=self.parse_list, errback=self.on_error,
                                 cb_kwargs={"source": source, "page": page + 1, "keyword": keyword},
                                 dont_filter=True)

    def recheck_comments(self, source: SourceRef, old: list[WeiboPost], fresh: list[WeiboPost],
                         now: datetime) -> Iterator[scrapy.Request]:
        """Comments added after the first crawl of a recent post: fetched again when its
        comment count grew (stored comments are not stored twice)."""
        hours = self.int_param(source, "comments_recheck_hours", 48)
        report = self.report_for(source)
        seen = {**dict(source.cursor.get("comment_counts") or {}),
                **dict(report.new_cursor.get("comment_counts") or {})}
        window = timedelta(hours=hours)
        for post in old:
            recent = post.published_at is not None and now - post.published_at <= window
            if hours > 0 and recent and post.comments > int(seen.get(post.id, 0)):
                yield self.comments_request(source, post, 1)
        for post in [*fresh, *old]:
            if post.published_at is not None and now - post.published_at <= window:
                seen[post.id] = post.comments
        report.new_cursor["comment_counts"] = dict(list(seen.items())[-MAX_COMMENT_COUNTS:])

    def long_text_request(self, source: SourceRef, post: WeiboPost) -> scrapy.Request:
        if self.mode(source) == "ajax":
            base = str(source.params.get("base_url") or WEIBO_COM).rstrip("/")
            url = f"{base}/ajax/statuses/longtext?id={post.bid or post.id}"
        else:
            base = str(source.params.get("base_url") or M_WEIBO).rstrip("/")
            url = f"{base}/statuses/extend?id={post.id}"
        return scrapy.Request(url, callback=self.parse_long, errback=self.long_failed,
                              cb_kwargs={"source": source, "post": post},
                              headers={"Accept": "application/json"})

    def parse_long(self, response: Response, source: SourceRef, post: WeiboPost) -> Iterator[MentionItem]:
        try:
            full = parse_long_text(load_json(response.body))
        except (ValueError, WeiboError) as exc:
            health = getattr(exc, "health", "error")
            if health != "error":
                self.report_for(source).fail(str(exc), health=health)
            else:
                self.report_for(source).warnings.append(f"微博 {post.id} 全文获取失败（{exc}），已保存截断正文")
            yield self.item(source, post, post.text)
            return
        # A repost keeps its quoted original after the full text.
        quoted = post.text.split("\n//转发 ", 1)
        text = full + (f"\n//转发 {quoted[1]}" if len(quoted) == 2 else "")
        yield self.item(source, post, text)

    def long_failed(self, failure: Any) -> Iterator[MentionItem]:
        request = failure.request
        source, post = request.cb_kwargs["source"], request.cb_kwargs["post"]
        self.on_page_error(failure)
        self.report_for(source).pages_failed -= 1  # the post itself is kept, truncated
        yield self.item(source, post, post.text)

    def item(self, source: SourceRef, post: WeiboPost, text: str) -> MentionItem:
        raw = json.loads(post.raw)
        if text != post.text:
            raw["yuqing_long_text"] = text
        return MentionItem(source_id=source.id, channel=source.channel,
                           external_id=post.id, url=post.url, title="", text=text, author=post.author,
                           published_at=post.published_at, likes=post.likes, reposts=post.reposts,
                           comments=post.comments, raw=json.dumps(raw, ensure_ascii=False))

    # ----- comments -----------------------------------------------------------------------------
    def comments_request(self, source: SourceRef, post: WeiboPost, page: int, max_id: str = "",
                         max_id_type: str = "0") -> scrapy.Request:
        params = source.params
        # comments live on m.weibo.cn whatever API listed the post
        default = M_WEIBO if self.mode(source) == "ajax" else str(params.get("base_url") or M_WEIBO)
        base = str(params.get("comments_base_url") or default).rstrip("/")
        if params.get("comments_api") == "show":
            url = f"{base}/api/comments/show?id={post.id}&page={page}"
        else:
            cursor = f"&max_id={max_id}" if max_id else ""
            url = f"{base}/comments/hotflow?id={post.id}&mid={post.id}{cursor}&max_id_type={max_id_type}"
        return scrapy.Request(url, callback=self.parse_comments, errback=self.on_page_error,
                              cb_kwargs={"source": source, "post": post, "page": page},
                              headers={"Accept": "application/json, text/plain, */*",
                                       "X-Requested-With": "XMLHttpRequest", "MWeibo-Pwa": "1"},
                              dont_filter=True)

    def parse_comments(self, response: Response, source: SourceRef, post: WeiboPost,
                       page: int) -> Iterator[MentionItem | scrapy.Request]:
        report = self.report_for(source)
        try:
            result = parse_comments(load_json(response.body), datetime.now(UTC))
        except WeiboError as exc:
            if exc.health != "error":  # a login wall / refusal: the source needs attention
                report.fail(f"评论：{exc}", health=exc.health)
            else:
                report.warnings.append(f"微博 {post.id} 的评论第 {page} 页无法读取：{exc}")
            return
        except ValueError:
            found = self.wall(response, self.decode(response))
            if found:
                report.fail(found[1], health=found[0])
            else:
                report.warnings.append(f"微博 {post.id} 的评论第 {page} 页不是 JSON")
            return
        report.fetched += len(result.comments)
        for comment in result.comments:
            if comment.text:  # a picture-only comment has nothing to analyse
                yield self.comment_item(source, post, comment)
        if not result.comments or page >= self.int_param(source, "max_comment_pages", 2):
            return
        if source.params.get("comments_api") == "show":
            if page < result.max_page:
                yield self.comments_request(source, post, page + 1)
        elif result.max_id not in ("", "0"):  # max_id 0 marks the last page
            yield self.comments_request(source, post, page + 1, result.max_id, result.max_id_type)

    def comment_item(self, source: SourceRef, post: WeiboPost, comment: WeiboComment) -> MentionItem:
        return MentionItem(source_id=source.id, channel=source.channel, external_id=f"comment:{comment.id}",
                           url=f"{post.url}#comment-{comment.id}", title="", text=comment.text,
                           author=comment.author, published_at=comment.published_at, likes=comment.likes,
                           comments=comment.replies, raw=comment.raw)
