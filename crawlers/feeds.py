"""RSS/Atom reading as pure functions: bytes in, entries out (no Scrapy, no database).

Kept apart from the spider so the decoding and extraction rules can be tested on real
captured feeds without starting a reactor, and reused by later spiders (e.g. RSSHub Weibo).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXException

import feedparser
import lxml.etree
import lxml.html
from charset_normalizer import from_bytes
from feedparser.datetimes import _parse_date as feedparser_parse_date

from core.sanitize import web_url
from core.timeutil import SHANGHAI

# Column sizes of MentionBase; longer values would make the whole item invalid.
MAX_TITLE = 500
MAX_AUTHOR = 200
MAX_URL = 2000
MAX_EXTERNAL_ID = 300

INVALID_FEED = "不是有效的RSS/Atom"

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_XML_DECL_ANY = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
# Single-byte charsets decode ANY bytes, so a strict decode proves nothing about them.
_SINGLE_BYTE = re.compile(r"^(latin_1|iso8859_\d+|cp125\d|ascii|cp437|mac_roman|koi8_r)$")
_ROOT_CLOSED = re.compile(r"</\s*(?:rss|feed|(?:rdf:)?RDF)\s*>\s*(?:<!--.*?-->\s*)*\Z", re.S | re.I)
_CN_DATE = re.compile(
    r"^(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})秒?)?)?\s*$"
)
_EMAIL_NAME = re.compile(r"^\S+@\S+\s*\((?P<name>[^)]+)\)$")
_NAME_EMAIL = re.compile(r"^(?P<name>[^<]+?)\s*<\S+@\S+>$")
_BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "tr", "table", "section", "article", "blockquote",
               "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dd", "dt", "header", "footer"}


class FeedError(ValueError):
    """The body is not a feed we can read; the message is shown as the source's last error."""


@dataclass(frozen=True)
class FeedEntry:
    external_id: str
    url: str
    title: str
    text: str
    author: str
    published_at: datetime | None
    raw: str  # the feedparser entry as JSON: evidence if the post is later deleted


@dataclass(frozen=True)
class ParsedFeed:
    version: str
    encoding: str
    title: str
    entries: list[FeedEntry]
    warnings: list[str] = field(default_factory=list)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def codec_name(label: str | None) -> str | None:
    """Python's codec for a charset label; GB2312/GBK widen to GB18030."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    # GB2312/GBK feeds routinely contain GBK-only characters (e.g. 镕, 喆); GB18030 is the superset.
    if name in ("gb2312", "gbk", "euc_cn", "hz"):
        return "gb18030"
    return name


def decode_feed_bytes(body: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Decode feed bytes: BOM, then the XML declaration, then the HTTP charset, then UTF-8,
    each only if it decodes strictly; otherwise charset-normalizer's guess.

    The XML declaration comes before the HTTP header because servers of Chinese sites often
    send a blanket ``charset=utf-8``/``ISO-8859-1`` for GB2312 files their CMS wrote with a
    correct declaration; a wrong guess either way is caught by the strict decode.
    """
    for bom, bom_codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                           (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(bom_codec, errors="replace"), bom_codec
    declared = _XML_DECL.match(body[:500])
    candidates = [codec_name(declared.group(1).decode("ascii")) if declared else None,
                  codec_name(http_charset), "utf-8"]
    is_ascii = body.isascii()
    tried: set[str] = set()
    for name in candidates:
        if not name or name in tried:
            continue
        tried.add(name)
        if _SINGLE_BYTE.match(name) and not is_ascii:
            continue
        try:
            return body.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(body).best()
    if best is not None:
        return str(best), codec_name(best.encoding) or best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities unescaped, paragraphs kept as lines."""
    if not html or not html.strip():
        return ""
    if "<" not in html and "&" not in html:
        return _tidy(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return _tidy(re.sub(r"<[^>]+>", " ", html))
    for bad in root.xpath(".//script|.//style|.//noscript"):
        bad.drop_tree()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif el.tag in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
            el.text = "\n" + (el.text or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    # \u3000 and \xa0 are how Chinese CMSs indent paragraphs; they carry no meaning.
    lines = (re.sub(r"[ \t\r\f\v\u3000\xa0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def parse_feed_date(value: str | None) -> datetime | None:
    """A feed date as timezone-aware UTC; dates without a zone are Beijing time (Asia/Shanghai)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    parsed: datetime | None = None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None and (m := _CN_DATE.match(value)):
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        try:
            parsed = datetime(y, mo, d, h, mi, s)
        except ValueError:
            parsed = None
    if parsed is None:
        # Last resort for the odd formats feedparser knows; it reads zone-less dates as UTC.
        st = feedparser_parse_date(value)
        if st is None:
            return None
        return _struct_to_utc(st)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(UTC)


def matches_keywords(keywords: Sequence[str], *texts: str) -> bool:
    """True when no keywords are set, or any keyword occurs in any text (case-insensitive)."""
    wanted = [k.strip().casefold() for k in keywords if k and k.strip()]
    if not wanted:
        return True
    haystack = "\n".join(texts).casefold()
    return any(k in haystack for k in wanted)


def _struct_to_utc(st: time.struct_time) -> datetime:
    return datetime(st.tm_year, st.tm_mon, st.tm_mday, st.tm_hour, st.tm_min, st.tm_sec,
                    tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, time.struct_time):
        return _struct_to_utc(value).isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _detail_text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key) or ""
    detail = entry.get(f"{key}_detail") or {}
    if "html" in str(detail.get("type", "")):
        return html_to_text(value)
    return _tidy(value)


