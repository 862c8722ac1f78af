"""Downloader middlewares: credentials added at download time, retries that back off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

logger = logging.getLogger(__name__)


class CredentialsMiddleware:
    """Adds a source's cookies/tokens to its requests as they leave.

    They are looked up on the spider by source id, never carried in the request itself, so
    they do not reach the shared Redis queue, the logs or the stored evidence.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CredentialsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        source = request.cb_kwargs.get("source") or request.meta.get("yuqing_source")
        lookup = getattr(self.crawler.spider, "credentials_for", None)
        if source is None or lookup is None:
            return None
        creds: dict[str, Any] = lookup(source.id)
        if not creds:
            return None
        cookie_parts = [str(creds["cookie"]).strip()] if creds.get("cookie") else []
        cookie_parts += [f"{k}={v}" for k, v in (creds.get("cookies") or {}).items()]
        if cookie_parts:
            request.headers["Cookie"] = "; ".join(p for p in cookie_parts if p)
        for name, value in (creds.get("headers") or {}).items():
            request.headers[str(name)] = str(value)
        return None


class BackoffMiddleware:
    """Waits before each retry: exponential backoff with jitter, or the server's Retry-After.

    Sits just above RetryMiddleware (which re-schedules at once): process_response keeps a
    Retry-After for the retry copy, process_request of that copy sleeps.
    """

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler.settings.getfloat("YUQING_RETRY_BACKOFF_BASE", 2.0),
                   crawler.settings.getfloat("YUQING_RETRY_BACKOFF_MAX", 60.0))

    async def process_request(self, request: Request) -> None:
        tries = int(request.meta.get("retry_times") or 0)
        if tries <= 0 or self.base <= 0:
            return None
        delay = self.base * (2 ** (tries - 1)) * random.uniform(0.75, 1.25)
        retry_after = request.meta.get("yuqing_retry_after")
        if isinstance(retry_after, (int, float)) and retry_after > 0:
            delay = max(delay, float(retry_after))
        delay = min(delay, self.cap)
        logger.info("第 %d 次重试前等待 %.1f 秒: %s", tries, delay, request.url.split("?")[0])
        await asyncio.sleep(delay)
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        value = response.headers.get("Retry-After")
        if value:
            with contextlib.suppress(ValueError):
                request.meta["yuqing_retry_after"] = float(value.decode("latin-1"))
        return response
