"""Weibo responses as pure functions: m.weibo.cn container API and the weibo.com ajax format.

m.weibo.cn ``api/container/getIndex``: a user timeline (containerid 107603<uid>) lists cards
of card_type 9 with an ``mblog``; a keyword search (100103type=1 / type=61 &q=...) nests them
in ``card_group`` of card_type 11 cards. Truncated long posts end in a 全文 link and are
completed from ``statuses/extend`` (or ``longText`` when the search embeds it). weibo.com
``ajax`` lists ``statuses`` (or ``data.list``) with ``text_raw``/``mblogid``/``isLongText``.

Comments: m.weibo.cn ``comments/hotflow`` (``data.data`` plus a ``max_id``/``max_id_type``
cursor, 0 on the last page; replies nested in each comment's ``comments``) and the legacy
``api/comments/show?page=N`` (``data.data`` newest, ``data.hot_data`` hottest, ``like_counts``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawlers.textutil import parse_cn_time, parse_count, plain_text

EMPTY = "empty"  # a valid answer with nothing in it ("这里还没有内容")
OK = "ok"
_EMPTY_MSGS = ("这里还没有内容", "暂无", "没有内容", "无结果", "没有找到")
_BLOCK_MSGS = ("频繁", "稍后再试", "限制", "异常")
# Emoticons are <img alt=[怒]>: their alt text carries the sentiment, so it is kept.
_EMOTICON = re.compile(r"""<img\b[^>]*?\balt=["']?(\[[^\]"'<>]{1,20}\])[^>]*>""", re.I)


def weibo_text(fragment: str) -> str:
    """Plain text of a Weibo HTML fragment, emoticons as their [名称]."""
    return plain_text(_EMOTICON.sub(lambda m: m.group(1), fragment or ""))


class WeiboError(ValueError):
    """Not a usable answer; ``health`` says what the duty officer should know."""

    def __init__(self, message: str, health: str = "error") -> None:
        super().__init__(message)
        self.health = health


@dataclass(frozen=True)
class WeiboPost:
    id: str
    bid: str
    user_id: str
    author: str
    text: str
    truncated: bool  # a long post whose full text needs one more request
    published_at: datetime | None
    reposts: int
    comments: int
    likes: int
    raw: str

    @property
    def url(self) -> str:
        if self.bid and self.user_id:
            return f"https://weibo.com/{self.user_id}/{self.bid}"
        return f"https://m.weibo.cn/detail/{self.id}"


def check_envelope(data: Any) -> str:
    """OK, EMPTY, or raise WeiboError for a login wall / refusal / unknown answer."""
    if not isinstance(data, Mapping):
        raise WeiboError("返回的 JSON 不是对象")
    ok = data.get("ok")
    msg = str(data.get("msg") or data.get("message") or "")
    if ok == -100 or "登录" in msg or "login" in str(data.get("url", "")):
        raise WeiboError(f"微博要求登录（ok={ok}，{msg or '请先登录'}）", "login_expired")
    if ok in (1, "1", True):
        return OK
    if ok in (0, "0"):
        if any(m in msg for m in _EMPTY_MSGS) or not msg:
            return EMPTY
        if any(m in msg for m in _BLOCK_MSGS):
            raise WeiboError(f"微博拒绝请求：{msg}", "blocked")
        raise WeiboError(f"微博返回错误：{msg}")
    if "statuses" in data or "data" in data:  # weibo.com ajax answers without "ok" sometimes
        return OK
    raise WeiboError(f"无法识别的微博响应（ok={ok!r}）")


def iter_mblogs(data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every status of a getIndex or ajax response, at any nesting the formats use."""
    body = data.get("data") if isinstance(data.get("data"), Mapping) else data
    assert isinstance(body, Mapping)
    for card in body.get("cards") or []:
        if not isinstance(card, Mapping):
            continue
        if isinstance(card.get("mblog"), Mapping):
            yield card["mblog"]
        for inner in card.get("card_group") or []:
            if isinstance(inner, Mapping) and isinstance(inner.get("mblog"), Mapping):
                yield inner["mblog"]
    for key in ("statuses", "list"):
        for status in body.get(key) or []:
            if isinstance(status, Mapping):
                yield status


def _text(mblog: Mapping[str, Any]) -> tuple[str, bool]:
    long_text = mblog.get("longText")
    if isinstance(long_text, Mapping) and long_text.get("longTextContent"):
        return weibo_text(str(long_text["longTextContent"])), False
    if mblog.get("text_raw") is not None:  # weibo.com ajax: plain text already
        text = str(mblog.get("text_raw") or "").replace("\u200b", "").strip()
        return text, bool(mblog.get("isLongText"))
    raw_html = str(mblog.get("text") or "")
    truncated = bool(mblog.get("isLongText")) or ">全文</a>" in raw_html
    text = weibo_text(raw_html)
    if truncated and text.endswith("全文"):
        text = text[: -len("全文")].rstrip()
    return text, truncated


def parse_mblog(mblog: Mapping[str, Any], now: datetime) -> WeiboPost | None:
    """One status; None when it has no id (ads, deleted placeholders)."""
    ident = str(mblog.get("idstr") or mblog.get("mid") or mblog.get("id") or "").strip()
    if not ident:
        return None
    user = mblog.get("user") if isinstance(mblog.get("user"), Mapping) else {}
    assert isinstance(user, Mapping)
    text, truncated = _text(mblog)
    retweeted = mblog.get("retweeted_status")
    if isinstance(retweeted, Mapping):
        rt_user = retweeted.get("user") if isinstance(retweeted.get("user"), Mapping) else {}
        rt_text, _ = _text(retweeted)
        if rt_text:
            who = f"@{rt_user.get('screen_name')}" if isinstance(rt_user, Mapping) and rt_user.get(
                "screen_name") else "原微博"
            text = f"{text}\n//转发 {who}：{rt_text}".strip()
    return WeiboPost(
        id=ident,
        bid=str(mblog.get("bid") or mblog.get("mblogid") or ""),
        user_id=str(user.get("idstr") or user.get("id") or ""),
        author=str(user.get("screen_name") or "")[:200],
        text=text,
        truncated=truncated,
        published_at=parse_cn_time(mblog.get("created_at"), now),
        reposts=parse_count(mblog.get("reposts_count")),
        comments=parse_count(mblog.get("comments_count")),
        likes=parse_count(mblog.get("attitudes_count")),
        raw=json.dumps(mblog, ensure_ascii=False),
    )


def parse_timeline(data: Any, now: datetime) -> tuple[str, list[WeiboPost]]:
    """(OK|EMPTY, posts) of a getIndex / ajax response; raises WeiboError."""
    state = check_envelope(data)
    if state == EMPTY:
        return EMPTY, []
    posts = [p for m in iter_mblogs(data) if (p := parse_mblog(m, now)) is not None]
    return (OK if posts else EMPTY), posts


def parse_long_text(data: Any) -> str:
    """Full text from statuses/extend (m.weibo.cn) or ajax/statuses/longtext (weibo.com)."""
    check_envelope(data)
    body = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(body, Mapping) or not body.get("longTextContent"):
        raise WeiboError("长微博全文接口没有返回正文")
    return weibo_text(str(body["longTextContent"]))


def next_since_id(data: Any) -> str | None:
    """The paging cursor some answers carry (cardlistInfo.since_id, ajax since_id/max_id)."""
    if not isinstance(data, Mapping):
        return None
    body = data.get("data") if isinstance(data.get("data"), Mapping) else data
    info = body.get("cardlistInfo") if isinstance(body, Mapping) else None
    if isinstance(info, Mapping) and info.get("since_id"):
        return str(info["since_id"])
    return None


@dataclass(frozen=True)
class WeiboComment:
    id: str
    author: str
    text: str
    published_at: datetime | None
    likes: int
    replies: int
    raw: str


@dataclass(frozen=True)
class CommentPage:
    state: str  # OK | EMPTY
    comments: list[WeiboComment]
    max_id: str  # hotflow cursor of the next page; "0" or "" on the last one
    max_id_type: str
    max_page: int  # legacy api/comments/show: number of pages (data.max)


def parse_comment(comment: Mapping[str, Any], now: datetime) -> WeiboComment | None:
    ident = str(comment.get("idstr") or comment.get("id") or comment.get("mid") or "").strip()
    if not ident:
        return None
    user = comment.get("user") if isinstance(comment.get("user"), Mapping) else {}
    assert isinstance(user, Mapping)
    total = comment.get("total_number")
    return WeiboComment(
        id=ident,
        author=str(user.get("screen_name") or "")[:200],
        text=weibo_text(str(comment.get("text") or "")),
        published_at=parse_cn_time(comment.get("created_at"), now),
        # hotflow says like_count, the legacy API like_counts
        likes=parse_count(comment.get("like_count", comment.get("like_counts"))),
        replies=parse_count(total) if total is not None else 0,
        raw=json.dumps(comment, ensure_ascii=False),
    )


def _comment_dicts(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("data", "hot_data"):
        for comment in body.get(key) or []:
            if not isinstance(comment, Mapping):
                continue
            yield comment
            # hotflow inlines the first replies; a reply is a comment too (often the angry one)
            for reply in comment.get("comments") or []:
                if isinstance(reply, Mapping):
                    yield reply


def parse_comments(data: Any, now: datetime) -> CommentPage:
    """One page of comments/hotflow or api/comments/show; raises WeiboError (login wall...)."""
    state = check_envelope(data)
    body = data.get("data") if isinstance(data, Mapping) else None
    if state == EMPTY or not isinstance(body, Mapping):
        return CommentPage(EMPTY, [], "", "", 0)
    seen: set[str] = set()
    comments: list[WeiboComment] = []
    for raw in _comment_dicts(body):
        comment = parse_comment(raw, now)
        if comment is not None and comment.id not in seen:  # hot_data repeats data
            seen.add(comment.id)
            comments.append(comment)
    return CommentPage(OK if comments else EMPTY, comments, str(body.get("max_id") or ""),
                       str(body.get("max_id_type") or "0"), parse_count(body.get("max")))
