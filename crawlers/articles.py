"""News and government article pages: main text by trafilatura, with a plain fallback.

trafilatura finds the article body among navigation, share bars and footers of arbitrary
CMS templates, so one extractor serves every portal; its metadata (title, author, date) is
used when the page declares it, and Beijing time is assumed for zone-less dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura

from crawlers.feeds import parse_feed_date
from crawlers.textutil import classify_block

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
    if not title:
        try:
            title = (lxml.html.fromstring(page).findtext(".//title") or "").strip()
        except (ValueError, lxml.etree.ParserError):
            title = ""
    date = getattr(doc, "date", None)
    # trafilatura gives a date only (YYYY-MM-DD); a <meta> with the time is more precise.
    published = _meta_time(page) or (parse_feed_date(str(date)) if date else None)
    return Article(title=title[:500], text=text, author=(getattr(doc, "author", None) or "")[:200],
                   published_at=published)


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
