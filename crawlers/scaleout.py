"""Shared dupefilter for several crawler processes on one Redis (scrapy-redis scheduler)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter
from w3lib.url import canonicalize_url

# Fingerprints live for one crawl round plus a margin, so a page that failed is tried again
# next round instead of being filtered for ever.
ROUND_SECONDS = 600
KEY_TTL_SECONDS = 24 * 3600


class RedisDupeFilter(RFPDupeFilter):
    """scrapy-redis' filter, keyed per crawl round and aware of content versions.

    ``YUQING_CRAWL_ROUND`` names the round (the scheduler passes one value to every process it
    starts); without it, processes started in the same 10-minute window share a round. A
    request's ``meta["yuqing_version"]`` (e.g. a forum thread's reply count) makes a changed
    page a new request while unchanged ones stay filtered.
    """

    crawl_round: str = ""

    @classmethod
    def from_spider(cls, spider: Any) -> RedisDupeFilter:
        df = super().from_spider(spider)
        assert isinstance(df, RedisDupeFilter)
        df.crawl_round = str(spider.settings.get("YUQING_CRAWL_ROUND") or int(time.time() // ROUND_SECONDS))
        return df

    def request_seen(self, request: Request) -> bool:
        seen = super().request_seen(request)
        if not seen:
            self.server.expire(self.key, KEY_TTL_SECONDS)
        return seen

    def request_fingerprint(self, request: Request) -> str:
        data = "\n".join([self.crawl_round, request.method, canonicalize_url(request.url),
                          (request.body or b"").hex(), str(request.meta.get("yuqing_version", ""))])
        return hashlib.sha1(data.encode()).hexdigest()
