"""Benchmark the whole pipeline on PostgreSQL: a local feed, the real spider, the real Celery worker on Redis.

    python benchmarks/pipeline.py [--n 1000] [--stored 1000000] [--probe 200] [--concurrency 2]
                                  [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                  [--redis-url URL] [--per-feed 250] [--phases store,crawl,e2e,history] [--keep]

N real texts (citizen messages of the 2020 泰迪杯 C题 附件3 and Weibo posts about Fuzhou, interleaved,
from /work/shared/realdata) are served as RSS 2.0 feeds by a local HTTP server (dated just before the
run, as a feed being polled serves them), crawled by `python -m crawlers.run` in a child process (as
the app crawls), stored by the spider's StorePipeline and processed by a real `celery worker` process
on Redis (a private redis-server unless --redis-url is given) and a PostgreSQL database of its own,
created and dropped by this script (one per phase). Phases, each on a fresh database:

- store: the StorePipeline alone, in this process, on the parsed items (no enqueue hook);
- crawl+store, then processing: the crawl with no worker running, then a worker drains the queue;
- end-to-end: a worker is ready, then the crawl starts; until every mention is analyzed;
- history: the cost per mention (a probe of --probe texts processed by the worker) with 10k and
  with --stored mentions already stored, history filled with set-based SQL (INSERT ... SELECT
  generate_series) shaped as the pipeline makes it (analyzed mentions with seen_at and the real
  SimHash bands of 2,000 real texts other than the probe's, events of ~2.7 mentions, spread over
  the last year).

`jieba.lcut` runs on the same texts (title + text) in the same run. The LAST line is
`ratio X`: end-to-end mentions/s ÷ jieba texts/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REALDATA = Path("/work/shared/realdata/datasets")
MESSAGES = REALDATA / "taidi2020_C_zhihui_zhengwu" / "fujian3_full4326_hotspot_unlabeled.clean.csv"
WEIBO = REALDATA / "fuzhou_12345_liuyan_weibo_timeofmei" / "weibo_search_fuzhou_env_keywords_3707.csv"
SECRET = "pipeline-benchmark-secret-key-0123456789abcdef"


@dataclass(frozen=True)
class Text:
    title: str
    text: str
    author: str


def load_texts(n: int) -> list[Text]:
    """Citizen messages and Weibo posts, interleaved; whitespace runs collapsed."""
    def clean(value: str) -> str:
        return re.sub(r"\s+", " ", value or "").strip()

    with MESSAGES.open(encoding="utf-8") as fh:
        messages = [Text(clean(r["留言主题"]), clean(r["留言详情"]), clean(r["留言用户"]))
                    for r in csv.DictReader(fh) if clean(r.get("留言详情", ""))]
    with WEIBO.open(encoding="utf-8") as fh:
        posts = [Text(clean(r["微博正文"])[:40], clean(r["微博正文"]), clean(r["用户昵称"]))
                 for r in csv.DictReader(fh) if clean(r.get("微博正文", ""))]
    mixed = [t for pair in zip(messages, posts, strict=False) for t in pair]
    if n > len(mixed):
        raise SystemExit(f"--n {n}: only {len(mixed)} texts available")
    return mixed[:n]


def rss(texts: list[Text], offset: int, tag: str, now: datetime) -> bytes:
    """An RSS 2.0 feed of these texts (guid and link unique per text and per `tag`)."""
    items = []
    for i, t in enumerate(texts, start=offset):
        published = now - timedelta(seconds=30 + i)
        items.append(
            f"<item><title>{escape(t.title)}</title>"
            f"<link>https://liuyan.bench.example.gov.cn/{tag}/thread/{i}.html</link>"
            f'<guid isPermaLink="false">{tag}-{i}</guid>'
            f"<author>{escape(t.author)}</author>"
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{escape(t.text)}</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>留言板 {tag}</title><link>https://liuyan.bench.example.gov.cn/</link>"
            f"<description>benchmark feed</description>{''.join(items)}</channel></rss>").encode()


class FeedServer:
    """Serves /<tag>/<k>.xml from memory on a free loopback port."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, tag: str, texts: list[Text], per_feed: int, now: datetime) -> list[str]:
        urls = []
        for k, start in enumerate(range(0, len(texts), per_feed)):
            path = f"/{tag}/{k}.xml"
            self.routes[path] = rss(texts[start:start + per_feed], start, tag, now)
            urls.append(self.base + path)
        return urls

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: pass --redis-url")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.05)
    client.close()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Databases:
    """Fresh PostgreSQL databases of this run, migrated; all dropped at the end."""

    def __init__(self, admin_url: str, keep: bool) -> None:
        import sqlalchemy as sa

        from core.config import normalize_database_url

        self.base = sa.make_url(normalize_database_url(admin_url))
        self.admin = sa.create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []
        self.keep = keep

    def create(self, tag: str) -> str:
        import sqlalchemy as sa

        from core import migrate

        name = f"yuqing_pbench_{os.getpid()}_{tag}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        url = self.base.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        return url

    def drop_all(self) -> None:
        import sqlalchemy as sa

        if self.keep:
            print(f"kept databases: {', '.join(self.created)}")
            return
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def use_database(url: str) -> None:
    """Point this process's core.db at `url` (the children get it through the environment)."""
    from core.config import get_settings
    from core.db import reset_engine

    os.environ["YUQING_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()


def add_sources(urls: list[str], tag: str) -> list[str]:
    from core.db import session_scope
    from core.sources import service as sources
    from core.sources.models import SourceCreate

    names = []
    with session_scope() as session:
        for k, url in enumerate(urls):
            name = f"留言板-{tag}-{k}"
            sources.create(session=session, source_in=SourceCreate(
                name=name, kind="feed", channel="board", url=url))
            names.append(name)
    return names


def counts() -> tuple[int, int, int]:
    """(stored, analyzed, failed) mentions."""
    import sqlalchemy as sa

    from core.db import get_engine

    with get_engine().connect() as conn:
        row = conn.execute(sa.text(
            "SELECT count(*), count(*) FILTER (WHERE analyzed_at IS NOT NULL AND event_id IS NOT NULL),"
            " count(*) FILTER (WHERE analyzed_at IS NULL AND process_error <> '') FROM mention")).one()
    return int(row[0]), int(row[1]), int(row[2])


CRAWL_SETTINGS = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
                  "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "LOG_LEVEL": "WARNING"}


def crawl(names: list[str]) -> tuple[float, dict[str, Any]]:
    """`python -m crawlers.run --json` in a child process (as the app runs it): (seconds, summary)."""
    from crawlers.run import run_crawl_subprocess

    t0 = time.perf_counter()
    summary = run_crawl_subprocess(names, settings=CRAWL_SETTINGS, timeout=3600)
    return time.perf_counter() - t0, summary


class Worker:
    """A real `celery worker` process (prefork, --concurrency), with its RSS sampled."""

    def __init__(self, workdir: Path, tag: str, concurrency: int) -> None:
        self.log_path = workdir / f"worker-{tag}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
             "--hostname", f"pbench-{os.getpid()}-{tag}@%h"],
            cwd=ROOT, env=child_env(), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.peak_process = 0  # largest RSS of one process (main or pool child), bytes
        self.peak_total = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            sizes = [rss_bytes(pid) for pid in [self.proc.pid, *descendants(self.proc.pid)]]
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_total = max(self.peak_total, sum(sizes))
            self._stop.wait(0.2)

    def wait_ready(self, timeout: float = 120) -> float:
        """Seconds until Celery logs `ready.` (its consumers are up)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"worker exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return time.perf_counter() - t0
            time.sleep(0.1)
        raise SystemExit("worker not ready in time")

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self._log.close()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Child processes (recursively) of `pid`, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def wait_all_analyzed(expected: int, timeout: float, on_tick: Callable[[], None] | None = None) -> float:
    """Block until `expected` mentions are analyzed (or failed); returns perf_counter at that moment."""
    deadline = time.perf_counter() + timeout
    while True:
        stored, analyzed, failed = counts()
        if analyzed + failed >= expected:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise SystemExit(f"timeout: {analyzed} of {expected} analyzed ({failed} failed, {stored} stored)")
        if on_tick:
            on_tick()
        time.sleep(0.1)


def check_crawl(summary: dict[str, Any], expected: int) -> None:
    totals = summary.get("totals", {})
    stored = counts()[0]
    if stored != expected or totals.get("errors"):
        raise SystemExit(f"crawl stored {stored} of {expected}: {json.dumps(totals, ensure_ascii=False)}")


def bench_jieba(texts: list[Text]) -> float:
    """jieba texts/s on title + text, best of three passes after a warm-up."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    docs = [f"{t.title}\n{t.text}" for t in texts]
    for d in docs[:50]:
        jieba.lcut(d)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for d in docs:
            jieba.lcut(d)
        best = min(best, time.perf_counter() - t0)
    return len(docs) / best


