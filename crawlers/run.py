"""Run a crawl of the monitoring sources and return a per-source summary.

``run_crawl`` runs Scrapy in THIS process (a Twisted reactor can start only once per process,
so call it at most once: from the CLI or a cron job). ``run_crawl_subprocess`` runs the CLI in
a child process and is what long-lived processes such as Celery workers must use.

CLI: ``python -m crawlers.run [--source NAME ...] [--set KEY=VALUE ...] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from core.db import session_scope
from core.sources import service as source_service
from crawlers.report import ERROR, PENDING
from crawlers.spiders.base import SourceSpider
from crawlers.spiders.board import BoardSpider
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.forum import ForumSpider
from crawlers.spiders.news import NewsSpider
from crawlers.spiders.wechat import WechatSpider
from crawlers.spiders.weibo import WeiboSpider

# One spider per Source.kind.
SPIDERS_BY_KIND: dict[str, type[SourceSpider]] = {
    spider.source_kind: spider
    for spider in (FeedSpider, WeiboSpider, WechatSpider, ForumSpider, BoardSpider, NewsSpider)
}

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_COUNTERS = ("fetched", "filtered", "new", "duplicate", "rejected", "store_failed", "pages_failed")


class CrawlError(RuntimeError):
    """The crawl process itself failed (not a single source); ``stderr`` holds its log tail."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


def build_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """crawlers.settings plus overrides (same priority as ``scrapy -s``)."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    if overrides:
        settings.setdict(dict(overrides), priority="cmdline")
    return settings


def _error_entry(message: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"source_id": None, "status": "error", "http_status": None,
                             "errors": [message], "warnings": []}
    entry.update(dict.fromkeys(_COUNTERS, 0))
    return entry


def plan_crawl(source_names: Sequence[str] | None) -> tuple[dict[str, list[str]],
                                                            dict[str, dict[str, Any]]]:
    """Group the sources to crawl by kind; names that cannot be crawled get an error entry."""
    plan: dict[str, list[str]] = {}
    problems: dict[str, dict[str, Any]] = {}
    with session_scope() as session:
        if source_names is None:
            # Kinds without a spider yet (issue #4) are simply not crawled.
            for source in source_service.get_all(session=session, enabled_only=True):
                if source.kind in SPIDERS_BY_KIND:
                    plan.setdefault(source.kind, []).append(source.name)
        else:
            for name in dict.fromkeys(source_names):  # de-duplicated, order kept
                row = source_service.get_by_name(session=session, name=name)
                if row is None:
                    problems[name] = _error_entry("未找到该监测源")
                elif row.kind not in SPIDERS_BY_KIND:
                    problems[name] = _error_entry(f"暂不支持抓取此类监测源：{row.kind}")
                else:
                    plan.setdefault(row.kind, []).append(name)
    return plan, problems


def run_crawl(source_names: list[str] | None = None, *,
              settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Crawl the named sources (default: all enabled ones with a spider) in this process.

    Returns ``{"sources": {name: {status, http_status, fetched, filtered, new, duplicate,
    rejected, store_failed, errors, warnings, source_id}}, "totals": {...}, "spiders":
    {spider: finish_reason}, "elapsed_seconds": float}``. A failing source is reported in its
    entry (status "error" with reasons); it never makes this function raise.
    """
    started = time.monotonic()
    plan, sources = plan_crawl(source_names)
    crawlers: list[tuple[Crawler, list[str]]] = []
    if plan:
        process = CrawlerProcess(build_settings(settings))
        for kind, names in plan.items():
            crawler = process.create_crawler(SPIDERS_BY_KIND[kind])
            process.crawl(crawler, sources=names)
            crawlers.append((crawler, names))
        process.start()
    spiders: dict[str, Any] = {}
    for crawler, names in crawlers:
        spider = crawler.spider
        if isinstance(spider, SourceSpider):
            sources.update(spider.report.to_dict())
        spiders[crawler.spidercls.name] = (
            crawler.stats.get_value("finish_reason") if crawler.stats else None)
        for name in names:
            # The spider died before reporting this source (e.g. database unreachable).
            sources.setdefault(name, _error_entry("未抓取：爬虫异常结束，见日志"))
    totals = {key: sum(int(s.get(key) or 0) for s in sources.values()) for key in _COUNTERS}
    totals["errors"] = sum(len(s.get("errors") or []) for s in sources.values())
    return {"sources": sources, "totals": totals, "spiders": spiders,
            "elapsed_seconds": round(time.monotonic() - started, 3)}


