"""Forum pages as pure functions: Discuz! X (list, thread, mobile API) and Baidu Tieba.

Selectors are the ones every Discuz! X2.5-X3.5 template and Tieba PC page share (ids such as
``normalthread_<tid>``, ``post_<pid>``, ``thread_subject``; Tieba's ``data-field`` JSON), so a
board with a different theme still parses; fields a theme leaves out come back empty.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.etree
import lxml.html

from crawlers.feeds import html_to_text
from crawlers.textutil import parse_cn_time, parse_count

_TID_IN_URL = re.compile(r"(?:[?&]tid=|thread-)(\d+)")
_TIEBA_TID = re.compile(r"/p/(\d+)")
_DATE_IN_TEXT = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")


class ForumError(ValueError):
    pass


@dataclass(frozen=True)
class ThreadRef:
    """A thread as a list page shows it."""

    tid: str
    url: str
    title: str
    author: str
    published_at: datetime | None
    replies: int
    views: int
    sticky: bool
    text: str = ""  # abstract, when the list shows one (Tieba) or when there is no thread page


@dataclass(frozen=True)
class ForumPost:
    tid: str
    pid: str
    floor: int  # 1 = the opening post
    title: str
    author: str
    published_at: datetime | None
    text: str
    html: str


@dataclass(frozen=True)
class ForumThread:
    tid: str
    title: str
    views: int
    replies: int
    posts: list[ForumPost]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _html(node: Any) -> str:
    return lxml.html.tostring(node, encoding="unicode")


def _doc(page: str) -> Any:
    try:
        return lxml.html.fromstring(page)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ForumError(f"无法解析页面：{exc}") from exc


def _time_of(node: Any, now: datetime) -> datetime | None:
    """Discuz prints recent times as '3 天前' with the exact time in a title attribute."""
    for title in node.xpath(".//span/@title"):
        if (t := parse_cn_time(title, now)) is not None:
            return t
    text = _clean(node.text_content())
    if m := _DATE_IN_TEXT.search(text):
        return parse_cn_time(m.group(0), now)
    return parse_cn_time(text, now)


# ----- Discuz! X ------------------------------------------------------------------------------------
def parse_discuz_list(page: str, base_url: str, now: datetime) -> list[ThreadRef]:
    """Threads of a forumdisplay page (normal and sticky), in page order."""
    doc = _doc(page)
    base = (doc.xpath("string(//base/@href)") or "").strip() or base_url
    out: list[ThreadRef] = []
    for tbody in doc.xpath('//tbody[starts-with(@id,"normalthread_") or starts-with(@id,"stickthread_")]'):
        tid = tbody.get("id").split("_", 1)[1]
        links = tbody.xpath('.//a[contains(concat(" ",normalize-space(@class)," ")," xst ")]') or \
            tbody.xpath('.//th//a[contains(@href,"tid=") or contains(@href,"thread-")]')
        if not tid.isdigit() or not links:
            continue
        link = links[0]
        by = tbody.xpath('.//td[contains(@class,"by")]')
        author = _clean(by[0].xpath("string(.//cite)")) if by else ""
        published = _time_of(by[0].xpath(".//em")[0], now) if by and by[0].xpath(".//em") else None
        num = tbody.xpath('.//td[contains(@class,"num")]')
        replies = parse_count(num[0].xpath("string(./a)")) if num else 0
        views = parse_count(num[0].xpath("string(./em)")) if num else 0
        out.append(ThreadRef(tid=tid, url=urljoin(base, link.get("href") or ""),
                             title=_clean(link.text_content()), author=author, published_at=published,
                             replies=replies, views=views, sticky=tbody.get("id").startswith("stick")))
    if not out and not doc.xpath('//*[@id="threadlisttableid" or @id="threadlist"]'):
        raise ForumError("不是 Discuz! 帖子列表页面（没有 threadlist）")
    return out


def _discuz_body(td: Any) -> tuple[str, str]:
    for bad in td.xpath('.//*[contains(@class,"jammer")]|.//*[contains(@style,"display:none")]'
                        '|.//i[contains(@class,"pstatus")]|.//script|.//style'
                        '|.//*[contains(@class,"quote")]|.//ignore_js_op//*[contains(@class,"tip")]'):
        bad.drop_tree()
    return html_to_text(_html(td)), _html(td)


def parse_discuz_thread(page: str, url: str, now: datetime) -> ForumThread:
    """A viewthread page: subject, counters, and its posts in floor order."""
    doc = _doc(page)
    posts_nodes = doc.xpath('//div[@id="postlist"]/div[starts-with(@id,"post_")]') or \
        doc.xpath('//div[starts-with(@id,"post_") and .//*[starts-with(@id,"postmessage_")]]')
    if not posts_nodes:
        raise ForumError("不是 Discuz! 帖子页面（没有 postlist）")
    title = _clean(doc.xpath("string(//*[@id='thread_subject'])")) or \
        _clean(doc.xpath("string(//title)")).split(" - ")[0]
    canon = str(doc.xpath("string(//link[@rel='canonical']/@href)"))
    m = _TID_IN_URL.search(url) or _TID_IN_URL.search(canon)
    tid = m.group(1) if m else ""
    counters = [parse_count(x) for x in doc.xpath('//div[contains(@class,"hm")]/span[contains(@class,"xi1")]/text()')]
    views, replies = [*counters, 0, 0][:2]
    posts: list[ForumPost] = []
    for floor, node in enumerate(posts_nodes, start=1):
        pid = node.get("id").split("_", 1)[1]
        if not pid.isdigit():
            continue
        bodies = node.xpath(f'.//*[@id="postmessage_{pid}"]') or node.xpath('.//td[contains(@class,"t_f")]')
        if not bodies:
            continue  # a deleted or banned floor shows no message
        text, body_html = _discuz_body(bodies[0])
        author = _clean(node.xpath('string(.//div[contains(@class,"authi")]//a[contains(@class,"xw1")])')) or \
            _clean(node.xpath('string(.//a[contains(@class,"xw1")])'))
        when = node.xpath('.//em[starts-with(@id,"authorposton")]')
        published = _time_of(when[0], now) if when else None
        posts.append(ForumPost(tid=tid, pid=pid, floor=floor, title=title, author=author,
                               published_at=published, text=text, html=body_html))
    if not posts:
        raise ForumError("帖子页面没有可读的楼层")
    return ForumThread(tid=tid, title=title, views=views, replies=replies or len(posts) - 1, posts=posts)


def parse_discuz_mobile(data: Any, site_url: str, now: datetime) -> list[ThreadRef]:
    """Discuz! mobile API (api/mobile/index.php?module=forumdisplay) thread list."""
    if not isinstance(data, dict):
        raise ForumError("Discuz 移动接口返回的不是 JSON 对象")
    message = data.get("Message") if isinstance(data.get("Message"), dict) else {}
    variables = data.get("Variables")
    if message and "login" in str(message.get("messageval", "")):
        raise ForumError(f"需要登录：{message.get('messagestr') or message.get('messageval')}")
    if not isinstance(variables, dict):
        raise ForumError(f"Discuz 移动接口没有 Variables（{message.get('messagestr', '') if message else ''}）")
    out: list[ThreadRef] = []
    for t in variables.get("forum_threadlist") or []:
        tid = str(t.get("tid") or "")
        if not tid.isdigit():
            continue
        published = parse_cn_time(t.get("dbdateline"), now) or parse_cn_time(t.get("dateline"), now)
        replies = " / ".join(_clean(html_to_text(str(r.get("message") or ""))) for r in t.get("reply") or []
                             if isinstance(r, dict))
        subject = html.unescape(str(t.get("subject") or ""))
        out.append(ThreadRef(
            tid=tid, url=urljoin(site_url, f"forum.php?mod=viewthread&tid={tid}"),
            title=subject, author=html.unescape(str(t.get("author") or "")), published_at=published,
            replies=parse_count(t.get("replies")), views=parse_count(t.get("views")),
            sticky=parse_count(t.get("displayorder")) > 0,
            text=subject + (f"\n最新回复：{replies}" if replies else "")))
    return out


def discuz_site_url(api_url: str) -> str:
    """Site root of a Discuz mobile API URL (…/api/mobile/index.php -> …/)."""
    parts = urlsplit(api_url)
    path = parts.path.split("/api/mobile/")[0].rstrip("/") + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


# ----- Baidu Tieba ----------------------------------------------------------------------------------
def _tieba_items(doc: Any) -> list[Any]:
    items = doc.xpath('//li[contains(concat(" ",normalize-space(@class)," ")," j_thread_list ")]')
    if items:
        return list(items)
    # The server HTML hides the list inside <code><!-- ... --></code> blocks for its JS to render.
    found: list[Any] = []
    for comment in doc.xpath("//comment()"):
        text = comment.text or ""
        if "j_thread_list" in text:
            inner = lxml.html.fromstring(f"<div>{text}</div>")
            found += inner.xpath('//li[contains(concat(" ",normalize-space(@class)," ")," j_thread_list ")]')
    return found


def parse_tieba_list(page: str, base_url: str, now: datetime) -> list[ThreadRef]:
    """Threads of a Tieba forum page (/f?kw=...)."""
    doc = _doc(page)
    out: list[ThreadRef] = []
    for li in _tieba_items(doc):
        try:
            field = json.loads(li.get("data-field") or "{}")
        except json.JSONDecodeError:
            field = {}
        links = li.xpath('.//a[contains(concat(" ",normalize-space(@class)," ")," j_th_tit ")]')
        tid = str(field.get("id") or li.get("data-tid") or "")
        if not links or not tid.isdigit():
            continue
        link = links[0]
        created = _clean(li.xpath('string(.//*[contains(@class,"is_show_create_time")])'))
        out.append(ThreadRef(
            tid=tid, url=urljoin(base_url, link.get("href") or f"/p/{tid}"),
            title=_clean(link.get("title") or link.text_content()),
            author=str(field.get("author_nickname") or field.get("author_name") or ""),
            published_at=parse_cn_time(created, now) if created else None,
            replies=parse_count(field.get("reply_num")), views=0,
            sticky=bool(field.get("is_top")),
            text=_clean(li.xpath('string(.//div[contains(@class,"threadlist_abs")])'))))
    if not out and "j_thread_list" not in page and "thread_list" not in page:
        raise ForumError("不是贴吧帖子列表页面（没有 j_thread_list）")
    return out


def parse_tieba_thread(page: str, url: str, now: datetime) -> ForumThread:
    """A Tieba thread page (/p/<tid>): posts with their floor, author and time."""
    doc = _doc(page)
    nodes = doc.xpath('//div[contains(concat(" ",normalize-space(@class)," ")," l_post ")]')
    if not nodes:
        raise ForumError("不是贴吧帖子页面（没有 l_post）")
    title = _clean(doc.xpath('string(//*[contains(@class,"core_title_txt")])')) or \
        _clean(doc.xpath("string(//title)")).split("_")[0]
    m = _TIEBA_TID.search(url)
    tid = m.group(1) if m else ""
    posts: list[ForumPost] = []
    for node in nodes:
        try:
            field = json.loads(node.get("data-field") or "{}")
        except json.JSONDecodeError:
            field = {}
        content = field.get("content") if isinstance(field.get("content"), dict) else {}
        author = field.get("author") if isinstance(field.get("author"), dict) else {}
        bodies = node.xpath('.//div[contains(concat(" ",normalize-space(@class)," ")," j_d_post_content ")]') or \
            node.xpath('.//div[contains(@class,"d_post_content")]')
        if not bodies:
            continue
        body = bodies[-1]
        text = html_to_text(_html(body))
        pid = str(content.get("post_id") or node.get("data-pid") or "")
        tid = tid or str(content.get("thread_id") or "")
        tails = [_clean(t) for t in node.xpath('.//span[contains(@class,"tail-info")]//text()')]
        floor = next((int(t[:-1]) for t in tails if re.fullmatch(r"\d+楼", t)), 0) or \
            parse_count(content.get("post_no"))
        when = next((parse_cn_time(t, now) for t in reversed(tails) if _DATE_IN_TEXT.fullmatch(t)), None)
        if when is None and (date := content.get("date")):
            when = parse_cn_time(date, now)
        name = _clean(node.xpath('string(.//a[contains(@class,"p_author_name")])')) or \
            str(author.get("user_nickname") or author.get("user_name") or "")
        if not pid or not text:
            continue
        posts.append(ForumPost(tid=tid, pid=pid, floor=floor or len(posts) + 1, title=title, author=name,
                               published_at=when, text=text, html=_html(body)))
    if not posts:
        raise ForumError("贴吧帖子页面没有可读的楼层")
    reply_num = parse_count(doc.xpath('string(//li[contains(@class,"l_reply_num")]/span[1])'))
    return ForumThread(tid=tid, title=title, views=0, replies=reply_num or len(posts) - 1, posts=posts)


def tid_from_url(url: str) -> str:
    m = _TID_IN_URL.search(url) or _TIEBA_TID.search(url)
    if m:
        return m.group(1)
    return (parse_qs(urlsplit(url).query).get("tid") or [""])[0]
