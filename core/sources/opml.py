"""OPML import: the feed lists that RSSHub, wechat2rss and we-mp-rss users export."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree import ElementTree

from sqlmodel import Session

from core.errors import InvalidInput
from core.sanitize import web_url
from core.sources import service
from core.sources.models import SourceCreate

_SUFFIX = re.compile(r"\s*[|｜-]\s*(wechat-feeds|wechat2rss|RSSHub)\s*$", re.I)


@dataclass(frozen=True)
class OpmlFeed:
    title: str
    url: str


@dataclass
class OpmlImport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "title: reason"


def parse(content: bytes) -> list[OpmlFeed]:
    """Every <outline xmlUrl=...> in the document, at any depth (categories nest them)."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise InvalidInput(f"不是有效的 OPML 文件：{exc}") from exc
    feeds: list[OpmlFeed] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue
        title = (outline.get("title") or outline.get("text") or url).strip()
        feeds.append(OpmlFeed(title=_SUFFIX.sub("", title) or url, url=url))
    if not feeds:
        raise InvalidInput("OPML 文件中没有订阅源（outline xmlUrl）")
    return feeds


def import_feeds(*, session: Session, content: bytes, kind: str = "wechat", channel: str = "wechat",
                 params: dict[str, object] | None = None, keywords: list[str] | None = None,
                 schedule_minutes: int = 60) -> OpmlImport:
    """Create one source per feed; names already used and repeated URLs are skipped."""
    result = OpmlImport()
    seen_urls = {s.url for s in service.get_all(session=session)}
    for feed in parse(content):
        name = feed.title[:100]
        if feed.url in seen_urls or service.get_by_name(session=session, name=name):
            result.existing.append(name)
            continue
        if len(feed.url) > 1000:
            result.rejected.append(f"{name}：地址过长")
            continue
        if not web_url(feed.url):
            result.rejected.append(f"{name}：地址须以 http:// 或 https:// 开头")
            continue
        service.create(session=session, source_in=SourceCreate(
            name=name, kind=kind, channel=channel, url=feed.url, params=dict(params or {}),
            keywords=list(keywords or []), schedule_minutes=schedule_minutes))
        seen_urls.add(feed.url)
        result.created.append(name)
    return result