def feed_items(texts: list[Text], tag: str, source_id: int, now: datetime) -> list[Any]:
    """The MentionItems the FeedSpider yields for these texts (parsed from the same RSS bytes)."""
    from crawlers.feeds import parse_feed
    from crawlers.items import MentionItem

    feed = parse_feed(rss(texts, 0, tag, now), url="https://liuyan.bench.example.gov.cn/feed.xml",
                      content_type="application/rss+xml")
    return [MentionItem(source_id=source_id, channel="board", external_id=e.external_id, url=e.url,
                        title=e.title, text=e.text, author=e.author, published_at=e.published_at,
                        raw=e.raw) for e in feed.entries]


def store_items(items: list[Any], hook: Any = "") -> float:
    """Run the StorePipeline in this process over `items`: seconds."""
    from scrapy.utils.test import get_crawler

    from crawlers.pipelines import StorePipeline
    from crawlers.spiders.feed import FeedSpider

    crawler = get_crawler(FeedSpider, {"YUQING_ON_STORED": hook})
    crawler.spider = FeedSpider.from_crawler(crawler)
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    t0 = time.perf_counter()
    for item in items:
        pipeline.process_item(item)
    close = getattr(pipeline, "close_spider", None)
    if close is not None:
        close()
    return time.perf_counter() - t0


