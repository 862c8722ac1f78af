"""Scrapy settings, derived from core Settings (env YUQING_*) so every process agrees."""

from __future__ import annotations

import os

from core.config import get_settings
from core.redact import guard_loggers

_core = get_settings()
# Scrapy logs every request's URL; a feed's access key (RSSHub `?key=`) must not reach a log line.
guard_loggers("scrapy.core.engine", "scrapy.core.scraper", "scrapy.downloadermiddlewares.retry",
              "scrapy.downloadermiddlewares.redirect", "scrapy.spidermiddlewares.httperror",
              "crawlers.middlewares", "crawlers.pipelines")

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Identify ourselves honestly: site operators of government portals do look at logs.
USER_AGENT = _core.crawl_user_agent
DOWNLOAD_TIMEOUT = _core.crawl_timeout_seconds
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024  # a feed bigger than this is a misconfigured URL
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024

# Feeds are endpoints the office subscribed to, published for exactly this polling; portal
# robots.txt files often "Disallow: /" wholesale (aimed at search engines) and would block the
# feed too, and asking for robots.txt doubles the requests per poll. Spiders that walk pages
# (forums, 留言板) must set ROBOTSTXT_OBEY = True in their custom_settings.
ROBOTSTXT_OBEY = False

# Politeness: few parallel requests per site and a delay between them, adapted to latency.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50%, so polls do not arrive in lockstep
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# Per-site overrides go here, e.g. {"weibo.cn": {"concurrency": 1, "delay": 5.0}}.
DOWNLOAD_SLOTS: dict[str, dict[str, float]] = {}

# Transient failures are retried a few times before the source is marked failing.
# 418 is what some anti-bot gateways answer to a burst; it usually passes on a later try.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429, 418, 403]
# Each retry waits base * 2^(n-1) seconds (±25%), or the server's Retry-After, at most MAX.
YUQING_RETRY_BACKOFF_BASE = 2.0
YUQING_RETRY_BACKOFF_MAX = 60.0
DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.CredentialsMiddleware": 410,
    "crawlers.middlewares.BackoffMiddleware": 560,
}

COOKIES_ENABLED = False  # feeds need no session; login-based spiders enable it themselves
TELNETCONSOLE_ENABLED = False  # no listening debug port on an office machine

ITEM_PIPELINES = {"crawlers.pipelines.StorePipeline": 300}
# Items are stored in batches, one transaction each: when a batch is full, when its first item
# has waited this long, and when the spider closes (before source health and cursors are saved).
YUQING_STORE_BATCH_SIZE = 100
YUQING_STORE_FLUSH_SECONDS = 0.5
# Called with the ids of newly stored mentions after their transaction committed.
YUQING_ON_STORED = "worker.dispatch.enqueue_mentions"

LOG_LEVEL = "INFO"

# Scale-out: crawler processes on several machines share one Redis scheduler queue and
# dupefilter, so each page is fetched by one of them (see crawlers/README.md). Off unless a
# Redis URL for crawling is configured.
_crawl_redis = getattr(_core, "crawl_redis_url", "") or os.environ.get("YUQING_CRAWL_REDIS_URL", "")
if _crawl_redis:
    SCHEDULER = "scrapy_redis.scheduler.Scheduler"
    DUPEFILTER_CLASS = "crawlers.scaleout.RedisDupeFilter"
    SCHEDULER_PERSIST = True  # one process finishing must not wipe the others' queue/filter
    SCHEDULER_QUEUE_CLASS = "scrapy_redis.queue.PriorityQueue"
    REDIS_URL = _crawl_redis
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