def failed_sources(summary: Mapping[str, Any]) -> list[str]:
    """Names of the sources this crawl did not fetch: an error, or no answer before the crawl ended."""
    return [name for name, entry in summary.get("sources", {}).items()
            if entry.get("status") in (ERROR, PENDING)]


def _setting_arg(key: str, value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return f"{key}={text}"


def run_crawl_subprocess(source_names: Iterable[str] | None = None, *, timeout: float = 900.0,
                         settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run ``python -m crawlers.run --json`` in a child process and return its summary.

    The child inherits the environment (YUQING_DATABASE_URL ...) and working directory. On
    timeout the child gets SIGTERM (Scrapy then stops gracefully and records what it fetched),
    then SIGKILL, and CrawlError is raised; so it is when the child exits non-zero.
    """
    cmd = [sys.executable, "-m", "crawlers.run", "--json"]
    for name in source_names or []:
        cmd += ["--source", name]
    for key, value in (settings or {}).items():
        cmd += ["--set", _setting_arg(key, value)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH"))
                                        if p)
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True, encoding="utf-8", errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise CrawlError(f"抓取超时（{timeout:g} 秒），已终止子进程", stderr=err[-5000:]) from None
    if proc.returncode != 0:
        raise CrawlError(f"抓取子进程退出码 {proc.returncode}", stderr=err[-5000:])
    lines = [line for line in out.splitlines() if line.strip()]
    try:
        summary = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise CrawlError(f"抓取子进程没有输出 JSON 摘要：{exc}", stderr=err[-5000:]) from exc
    if not isinstance(summary, dict):
        raise CrawlError("抓取子进程的摘要不是 JSON 对象", stderr=err[-5000:])
    return summary


def _parse_set(values: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"--set 需要 KEY=VALUE：{value!r}")
        overrides[key.strip()] = text
    return overrides


def _print_table(summary: dict[str, Any]) -> None:
    print(f"{'监测源':<24} {'状态':<13} {'获取':>5} {'新增':>5} {'重复':>5} {'丢弃':>5}  错误")
    for name, s in summary["sources"].items():
        print(f"{name:<24} {s['status']:<13} {s['fetched']:>5} {s['new']:>5} "
              f"{s['duplicate']:>5} {s['rejected']:>5}  {'；'.join(s['errors'])}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.run", description="抓取监测源")
    parser.add_argument("--source", action="append", dest="sources", metavar="NAME",
                        help="只抓取该监测源（可重复）；缺省抓取全部已启用的监测源")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="覆盖 Scrapy 设置，如 --set DOWNLOAD_DELAY=0")
    parser.add_argument("--json", action="store_true", help="在标准输出打印 JSON 摘要（一行）")
    args = parser.parse_args(argv)
    try:
        overrides = _parse_set(args.set)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    summary = run_crawl(args.sources, settings=overrides)
    if args.json:
        # Scrapy logs to stderr, so stdout carries only this line; failed sources are in it, and the
        # exit code stays 0 (run_crawl_subprocess reads a non-zero code as the process dying).
        print(json.dumps(summary, ensure_ascii=False, default=str), flush=True)
        return 0
    _print_table(summary)
    return 1 if failed_sources(summary) else 0


if __name__ == "__main__":
    sys.exit(main())