HISTORY_TEXTS = 2000  # distinct real texts the history repeats
HISTORY_TOPICS = ["safety", "environment", "traffic", "housing", "labor", "health", "education",
                  "public_order", "other"]


def history_hashes(texts: list[Text]) -> list[int]:
    """The SimHash the pipeline gives each text (real texts cluster: their bands are far from uniform)."""
    from core.analysis import analyze

    return [int(analyze(t.text, title=t.title).simhash) for t in texts]


def fill_history(stored: int, texts: list[Text], hashes: list[int], *, chunk: int = 200_000) -> float:
    """`stored` analyzed mentions (and their events, ~2.7 mentions each) over the last year, set-based.

    Mention g carries text g mod len(texts) and that text's real SimHash and bands, so the
    near-duplicate look-up meets as many band collisions as a store of real posts.
    """
    import sqlalchemy as sa

    from core.db import get_engine, session_scope
    from core.sources import service as sources
    from core.sources.models import SourceCreate

    t0 = time.perf_counter()
    n_events = max(1, round(stored / 2.7))
    span = 365 * 86400.0
    titles = [t.title[:200] for t in texts]
    bodies = [t.text[:2000] for t in texts]
    bands = [[(h >> (16 * i)) & 0xFFFF for h in hashes] for i in range(4)]
    hexes = [f"{h:016x}" for h in hashes]
    engine = get_engine()
    with session_scope() as session:
        source = sources.create(session=session, source_in=SourceCreate(
            name="历史数据", kind="feed", channel="weibo", url="https://history.bench.example/feed.xml"))
        source_id = source.id
    with engine.begin() as conn:
        first_event = conn.execute(sa.text("SELECT COALESCE(max(id), 0) + 1 FROM event")).scalar_one()
        # Events: seen times spread over the year, ending an hour before now.
        conn.execute(sa.text(
            "WITH p AS (SELECT CAST(:titles AS text[]) AS titles, CAST(:topics AS text[]) AS topics,"
            "                  CAST(:n AS int) AS n, CAST(:step AS float8) AS step)"
            " INSERT INTO event (title, topic, grade, status, created_at, updated_at, first_seen_at,"
            " last_seen_at, mention_count, engagement, heat, negative_count, relevant, max_risk, grade_score,"
            " grade_reason, topics, places, sensitive_terms, channels, story_bigrams)"
            " SELECT left(titles[1 + g % cardinality(titles)], 120), topics[1 + g % cardinality(topics)],"
            " CASE WHEN g % 50 = 0 THEN 'III' WHEN g % 7 = 0 THEN 'IV' END, 'open',"
            " t, t, t, t + interval '3 hours', 3, g % 97, 0, g % 3, g % 4 = 0, (g % 10) / 10.0, 0, '',"
            " json_build_array(topics[1 + g % cardinality(topics)]), '[]', '[]', '[\"weibo\"]', '[]'"
            " FROM p, LATERAL (SELECT g, now() - interval '1 hour' - make_interval(secs => (p.n - g) * p.step) AS t"
            "                  FROM generate_series(1, p.n) AS g) s"),
            {"titles": titles, "topics": HISTORY_TOPICS, "n": n_events, "step": span / n_events})
    for start in range(1, stored + 1, chunk):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "WITH p AS (SELECT CAST(:titles AS text[]) AS titles, CAST(:bodies AS text[]) AS bodies,"
                "                  CAST(:topics AS text[]) AS topics, CAST(:stored AS bigint) AS stored,"
                "                  CAST(:n_events AS bigint) AS n_events, CAST(:first_event AS bigint) AS first_event,"
                "                  CAST(:step AS float8) AS step, CAST(:source AS int) AS source,"
                "                  CAST(:hexes AS text[]) AS hexes, CAST(:b0 AS int[]) AS b0s,"
                "                  CAST(:b1 AS int[]) AS b1s, CAST(:b2 AS int[]) AS b2s, CAST(:b3 AS int[]) AS b3s)"
                " INSERT INTO mention (channel, external_id, url, title, text, author, published_at, likes,"
                " reposts, comments, views, source_id, url_fingerprint, created_at, fetched_at, seen_at, raw,"
                " raw_sha256, contact, analyzed_at, process_attempts, process_error, enqueued_at, label_topic,"
                " analyzer_version, topics, topic_scores, sentiment, sentiment_score, places, relevant, risk,"
                " sensitive_terms, simhash, simhash_b0, simhash_b1, simhash_b2, simhash_b3, event_id)"
                " SELECT 'weibo', 'hist-' || g, 'https://history.bench.example/p/' || g,"
                " titles[i], bodies[i], '网友',"
                " t, g % 13, g % 5, g % 7, 0, source, md5('hist-' || g), t, t, t, '', '', '',"
                " t + interval '1 minute', 1, '', NULL, '', 'bench',"
                " json_build_array(topics[1 + g % cardinality(topics)]), '{}',"
                " CASE WHEN g % 3 = 0 THEN 'negative' ELSE 'neutral' END, 0, '[]', g % 4 = 0, (g % 10) / 10.0,"
                " '[]', hexes[i], b0s[i], b1s[i], b2s[i], b3s[i], first_event + (g - 1) * n_events / stored"
                " FROM p, LATERAL (SELECT g::bigint AS g, 1 + (g % cardinality(p.titles))::int AS i,"
                "     now() - interval '1 hour' - make_interval(secs => (p.stored - g) * p.step) AS t"
                "     FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS g) s"),
                {"titles": titles, "bodies": bodies, "topics": HISTORY_TOPICS, "source": source_id,
                 "hexes": hexes, "b0": bands[0], "b1": bands[1], "b2": bands[2], "b3": bands[3],
                 "first_event": first_event, "n_events": n_events, "stored": stored,
                 "step": span / stored, "start": start, "stop": min(stored, start + chunk - 1)})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE mention"))
        conn.execute(sa.text("VACUUM ANALYZE event"))
    return time.perf_counter() - t0