def _entry_text(entry: Mapping[str, Any], title: str) -> str:
    # content:encoded / atom:content first: it is the full post, summary is often a teaser.
    for content in entry.get("content") or []:
        value = content.get("value") or ""
        text = html_to_text(value) if "plain" not in str(content.get("type", "")) else _tidy(value)
        if text:
            return text
    summary = html_to_text(entry.get("summary") or "")
    return summary or title


def _entry_author(entry: Mapping[str, Any], default: str) -> str:
    # RSS <author> is "email (Name)"; the name is what a duty officer recognises. Parsed here
    # because feedparser's e-mail pattern mangles long TLDs ("a@mail.example (X)" -> "ple (X").
    author = _tidy(str(entry.get("author") or ""))
    match = _EMAIL_NAME.match(author) or _NAME_EMAIL.match(author)
    if match:
        author = match.group("name").strip()
    elif not author:
        author = str((entry.get("author_detail") or {}).get("name") or "")
    return (author or default)[:MAX_AUTHOR]


def _external_id(entry: Mapping[str, Any], url: str, title: str, published: str) -> str:
    ident = str(entry.get("id") or "").strip() or url
    if not ident:
        # No guid and no link: identify by content so a re-crawl still matches.
        ident = "sha1:" + hashlib.sha1(f"{title}\n{published}".encode()).hexdigest()
    elif len(ident) > MAX_EXTERNAL_ID:
        ident = "sha1:" + hashlib.sha1(ident.encode()).hexdigest()
    return ident


def _entry(entry: Mapping[str, Any], base_url: str, default_author: str) -> FeedEntry:
    link = str(entry.get("link") or "").strip()
    url = web_url(urljoin(base_url, link)) if link else ""  # javascript:, data: ... are dropped
    title = _detail_text(entry, "title")
    text = _entry_text(entry, title)
    date_raw = ""
    for key in ("published", "updated", "created"):
        if entry.get(key):
            date_raw = str(entry[key])
            break
    return FeedEntry(
        external_id=_external_id(entry, url, title, date_raw),
        url=url[:MAX_URL],
        title=title.replace("\n", " ")[:MAX_TITLE],
        text=text,
        author=_entry_author(entry, default_author),
        published_at=parse_feed_date(date_raw),
        raw=json.dumps(_jsonable(entry), ensure_ascii=False),
    )


def parse_feed(body: bytes, *, url: str = "", content_type: str | None = None,
               default_author: str = "") -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom bytes; raise FeedError when the body is not a whole feed."""
    if not body.strip():
        raise FeedError(f"{INVALID_FEED}：响应为空")
    text, encoding = decode_feed_bytes(body, charset_from_content_type(content_type))
    # Hand feedparser UTF-8 with a matching declaration so it cannot second-guess the decoding.
    normalized = _XML_DECL_ANY.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    result = feedparser.parse(
        normalized.encode("utf-8"),
        response_headers={"content-type": "application/xml; charset=utf-8",
                          "content-location": url},
    )
    warnings: list[str] = []
    if not result.get("version"):
        kind = (content_type or "").split(";")[0].strip() or "未知类型"
        raise FeedError(f"{INVALID_FEED}：无法识别为订阅源（{kind}）")
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(problem, SAXException):
        where = f"第{problem.getLineNumber()}行" if hasattr(problem, "getLineNumber") else ""
        if not _ROOT_CLOSED.search(normalized):
            # A truncated download: the last entry would be stored half, so take none.
            raise FeedError(f"{INVALID_FEED}：文档不完整（{where} {problem.getMessage()}）")
        # Well-closed but sloppy XML (a raw & in a link ...): feedparser's lenient parser copes.
        warnings.append(f"XML 不规范，已宽松解析：{where} {problem.getMessage()}")
    feed_meta = result.get("feed") or {}
    entries = [_entry(e, url, default_author) for e in result.get("entries") or []]
    return ParsedFeed(version=str(result.get("version")), encoding=encoding,
                      title=_tidy(str(feed_meta.get("title") or "")), entries=entries,
                      warnings=warnings)


def filter_entries(entries: Iterable[FeedEntry], keywords: Sequence[str]) -> list[FeedEntry]:
    """Entries mentioning any keyword (all entries when there are no keywords)."""
    return [e for e in entries if matches_keywords(keywords, e.title, e.text)]
