"""Fixtures for the crawler tests (helpers live in crawl_helpers, a uniquely named module)."""

from crawl_helpers import db, feed_server, stored_log

__all__ = ["db", "feed_server", "stored_log"]