def probe_cost(workdir: Path, tag: str, probe: list[Text], warm: list[Text], concurrency: int,
               now: datetime) -> tuple[float, int]:
    """Store the probe texts, start a worker, warm it up (models loaded in every pool process) on
    other texts, then queue the probe and time it through: (ms per mention, worker RSS peak)."""
    import sqlalchemy as sa

    from core.db import get_engine, session_scope
    from core.sources import service as sources
    from core.sources.models import SourceCreate
    from worker.dispatch import enqueue_mentions

    def store(name: str, texts: list[Text]) -> list[int]:
        with session_scope() as session:
            src = sources.create(session=session, source_in=SourceCreate(
                name=name, kind="feed", channel="board", url=f"https://{tag}.bench.example/{len(name)}.xml"))
            source_id = src.id
        store_items(feed_items(texts, f"{name}-{tag}", int(source_id or 0), now))
        with get_engine().connect() as conn:
            return [int(i) for i in conn.execute(
                sa.text("SELECT id FROM mention WHERE source_id = :s ORDER BY id"), {"s": source_id}).scalars()]

    warm_ids, probe_ids = store(f"预热-{tag}", warm), store(f"探针-{tag}", probe)
    stored, analyzed, failed = counts()
    worker = Worker(workdir, tag, concurrency)
    try:
        worker.wait_ready()
        enqueue_mentions(warm_ids)
        wait_all_analyzed(analyzed + failed + len(warm_ids), timeout=600)
        t0 = time.perf_counter()
        enqueue_mentions(probe_ids)
        t1 = wait_all_analyzed(stored, timeout=3600)
    finally:
        worker.stop()
    return (t1 - t0) * 1000 / len(probe_ids), worker.peak_process


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


