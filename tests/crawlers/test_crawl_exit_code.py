"""`yuqing crawl` tells cron and supervisors when sources failed: a non-zero exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from crawl_helpers import FIXTURES, FeedServer, add_source, closed_port

from crawlers.run import failed_sources

REPO = Path(__file__).resolve().parents[2]
RSS = (FIXTURES / "zhanqian_rss.xml").read_bytes()


def yuqing_crawl() -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "crawl"], cwd=REPO, capture_output=True,
                          text=True, timeout=240)


def test_crawl_exits_non_zero_when_a_source_failed(db: sa.Engine, feed_server: FeedServer,
                                                  stored_log: Path) -> None:
    add_source(db, "站前街道动态", feed_server.serve(
        "/rss.xml", RSS, headers={"Content-Type": "application/rss+xml; charset=utf-8"}))
    ok = yuqing_crawl()
    assert ok.returncode == 0, ok.stderr[-3000:]

    add_source(db, "已关闭的网站", f"http://127.0.0.1:{closed_port()}/rss.xml")
    failed = yuqing_crawl()
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "1 个监测源抓取失败：已关闭的网站" in failed.stderr


def test_failed_sources_counts_errors_and_unanswered_sources() -> None:
    summary = {"sources": {"a": {"status": "ok"}, "b": {"status": "error"}, "c": {"status": "pending"},
                           "d": {"status": "not_modified"}, "e": {"status": "skipped"}}}
    assert failed_sources(summary) == ["b", "c"]
