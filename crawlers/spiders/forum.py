"""ForumSpider: Discuz! X boards (list + thread pages, or the mobile API) and Baidu Tieba.

source.url is a board's thread list (forum.php?mod=forumdisplay&fid=.., forum-<fid>-1.html,
tieba.baidu.com/f?kw=..) or a Discuz mobile API forumdisplay URL. params: platform = discuz |
discuz_mobile | tieba (guessed from the URL); base_url fetches thread pages from a mirror or
test server; max_threads (default 20); include_sticky (default false: sticky threads are
board notices); replies (store each reply as its own mention; default true).
Incremental: cursor.threads maps tid -> reply count; a thread is fetched again only when new
or when its reply count changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.feeds import matches_keywords
from crawlers.forums import (
    ForumError,
    ForumThread,
    ThreadRef,
    discuz_site_url,
    parse_discuz_list,
    parse_discuz_mobile,
    parse_discuz_thread,
    parse_tieba_list,
    parse_tieba_thread,
)
from crawlers.items import MentionItem
from crawlers.report import OK, SourceReport
from crawlers.spiders.base import SourceRef, SourceSpider, describe_failure, health_for_status
from crawlers.textutil import complete_html, load_json

logger = logging.getLogger(__name__)
MAX_CURSOR_THREADS = 500


def platform_of(source: SourceRef) -> str:
    platform = str(source.params.get("platform") or "")
    if platform:
        return platform
    if "tieba.baidu.com" in source.url:
        return "tieba"
    if "api/mobile" in source.url:
        return "discuz_mobile"
    return "discuz"


class ForumSpider(SourceSpider):
    name = "forum"
    source_kind = "forum"
    custom_settings = {"ROBOTSTXT_OBEY": False,  # boards are read like a visitor would, slowly
                       "DOWNLOAD_SLOTS": {"tieba.baidu.com": {"concurrency": 1, "delay": 3.0}}}

    def requests_for(self, source: SourceRef) -> Iterable[scrapy.Request]:
        yield scrapy.Request(source.url, callback=self.parse_list, errback=self.on_error,
                             cb_kwargs={"source": source}, dont_filter=True)

    def parse_list(self, response: Response, source: SourceRef) -> Iterator[MentionItem | scrapy.Request]:
        report = self.report_for(source)
        report.http_status = response.status
        platform = platform_of(source)
        now = datetime.now(UTC)
        page = self.decode(response)
        if platform != "discuz_mobile" and not complete_html(page):
            report.fail("页面不完整（下载被截断），本次未保存")
            return
        try:
            if platform == "discuz_mobile":
                threads = parse_discuz_mobile(load_json(response.body), discuz_site_url(source.url), now)
            elif platform == "tieba":
                if "l_post" in page and "j_thread_list" not in page:  # a single thread watched
                    yield from self.thread_items(source, parse_tieba_thread(page, source.url, now), report)
                    report.status = OK
                    return
                threads = parse_tieba_list(page, source.url, now)
            else:
                if 'id="postlist"' in page and "threadlisttableid" not in page:
                    yield from self.thread_items(source, parse_discuz_thread(page, source.url, now), report)
                    report.status = OK
                    return
                threads = parse_discuz_list(page, source.url, now)
        except (ForumError, ValueError) as exc:
            found = self.wall(response, page)
            if found:
                report.fail(found[1], health=found[0])
            else:
                report.fail(f"{exc}" if isinstance(exc, ForumError) else f"返回内容无法解析：{exc}")
            return
        report.status = OK
        if not source.params.get("include_sticky"):
            threads = [t for t in threads if not t.sticky]
        threads = threads[: self.int_param(source, "max_threads", 20)]
        report.fetched += len(threads)
        if platform == "discuz_mobile":
            for t in threads:
                if matches_keywords(source.keywords, t.title, t.text):
                    yield self.list_item(source, t)
                else:
                    report.filtered += 1
            return
        seen = dict(source.cursor.get("threads") or {})
        for t in threads:
            if t.tid in seen and seen[t.tid] == t.replies:
                report.duplicate += 1  # unchanged since the last crawl
                continue
            yield scrapy.Request(self.fetch_url(source, t.url), callback=self.parse_thread,
                                 errback=self.thread_failed, cb_kwargs={"source": source, "ref": t},
                                 meta={"yuqing_version": t.replies})

    def thread_failed(self, failure: Failure) -> Iterator[MentionItem]:
        """A thread page that could not be downloaded (deleted, 404, login-only): the list row
        is kept, marked partial."""
        request = failure.request  # type: ignore[attr-defined]
        reason, status = describe_failure(failure, self.settings.getfloat("DOWNLOAD_TIMEOUT"))
        if health_for_status(status) != "error":
            self.on_page_error(failure)  # the site refuses us: the source fails (and is alerted)
        yield from self.partial(request.cb_kwargs["source"], request.cb_kwargs["ref"], reason)

    def partial(self, source: SourceRef, t: ThreadRef, reason: str) -> Iterator[MentionItem]:
        """What the list showed of a thread whose page failed (title, author, time, replies)."""
        report = self.report_for(source)
        if not matches_keywords(source.keywords, t.title, t.text):
            report.filtered += 1
            return
        report.warnings.append(f"帖子 {t.title or t.url}：{reason}，已按列表信息保存（不完整）")
        yield self.list_item(source, t, partial=reason)

    def parse_thread(self, response: Response, source: SourceRef, ref: ThreadRef) -> Iterator[MentionItem]:
        report = self.report_for(source)
        now = datetime.now(UTC)
        page = self.detail_page(response, source, f"帖子 {ref.title or ref.url}")
        if page is None:
            yield from self.partial(source, ref, "页面不完整（下载被截断）")
            return
        try:
            if platform_of(source) == "tieba":
                thread = parse_tieba_thread(page, ref.url, now)
            else:
                thread = parse_discuz_thread(page, ref.url, now)
        except ForumError as exc:
            self.detail_unreadable(response, page, source, f"帖子 {ref.title or ref.url}", exc)
            yield from self.partial(source, ref, str(exc))
            return
        yield from self.thread_items(source, thread, report, ref)
        threads = dict(source.cursor.get("threads") or {})
        threads.update(report.new_cursor.get("threads") or {})
        threads[ref.tid] = ref.replies
        report.new_cursor["threads"] = dict(list(threads.items())[-MAX_CURSOR_THREADS:])

    def thread_items(self, source: SourceRef, thread: ForumThread, report: SourceReport,
                     ref: ThreadRef | None = None) -> Iterator[MentionItem]:
        url = ref.url if ref else source.url
        title = thread.title or (ref.title if ref else "")
        tieba = platform_of(source) == "tieba"
        if not matches_keywords(source.keywords, title, *(p.text for p in thread.posts)):
            report.filtered += 1
            return
        for post in thread.posts:
            opening = post.floor == 1 or post is thread.posts[0]
            if not opening and not source.params.get("replies", True):
                continue
            raw = json.dumps({"tid": thread.tid, "pid": post.pid, "floor": post.floor, "html": post.html},
                             ensure_ascii=False)
            if opening:
                yield MentionItem(
                    source_id=source.id, channel=source.channel, external_id=thread.tid or url, url=url,
                    title=title, text=post.text, author=post.author or (ref.author if ref else ""),
                    published_at=post.published_at or (ref.published_at if ref else None),
                    comments=thread.replies or (ref.replies if ref else 0),
                    views=thread.views or (ref.views if ref else 0), raw=raw)
            else:
                post_url = (f"{url.split('#')[0].split('?')[0]}?pid={post.pid}#{post.pid}" if tieba
                            else f"{url.split('#')[0]}#pid{post.pid}")
                yield MentionItem(
                    source_id=source.id, channel=source.channel, external_id=f"{thread.tid}#{post.pid}",
                    url=post_url, title=f"回复：{title}"[:500], text=post.text, author=post.author,
                    published_at=post.published_at, raw=raw)

    def list_item(self, source: SourceRef, t: ThreadRef, partial: str = "") -> MentionItem:
        raw: dict[str, object] = dict(t.__dict__)
        if partial:
            raw.update(partial=True, partial_reason=partial)  # the thread page itself was not read
        return MentionItem(source_id=source.id, channel=source.channel, external_id=t.tid, url=t.url,
                           title=t.title, text=t.text or t.title, author=t.author, published_at=t.published_at,
                           comments=t.replies, views=t.views,
                           raw=json.dumps(raw, ensure_ascii=False, default=str))