PHASES = ("store", "crawl", "e2e", "history")


@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    dbs: Databases
    server: FeedServer
    texts: list[Text]
    now: datetime
    rss_peak: int = 0
    rss_total: int = 0


def phase_store(run: Run) -> float:
    """The StorePipeline alone, in this process, on the parsed items (no enqueue hook)."""
    from core.db import session_scope
    from core.sources import service as sources

    use_database(run.dbs.create("store"))
    names = add_sources(["https://liuyan.bench.example.gov.cn/store.xml"], "store")
    with session_scope() as session:
        src = sources.get_by_name(session=session, name=names[0])
        assert src is not None and src.id is not None
        source_id = src.id
    items = feed_items(run.texts, "store", source_id, run.now)
    seconds = store_items(items)
    if counts()[0] != len(run.texts):
        raise SystemExit(f"store step stored {counts()[0]} of {len(run.texts)}")
    rate = len(run.texts) / seconds
    print(f"store step alone (StorePipeline, in process, no enqueue): {rate:.0f} mentions/s")
    return rate


def phase_crawl(run: Run) -> float:
    """Crawl+store with no worker running, then a worker drains the queue; processing mentions/s."""
    n = len(run.texts)
    use_database(run.dbs.create("iso"))
    names = add_sources(run.server.publish("iso", run.texts, run.args.per_feed, run.now), "iso")
    crawl_s, summary = crawl(names)
    check_crawl(summary, n)
    inner = float(summary.get("elapsed_seconds") or crawl_s)
    print(f"crawl+store (child process incl. start-up, enqueue to Redis): {n / crawl_s:.1f} mentions/s"
          f" ({crawl_s:.1f} s for {n}; {n / inner:.1f} mentions/s over the {inner:.1f} s the crawl itself took)")
    worker = Worker(run.workdir, "iso", run.args.concurrency)
    try:
        worker.wait_ready()
        t0 = time.perf_counter()
        t1 = wait_all_analyzed(n, timeout=7200)
    finally:
        worker.stop()
    run.rss_peak, run.rss_total = max(run.rss_peak, worker.peak_process), max(run.rss_total, worker.peak_total)
    rate = n / (t1 - t0)
    print(f"processing (worker ready → all analyzed): {rate:.1f} mentions/s ({t1 - t0:.1f} s; {counts()[2]} failed)")
    return rate


def phase_e2e(run: Run) -> float:
    """A worker is waiting, the crawl starts; mentions/s until every one is analyzed."""
    n = len(run.texts)
    use_database(run.dbs.create("e2e"))
    names = add_sources(run.server.publish("e2e", run.texts, run.args.per_feed, run.now), "e2e")
    worker = Worker(run.workdir, "e2e", run.args.concurrency)
    try:
        worker.wait_ready()
        t0 = time.perf_counter()
        crawl_s, summary = crawl(names)
        check_crawl(summary, n)
        t1 = wait_all_analyzed(n, timeout=7200)
    finally:
        worker.stop()
    run.rss_peak, run.rss_total = max(run.rss_peak, worker.peak_process), max(run.rss_total, worker.peak_total)
    rate = n / (t1 - t0)
    print(f"end-to-end (crawl start → all analyzed, worker running): {rate:.1f} mentions/s"
          f" ({t1 - t0:.1f} s; crawl part {crawl_s:.1f} s; {counts()[2]} failed)")
    return rate


