"""News and government article pages: main text by trafilatura, with a plain fallback.

trafilatura finds the article body among navigation, share bars and footers of arbitrary
CMS templates, so one extractor serves every portal; its metadata (title, author, date) is
used when the page declares it, and Beijing time is assumed for zone-less dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura

from crawlers.feeds import parse_feed_date
from crawlers.textutil import classify_block

_CN = timezone(timedelta(hours=8))
_ARTICLE_PATH = re.compile(r"(?:/|_)(?:19|20)\d{2}[-/_]?\d{2}(?:[-/_]?\d{2})?|content_\d+|/\d{5,}\.s?html?$|/t\d{8}_",
                           re.I)


class ArticleError(ValueError):
    def __init__(self, message: str, health: str = "error") -> None:
        super().__init__(message)
        self.health = health


@dataclass(frozen=True)
class Article:
    title: str
    text: str
    author: str
    published_at: datetime | None


def extract(page: str, url: str) -> Article:
    """The article of a page; raises ArticleError when there is no readable body."""
    doc = trafilatura.bare_extraction(page, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, favor_precision=True)
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        wall = classify_block(url, page)
        if wall:
            raise ArticleError(wall[1], wall[0])
        raise ArticleError("页面中没有可提取的正文")
    title = (getattr(doc, "title", None) or "").strip()
    visible = _visible_text(page)
    if not title:
        try:
            title = (lxml.html.fromstring(page).findtext(".//title") or "").strip()
        except (ValueError, lxml.etree.ParserError):
            title = ""
    title = heading(title, visible)
    date = getattr(doc, "date", None)
    # trafilatura gives a date only (YYYY-MM-DD); a <meta> with the time is more precise, and
    # so is the time the page shows under its heading ("2025年01月14日08:35").
    published = _meta_time(page) or (parse_feed_date(str(date)) if date else None)
    shown = visible_time(visible, title, published)
    if shown is not None:
        published = shown
    # For news the source ("来源：新华社") is the author, not the reporter's byline.
    author = source_of(visible, title) or (getattr(doc, "author", None) or "")
    return Article(title=title[:500], text=text, author=author[:200], published_at=published)


def _visible_text(page: str) -> str:
    """The page's text with element boundaries kept as spaces (scripts and styles dropped)."""
    try:
        root = lxml.html.fromstring(page)
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in root.xpath("//script|//style|//noscript|//title"):
        bad.drop_tree()
    return re.sub(r"\s+", " ", " ".join(t.strip() for t in root.itertext() if t.strip()))


# a site suffix: "标题-新抚区人民政府", "标题_中国科普网", "标题--经济·科技--人民网", "标题 | 某某网"
_TITLE_SEP = re.compile(r"(?<!\d)\s*(?:--|——|－|—|-|_|\||｜)\s*(?!\d)")


def heading(title: str, visible: str) -> str:
    """The article heading: the page title less the site name and channel suffixes."""
    parts = [p.strip() for p in _TITLE_SEP.split(title) if p.strip()]
    if len(parts) <= 1:
        return title
    shown = [p for p in parts if p in visible]
    pool = shown or parts
    best = max(pool, key=len)
    # a heading that itself contains a dash: keep the longest run of parts shown on the page
    for n in range(len(parts), 1, -1):
        for i in range(len(parts) - n + 1):
            run = title[title.find(parts[i]):title.find(parts[i + n - 1]) + len(parts[i + n - 1])]
            if run in visible and len(run) > len(best):
                return run
    return best


_SHOWN_TIME = re.compile(
    r"((?:19|20)\d{2})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?")


def visible_time(visible: str, title: str, known: datetime | None) -> datetime | None:
    """The publication time the page shows near its heading, when it is more precise than
    `known` (a date-only <meta> read as midnight) and agrees with its date."""
    if known is not None:
        local = known.astimezone(_CN)
        if (local.hour, local.minute, local.second) != (0, 0, 0):
            return None  # the declared time already has a time of day
    start = visible.find(title) if title else -1
    for segment in ((visible[start:], visible) if start >= 0 else (visible,)):
        for m in _SHOWN_TIME.finditer(segment):
            y, mo, d, h, mi, sec = (int(x) if x else 0 for x in m.groups())
            try:
                when = datetime(y, mo, d, h, mi, sec, tzinfo=_CN)
            except ValueError:
                continue
            if known is None or when.date() == known.astimezone(_CN).date():
                return when.astimezone(UTC)
    return None


_SOURCE = re.compile(r"(?:来源|稿源|信息来源|文章来源)\s*[:：]\s*([^\s|｜:：]{2,40}?)"
                     r"(?=\s|$|\||｜|作者|发布|时间|编辑|责任|浏览|字号|【|\d{4})")


def source_of(visible: str, title: str) -> str:
    """The "来源：…" of a news page (the first one after the heading)."""
    start = visible.find(title) if title else -1
    for segment in ((visible[start:], visible) if start >= 0 else (visible,)):
        m = _SOURCE.search(segment)
        if m:
            return m.group(1).strip()
    return ""


_META_TIME = re.compile(
    r"<meta[^>]+(?:name|property)=[\"'](?:publishdate|pubdate|PubDate|article:published_time|"
    r"og:release_date|publish_time|firstpublishedtime)[\"'][^>]+content=[\"']([^\"']+)[\"']", re.I)


def _meta_time(page: str) -> datetime | None:
    m = _META_TIME.search(page[:30000])
    return parse_feed_date(m.group(1)) if m else None


def article_links(page: str, base_url: str, pattern: str | None = None, limit: int = 30) -> list[str]:
    """Links of a list page that look like articles of the same site (or match ``pattern``)."""
    doc = lxml.html.fromstring(page)
    host = urlsplit(base_url).netloc
    wanted = re.compile(pattern) if pattern else None
    out: list[str] = []
    for a in doc.xpath("//a[@href]"):
        href = urljoin(base_url, a.get("href").strip())
        if not href.startswith("http") or href in out:
            continue
        if wanted is not None:
            if not wanted.search(href):
                continue
        elif urlsplit(href).netloc != host or not _ARTICLE_PATH.search(href) or \
                len(re.sub(r"\s+", "", a.text_content())) < 6:
            continue
        out.append(href)
        if len(out) >= limit:
            break
    return out
