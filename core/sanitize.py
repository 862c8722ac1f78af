"""What untrusted text may carry into storage: no NUL characters or lone surrogates, links only to web pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

WEB_SCHEMES = ("http", "https")


def strip_nul(value: str) -> str:
    """Text without NUL characters (PostgreSQL refuses them in text; no person types one)."""
    return value.replace("\x00", "")


def repair_surrogates(value: str) -> str:
    """Text with surrogate halves paired up and a lone half replaced by U+FFFD.

    A JSON answer cut inside an emoji ("\\ud83d") decodes to a lone surrogate, which neither UTF-8
    nor a database accepts: refusing the whole post for it would lose it at every crawl.
    """
    if not any("\ud800" <= ch <= "\udfff" for ch in value):
        return value
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def web_url(value: str) -> str:
    """The URL if it is an http(s) link, else "" (javascript:, data:, file: ... are never stored).

    Control characters and whitespace that browsers ignore inside a scheme ("java\\tscript:")
    are removed before the scheme is read.
    """
    url = "".join(ch for ch in strip_nul(value).strip() if ch >= " " and ch != "\x7f")
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return ""
    return url


def _checked_web_url(value: str) -> str:
    if value.strip() and not web_url(value):
        raise ValueError("链接只能是 http:// 或 https:// 开头的网址")
    return web_url(value)


# The type of a link a person submits: empty, or an http(s) URL (anything else is a 422).
WebUrl = Annotated[str, AfterValidator(_checked_web_url)]
