"""Shared parsing helpers: Chinese counts and relative times, HTML decoding, defence detection.

Pure functions (no Scrapy, no database) so the rules are tested directly on real captures.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from charset_normalizer import from_bytes

from core.timeutil import SHANGHAI
from crawlers.feeds import codec_name, html_to_text, parse_feed_date

_COUNT = re.compile(r"^\s*([\d.,]+)\s*(万|w|W|亿|千|k|K)?\s*\+?\s*$")
_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "千": 1000, "k": 1000, "K": 1000}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)
_AGO = re.compile(r"^(\d+)\s*(秒|分钟|小时|天)前$")
_TODAY = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_SINGLE_BYTE = re.compile(r"^(latin_1|iso8859_\d+|cp125\d|ascii|cp437|mac_roman|koi8_r|windows_125\d)$")
_DAY_OFFSETS = {"今天": 0, "昨天": 1, "前天": 2}


def parse_count(value: Any) -> int:
    """Engagement numbers as sites print them: 18.8万, 100万+, 1,234, 3k, "" -> 0."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return max(int(value), 0)
    match = _COUNT.match(str(value))
    if not match:
        return 0
    try:
        number = float(match.group(1).replace(",", ""))
    except ValueError:
        return 0
    return round(number * _UNITS.get(match.group(2) or "", 1))


def parse_cn_time(value: Any, now: datetime) -> datetime | None:
    """A time as Chinese sites print it, as UTC; relative forms count back from ``now``.

    刚刚, 5分钟前, 3小时前, 今天 12:30, 昨天 08:00, 前天 21:51, 06-27 (this year, or last year
    when that would be in the future), 07-14 21:03, 16:09 (today), 2019-12, 2024-4-5 23:20:45,
    'Wed Mar 23 16:18:20 +0800 2022', unix seconds. Zone-less times are Beijing time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = int(value)
        if seconds > 10**11:  # milliseconds
            seconds //= 1000
        return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
    text = html.unescape(str(value)).replace("\xa0", " ").strip()
    text = re.sub(r"^(发表于|发布于|创建于|回复于)\s*", "", text)
    local_now = now.astimezone(SHANGHAI)
    if text in ("刚刚", "刚才"):
        return now.astimezone(UTC)
    if m := _AGO.match(text.replace(" ", "")):
        n, unit = int(m.group(1)), m.group(2)
        delta = {"秒": timedelta(seconds=n), "分钟": timedelta(minutes=n), "小时": timedelta(hours=n),
                 "天": timedelta(days=n)}[unit]
        return (now - delta).astimezone(UTC)
    if m := _TODAY.match(text):
        base = local_now - timedelta(days=_DAY_OFFSETS[m.group(1)])
        return base.replace(hour=int(m.group(2)), minute=int(m.group(3)), second=0,
                            microsecond=0).astimezone(UTC)
    if m := _CLOCK.match(text):
        t = local_now.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
        return t.astimezone(UTC)
    if m := _MONTH_DAY.match(text):
        month, day = int(m.group(1)), int(m.group(2))
        hour, minute = int(m.group(3) or 0), int(m.group(4) or 0)
        try:
            t = datetime(local_now.year, month, day, hour, minute, tzinfo=SHANGHAI)
        except ValueError:
            return None
        if t > local_now + timedelta(days=1):  # "12-30" read on 2 January is last year
            t = t.replace(year=t.year - 1)
        return t.astimezone(UTC)
    if m := _YEAR_MONTH.match(text):
        return datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=SHANGHAI).astimezone(UTC)
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        pass
    return parse_feed_date(text)


def decode_html(body: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Decode a page whatever its headers claim.

    UTF-8 is tried first, strictly: Chinese GBK text is practically never valid UTF-8, while
    servers and saved pages often mislabel one as the other (a GB2312 meta on UTF-8 bytes, a
    blanket ``charset=utf-8`` header on a GBK forum). Then the header, the meta tag, GB18030.
    """
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace"), "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    candidates = ["utf-8", codec_name(http_charset), codec_name(meta.group(1).decode("ascii")) if meta else None,
                  "gb18030"]
    tried: set[str] = set()
    for name in candidates:
        # Single-byte charsets decode any bytes, so a header naming one proves nothing.
        if not name or name in tried or _SINGLE_BYTE.match(name.replace("-", "_")):
            continue
        tried.add(name)
        try:
            return body.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(body).best()
    if best is not None:
        return str(best), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"


def load_json(body: bytes) -> Any:
    """JSON bytes in UTF-8 (what Discuz serves even when it says GBK), else GB18030."""
    text, _ = decode_html(body.strip())
    text = text.lstrip("\ufeff")
    # JSONP wrappers (callback({...});) are how some boards answer.
    if text and text[0] not in "{[":
        m = re.match(r"^[\w$.]+\s*\((.*)\)\s*;?\s*$", text, re.S)
        if m:
            text = m.group(1)
    return json.loads(text)


def complete_html(page: str) -> bool:
    """A whole HTML document reaches </body> or </html>; a cut-off download does not."""
    tail = page[-200000:].lower()
    return "</body>" in tail or "</html>" in tail


def plain_text(fragment: str) -> str:
    """Text of an HTML fragment (Weibo text, forum posts), lines kept."""
    return html_to_text(fragment or "")


# ----- defences ------------------------------------------------------------------------------------
LOGIN_URL = re.compile(
    r"passport\.weibo\.(?:cn|com)|login\.sina\.com\.cn|weibo\.com/(?:login|signup)|/visitor/visitor|"
    r"passport\.baidu\.com|wappass\.baidu\.com|member\.php\?mod=logging|mod=logging&action=login|"
    r"/(?:user/)?(?:login|signin|sign_in)(?:\.\w+)?(?:[/?#]|$)|[?&]mod=login",
    re.I,
)
CAPTCHA_URL = re.compile(r"verifycode|captcha|/wappass|antispider|seccode|security-check", re.I)
_CAPTCHA_TEXT = ("请输入验证码", "输入验证码", "安全验证", "百度安全验证", "环境异常", "完成验证后即可继续访问",
                 "访问过于频繁", "请完成下方验证", "人机验证", "滑动验证")
_LOGIN_TEXT = ("请先登录", "您需要登录", "登录后才能", "请登录后", "需要登录", "尚未登录", "登录超时", "to_login")


def classify_block(url: str, text: str = "") -> tuple[str, str] | None:
    """(health, reason) when a response is a login or captcha wall, else None.

    Called only when the expected content is missing, so a post that merely mentions
    "验证码" is not mistaken for a wall.
    """
    if CAPTCHA_URL.search(url):
        return "captcha", f"跳转到验证码页面（{_short(url)}）"
    if LOGIN_URL.search(url):
        return "login_expired", f"跳转到登录页面（{_short(url)}）"
    sample = text[:20000]
    for phrase in _CAPTCHA_TEXT:
        if phrase in sample:
            return "captcha", f"页面要求验证（“{phrase}”）"
    for phrase in _LOGIN_TEXT:
        if phrase in sample:
            return "login_expired", f"页面要求登录（“{phrase}”）"
    return None


def _short(url: str) -> str:
    return url.split("?")[0][:120]
