"""WeChat official-account pages as pure functions: the article page and the history page.

Article pages of every template generation carry the same script variables
(``var nickname``, ``var ct`` = publish time in unix seconds, ``var msg_title`` in double quotes
or in single quotes followed by ``.html(false)``) and the body in ``#js_content``; rendered
copies also have ``#activity-name`` / ``#js_name``. An expired temporary link answers a short
page saying 链接已过期 instead: an error, never a post.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import lxml.html

from crawlers.feeds import html_to_text

_VAR = r"var\s+{name}\s*=\s*(?:\"\"\s*\|\|\s*)*(?:\"([^\"]*)\"|'([^']*)')"
_ERROR_PHRASES = ("链接已过期", "该内容已被发布者删除", "此内容因违规无法查看", "该公众号已迁移",
                  "内容已删除", "此内容被多人投诉", "该内容暂时无法查看", "已停止访问该网页")
_MSGLIST = re.compile(r"var\s+msgList\s*=\s*('?)(\{.*?\})\1\s*;", re.S)


class WechatError(ValueError):
    def __init__(self, message: str, health: str = "error") -> None:
        super().__init__(message)
        self.health = health


@dataclass(frozen=True)
class WechatArticle:
    title: str
    account: str
    author: str
    published_at: datetime | None
    text: str
    biz: str
    mid: str
    idx: str
    body_html: str  # #js_content as served: the evidence kept if the article is deleted


def _var(page: str, name: str) -> str:
    for m in re.finditer(_VAR.format(name=re.escape(name)), page):
        value = m.group(1) if m.group(1) is not None else m.group(2)
        if value:
            return html.unescape(value.replace("\\x26", "&").replace("\\n", " ")).strip()
    return ""


def _first_text(doc: Any, xpath: str) -> str:
    for node in doc.xpath(xpath):
        text = re.sub(r"\s+", " ", node.text_content()).strip()
        if text:
            return text
    return ""


def error_message(page: str) -> str | None:
    """The reason when this is WeChat's error page rather than an article."""
    if 'id="js_content"' in page or "id='js_content'" in page:
        return None
    for phrase in _ERROR_PHRASES:
        if phrase in page:
            return phrase
    return None


def parse_article(page: str) -> WechatArticle:
    """An article; raises WechatError for error pages and pages without an article body."""
    if (reason := error_message(page)) is not None:
        raise WechatError(f"微信文章不可用：{reason}")
    doc = lxml.html.fromstring(page)
    bodies = doc.xpath('//*[@id="js_content"]')
    if not bodies:
        raise WechatError("不是微信文章页面（没有正文 js_content）")
    body = bodies[0]
    body_html = lxml.html.tostring(body, encoding="unicode")
    for bad in body.xpath(".//script|.//style"):
        bad.drop_tree()
    text = html_to_text(lxml.html.tostring(body, encoding="unicode"))
    title = (_first_text(doc, '//*[@id="activity-name"]') or _var(page, "msg_title")
             or (doc.xpath('string(//meta[@property="og:title"]/@content)') or "").strip())
    account = (_var(page, "nickname") or _first_text(doc, '//*[@id="js_name"]')
               or _first_text(doc, '//*[contains(@class,"profile_nickname")]'))
    author = (_var(page, "author") or _first_text(doc, '//*[@id="js_author_name"]')
              or (doc.xpath('string(//meta[@name="author"]/@content)') or "").strip())
    ct = _var(page, "ct") or _var(page, "create_time")
    published: datetime | None = None
    if ct.isdigit() and int(ct) > 0:
        published = datetime.fromtimestamp(int(ct), UTC)
    if not (title or text):
        raise WechatError("微信文章页面没有标题和正文")
    return WechatArticle(title=title, account=account, author=author, published_at=published,
                         text=text, biz=_var(page, "biz"), mid=_var(page, "mid"),
                         idx=_var(page, "idx"), body_html=body_html)


@dataclass(frozen=True)
class HistoryEntry:
    title: str
    url: str
    digest: str
    published_at: datetime | None
    author: str


def parse_history(page: str, base_url: str = "https://mp.weixin.qq.com/") -> list[HistoryEntry]:
    """Articles listed by an account's history page (``var msgList = {...}``)."""
    m = _MSGLIST.search(page)
    if not m:
        raise WechatError("公众号历史消息页面没有 msgList")
    data = json.loads(html.unescape(m.group(2)))
    out: list[HistoryEntry] = []
    for msg in data.get("list") or []:
        info = msg.get("comm_msg_info") or {}
        when = str(info.get("datetime") or "")
        published = datetime.fromtimestamp(int(when), UTC) if when.isdigit() else None
        main = msg.get("app_msg_ext_info") or {}
        for item in [main, *(main.get("multi_app_msg_item_list") or [])]:
            url = html.unescape(str(item.get("content_url") or "")).replace("\\/", "/")
            if not url or not item.get("title"):
                continue
            out.append(HistoryEntry(title=html.unescape(str(item["title"])), url=urljoin(base_url, url),
                                    digest=html.unescape(str(item.get("digest") or "")),
                                    published_at=published, author=str(item.get("author") or "")))
    return out