def phase_history(run: Run) -> None:
    """Cost per mention with a small and a large store, and their ratio."""
    from core.db import reset_engine

    # The probe's texts are not in the history: history texts come after them in the corpus.
    corpus = load_texts(run.args.probe + HISTORY_TEXTS + 4 * run.args.concurrency)
    probe, history = corpus[:run.args.probe], corpus[run.args.probe:run.args.probe + HISTORY_TEXTS]
    warm = corpus[run.args.probe + HISTORY_TEXTS:]
    hashes = history_hashes(history)
    costs = []
    for stored in (run.args.small, run.args.stored):
        tag = f"h{stored}"
        use_database(run.dbs.create(tag))
        fill_s = fill_history(stored, history, hashes)
        cost, peak = probe_cost(run.workdir, tag, probe, warm, run.args.concurrency, datetime.now(UTC))
        costs.append(cost)
        run.rss_peak = max(run.rss_peak, peak)
        print(f"cost per mention with {stored:,} stored: {cost:.1f} ms (probe {len(probe)},"
              f" concurrency {run.args.concurrency}; history filled in {fill_s:.0f} s; worker RSS peak {mb(peak)})")
        reset_engine()
    print(f"cost ratio {run.args.stored:,} / {run.args.small:,} stored: {costs[1] / costs[0]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="texts crawled and processed per phase")
    parser.add_argument("--stored", type=int, default=1_000_000, help="history for the large-store cost")
    parser.add_argument("--small", type=int, default=10_000, help="history for the small-store cost")
    parser.add_argument("--probe", type=int, default=200, help="texts processed to measure the cost per mention")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (celery --concurrency)")
    parser.add_argument("--per-feed", type=int, default=250, help="items per feed (one source per feed)")
    parser.add_argument("--database-url", default=os.environ.get(
        "YUQING_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (any database on it): the benchmark creates and drops its own")
    parser.add_argument("--redis-url", default="", help="an existing Redis (default: a private redis-server)")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)} (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (for inspection)")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(phases) - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    workdir = Path(tempfile.mkdtemp(prefix="yuqing-pbench-"))
    os.environ["YUQING_SECRET_KEY"] = SECRET
    os.environ["YUQING_VAR_DIR"] = str(workdir / "var")
    texts = load_texts(args.n)
    print(f"texts: {len(texts)} (citizen messages + Weibo posts, avg {sum(len(t.text) for t in texts) / len(texts):.0f}"
          f" chars); worker concurrency {args.concurrency}; {os.cpu_count()} CPUs")
    jieba_rate = bench_jieba(texts)
    print(f"jieba.lcut: {jieba_rate:.0f} texts/s")

    e2e_rate: float | None = None
    with private_redis(workdir) if not args.redis_url else nullcontext(args.redis_url) as redis_url:
        os.environ["YUQING_REDIS_URL"] = redis_url
        run = Run(args, workdir, Databases(args.database_url, args.keep), FeedServer(), texts, datetime.now(UTC))
        try:
            if "store" in phases:
                phase_store(run)
            if "crawl" in phases:
                phase_crawl(run)
            if "e2e" in phases:
                e2e_rate = phase_e2e(run)
            if run.rss_peak:
                print(f"worker RSS peak: {mb(run.rss_peak)} per process (main or pool child);"
                      f" {mb(run.rss_total)} all {args.concurrency + 1} processes")
            if "history" in phases:
                phase_history(run)
        finally:
            from core.db import reset_engine

            reset_engine()
            run.server.close()
            run.dbs.drop_all()
            shutil.rmtree(workdir, ignore_errors=True)
    if e2e_rate is None:
        print("ratio - (no e2e phase)")
        return 0
    print(f"pipeline end-to-end {e2e_rate:.1f} mentions/s; jieba {jieba_rate:.0f} texts/s")
    print(f"ratio {e2e_rate / jieba_rate:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
