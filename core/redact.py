"""Secrets are write-only: one helper masks them wherever a value leaves the store.

Robot keys (WeCom `key=`, DingTalk `access_token=`), SMTP passwords in `smtp://user:pass@host`,
webhook URLs that carry a token in their path, DingTalk/webhook signing secrets and source
credentials are stored and used as a request leaves, and shown only as `…abcd`: never in an
API response, an audit row or a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

ELLIPSIS = "…"
# Query parameters and keys whose values are secrets (compared lower-case, "-" as "_").
SECRET_NAMES = frozenset({
    "key", "access_token", "token", "secret", "sign", "signature", "sig", "password", "passwd", "pass",
    "pwd", "apikey", "api_key", "app_secret", "appsecret", "auth", "authorization", "cookie", "cookies",
    "credentials", "sessionid", "client_secret", "private_token", "webhook_key", "refresh_token",
    "id_token", "headers", "smtp_password",
})
_SECRET_SUFFIXES = ("_token", "_secret", "_password", "api_key", "access_key", "secret_key", "private_key",
                    "app_key")
# A path segment that looks like a token (Feishu/Slack/Teams-style hook URLs put the key there).
_TOKENISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-.=~]{16,}$|^[0-9a-fA-F-]{24,}$")
_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>，。；）)\]]+""")


def mask(value: str) -> str:
    """`…abcd`: the last four characters of a long secret, nothing of a short one."""
    if not value:
        return ""
    return ELLIPSIS + value[-4:] if len(value) >= 12 else ELLIPSIS


def is_secret_name(name: str) -> bool:
    """Whether a parameter or field of this name holds a secret."""
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES)


def redact_url(url: str) -> str:
    """The URL with its password, secret query values and token-like path segments masked."""
    if not url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return mask(url)
    netloc = host if ":" not in host else f"[{host}]"
    if port:
        netloc = f"{netloc}:{port}"
    if parts.username:
        user = quote(unquote(parts.username), safe="")
        netloc = f"{user}:{mask(unquote(parts.password or ''))}@{netloc}" if parts.password \
            else f"{user}@{netloc}"
    segments = [mask(s) if _TOKENISH.match(s) else s for s in parts.path.split("/")]
    query = "&".join(f"{k}={mask(v) if is_secret_name(k) or _TOKENISH.match(v) else v}" if v or "=" in k
                     else k for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, ""))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (an error message, a log line) with URLs redacted and the given secrets masked."""
    if not text:
        return text
    out = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        out = out.replace(secret, mask(secret))
    return out


def redact_value(value: Any, name: str = "") -> Any:
    """A JSON-like value with secrets masked: by field name, and URLs wherever they appear."""
    if name and is_secret_name(name) and value not in (None, "", {}, []):
        if isinstance(value, str):
            return mask(value)
        return ELLIPSIS  # a dict of cookies or headers: say only that something is set
    if isinstance(value, Mapping):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_text(value)
    return value


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """A dict (an audit row's before/after) with every secret masked."""
    return {k: redact_value(v, k) for k, v in values.items()}


def url_secrets(url: str) -> list[str]:
    """The secret parts of a URL (password, secret query values, token-like path segments)."""
    if not url or "://" not in url:
        return []
    try:
        parts = urlsplit(url)
        found = [unquote(parts.password)] if parts.password else []
    except ValueError:
        return [url]
    found += [s for s in parts.path.split("/") if _TOKENISH.match(s)]
    found += [v for k, v in parse_qsl(parts.query) if v and (is_secret_name(k) or _TOKENISH.match(v))]
    return found


# A secret query value in a bare path (an access log line has no scheme: "GET /x?token=... HTTP/1.1").
_PATH_QUERY_SECRET = re.compile(r"([?&]([A-Za-z_][A-Za-z0-9_-]*)=)([^&\s\"'#]+)")


def _mask_path_queries(text: str) -> str:
    return _PATH_QUERY_SECRET.sub(
        lambda m: m.group(1) + mask(m.group(3)) if is_secret_name(m.group(2)) else m.group(0), text)


def _clean(text: str) -> str:
    return _mask_path_queries(redact_text(text))


class RedactingFilter(logging.Filter):
    """Masks URLs' keys and passwords in a logger's records (httpx logs every request's URL, the
    server's access log every path with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _handled(record):
            # No handler will write it (Scrapy's "Scraped from" DEBUG line under an INFO log):
            # nothing can leak, and formatting it (a whole item, pretty-printed) costs ~1 ms.
            return True
        if isinstance(record.args, tuple) and record.args:
            # Clean each argument and keep the tuple: a formatter may unpack it (uvicorn's access
            # log reads client, method, path, version and status from record.args).
            record.args = tuple(self._clean_arg(a) for a in record.args)
            if isinstance(record.msg, str):
                record.msg = _clean(record.msg)
            return True
        message = record.getMessage()
        cleaned = _clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True

    @staticmethod
    def _clean_arg(value: Any) -> Any:
        if isinstance(value, int | float | bool) or value is None:
            return value
        text = str(value)  # an httpx.URL too
        cleaned = _clean(text)
        return value if cleaned == text else cleaned


def _handled(record: logging.LogRecord) -> bool:
    """Whether a handler will take the record: Logger.callHandlers' walk up the hierarchy
    (logging.lastResort when there is no handler at all)."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    seen = False
    while logger is not None:
        for handler in logger.handlers:
            seen = True
            if record.levelno >= handler.level:
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    if seen:
        return False
    last = logging.lastResort
    return last is None or record.levelno >= last.level


_FILTER = RedactingFilter()


def guard_loggers(*names: str) -> None:
    """Install the filter on these loggers once (records of their children propagate through
    handlers, not logger filters, so each logger that logs URLs is named)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
