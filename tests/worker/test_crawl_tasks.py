"""The scheduled crawl tasks on a real database: which sources beat crawls, and silence alerts.

``crawl_due_sources`` runs the real feed spider in a child process against a real RSS file on a
local HTTP server; in embedded mode calling a task runs it here, so its return value and the
rows it leaves are what beat would get.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.config import Settings
from core.db import get_engine, session_scope
from core.mentions.models import Mention
from core.sources import health
from core.sources import service as source_service
from core.sources.models import Source, SourceCreate
from core.timeutil import ensure_utc, utcnow
from tests.crawlers.crawl_helpers import FeedServer
from worker.crawl_tasks import check_source_silence, crawl_due_sources

RSS = (Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "zhanqian_rss.xml").read_bytes()
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
RSS_GUIDS = {"zqjd-2024-0112-001", "https://zqjd.xinfu.example/gonggao/2024/0122/0003.html"}
NOON = datetime(2025, 10, 9, 4, 0, tzinfo=UTC)  # 12:00 in 抚顺


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    yield server
    server.stop()


def add_source(name: str, url: str, **state: Any) -> int:
    """A feed source, then health fields set directly (as earlier fetches would have left them)."""
    with session_scope() as session:
        source = source_service.create(session=session, source_in=SourceCreate(name=name, kind="feed", url=url))
        for key, value in state.items():
            setattr(source, key, value)
        session.add(source)
        session.flush()
        assert source.id is not None
        return source.id


def load(name: str) -> Source:
    with Session(get_engine(), expire_on_commit=False) as session:
        source = source_service.get_by_name(session=session, name=name)
        assert source is not None
        return source


def source_alerts(source_id: int) -> list[Alert]:
    with Session(get_engine()) as session:
        return list(session.exec(select(Alert).where(Alert.kind == "source", Alert.source_id == source_id)
                                 .order_by(col(Alert.id))))


def stored_external_ids(source_id: int) -> set[str]:
    with Session(get_engine()) as session:
        return set(session.exec(select(Mention.external_id).where(Mention.source_id == source_id)))


# ----- crawl_due_sources -----------------------------------------------------------------------
def test_a_due_source_is_claimed_crawled_and_its_posts_stored(
        app_env: Settings, feed_server: FeedServer) -> None:
    url = feed_server.serve("/rss.xml", RSS, headers=RSS_HEADERS)
    source_id = add_source("站前街道动态", url, schedule_minutes=15,
                           last_fetch_at=utcnow() - timedelta(minutes=16))
    before = utcnow()

    summary = crawl_due_sources()

    assert summary["claimed"] == ["站前街道动态"]
    report = summary["sources"]["站前街道动态"]
    assert (report["status"], report["new"], report["errors"]) == ("ok", 3, [])
    assert len(feed_server.hits("/rss.xml")) == 1
    assert stored_external_ids(source_id) >= RSS_GUIDS
    assert len(stored_external_ids(source_id)) == 3
    source = load("站前街道动态")
    assert source.health == "ok"
    assert source.last_fetch_at is not None and ensure_utc(source.last_fetch_at) >= before
    assert source.last_item_at is not None
    # Claimed just now, so the next beat a minute later leaves it alone.
    with time_machine.travel(utcnow() + timedelta(minutes=1)):
        assert crawl_due_sources() == {"sources": {}, "claimed": []}
    assert len(feed_server.hits("/rss.xml")) == 1


def test_a_source_fetched_within_its_schedule_is_not_crawled(
        app_env: Settings, feed_server: FeedServer) -> None:
    url = feed_server.serve("/rss.xml", RSS, headers=RSS_HEADERS)
    fetched = utcnow() - timedelta(minutes=5)
    source_id = add_source("站前街道动态", url, schedule_minutes=15, last_fetch_at=fetched, health="ok")

    assert crawl_due_sources() == {"sources": {}, "claimed": []}

    assert feed_server.hits("/rss.xml") == []
    assert stored_external_ids(source_id) == set()
    assert ensure_utc(load("站前街道动态").last_fetch_at or NOON) == fetched  # not claimed either
    # Once its 15 minutes are up, it is due (the setup above is not merely broken).
    with session_scope() as session:
        later = fetched + timedelta(minutes=15)
        assert [s.name for s in health.claim_due(session=session, now=later)] == ["站前街道动态"]


def test_a_source_with_an_open_circuit_breaker_is_not_crawled(
        app_env: Settings, feed_server: FeedServer) -> None:
    url = feed_server.serve("/rss.xml", RSS, headers=RSS_HEADERS)
    reopens = utcnow() + timedelta(hours=1)
    source_id = add_source("被封禁的源", url, schedule_minutes=15, last_fetch_at=utcnow() - timedelta(hours=2),
                           health="blocked", consecutive_failures=4, circuit_open_until=reopens)

    assert crawl_due_sources() == {"sources": {}, "claimed": []}

    assert feed_server.hits("/rss.xml") == []
    assert stored_external_ids(source_id) == set()
    with session_scope() as session:
        assert health.claim_due(session=session, now=reopens - timedelta(seconds=1)) == []
        # Once the breaker's time is up the source is tried again (the setup is not merely broken).
        assert [s.name for s in health.claim_due(session=session, now=reopens)] == ["被封禁的源"]


def _waiting_on_a_lock(database_url: str) -> bool:
    """PostgreSQL: whether some session of this database waits for a lock right now."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'")).scalar())
    finally:
        engine.dispose()


def _inside_a_statement(thread: threading.Thread) -> bool:
    """Whether the thread is executing a database statement right now (its stack, read live)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name in {"do_execute", "do_execute_no_params", "do_executemany"}:
            return True
        frame = frame.f_back
    return False


def test_two_schedulers_claiming_at_once_never_take_the_same_source(app_env: Settings) -> None:
    names = [f"社区公众号{n}" for n in range(6)]
    for n, name in enumerate(names):
        # Never fetched, and fetched long ago: both ways of being due.
        add_source(name, f"http://127.0.0.1:9/{n}.xml",
                   last_fetch_at=None if n % 2 else utcnow() - timedelta(hours=3))
    engine = get_engine()
    second: list[str] = []
    failure: list[BaseException] = []

    with Session(engine) as first_session:
        first = [s.name for s in health.claim_due(session=first_session)]  # uncommitted: rows locked

        def other_scheduler() -> None:
            try:
                with Session(engine) as session:
                    started.set()
                    second.extend(s.name for s in health.claim_due(session=session))
                    session.commit()
            except BaseException as exc:  # reported in the test thread
                failure.append(exc)

        started = threading.Event()
        thread = threading.Thread(target=other_scheduler)
        thread.start()
        assert started.wait(10), "the second scheduler never started"
        # Let the second scheduler read the same (still unclaimed) rows and block on its UPDATE.
        if engine.dialect.name == "postgresql":
            blocked = lambda: _waiting_on_a_lock(app_env.resolved_database_url)  # noqa: E731
        else:  # SQLite has no lock view: the thread sits inside a statement (busy_timeout) instead
            blocked = lambda: _inside_a_statement(thread)  # noqa: E731
        deadline = time.monotonic() + 10
        while not blocked() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert blocked(), "second claim never met the lock"
        assert thread.is_alive() and not second, "the second claim must wait for the first transaction"
        first_session.commit()
    thread.join(timeout=30)

    assert not thread.is_alive() and not failure, failure
    assert sorted(first) == sorted(names)
    assert set(first).isdisjoint(second)
    assert second == []
    # A third scheduler, after both committed, finds nothing left to claim.
    with session_scope() as session:
        assert health.claim_due(session=session) == []


def test_claims_in_sequence_split_the_due_sources_without_overlap(app_env: Settings) -> None:
    for n in range(4):
        add_source(f"社区公众号{n}", f"http://127.0.0.1:9/{n}.xml")
    with session_scope() as session:
        first = {s.name for s in health.claim_due(session=session)}
    with session_scope() as session:
        second = {s.name for s in health.claim_due(session=session)}
    assert len(first) == 4 and second == set()


# ----- check_source_silence --------------------------------------------------------------------
def test_a_source_quiet_far_beyond_its_usual_gap_gets_exactly_one_silence_alert_until_it_posts_again(
        app_env: Settings) -> None:
    with time_machine.travel(NOON, tick=False):
        quiet_id = add_source("停更的公众号", "http://127.0.0.1:9/quiet.xml", health="ok",
                              health_since=NOON - timedelta(days=10), expected_gap_minutes=60,
                              last_item_at=NOON - timedelta(days=2))
        fresh_id = add_source("正常更新的源", "http://127.0.0.1:9/fresh.xml", health="ok",
                              health_since=NOON - timedelta(days=10), expected_gap_minutes=60,
                              last_item_at=NOON - timedelta(minutes=50))

        assert check_source_silence() == ["停更的公众号"]

        quiet = load("停更的公众号")
        assert (quiet.health, ensure_utc(quiet.health_since or NOON)) == ("silent", NOON)
        [alert] = source_alerts(quiet_id)
        assert (alert.kind, alert.level, alert.status) == ("source", "silent", "open")
        assert "停更的公众号" in alert.reason and "2 天" in alert.reason
        assert source_alerts(fresh_id) == []
        assert load("正常更新的源").health == "ok"

    with time_machine.travel(NOON + timedelta(minutes=10), tick=False):  # beat's next silence check
        assert check_source_silence() == []
    assert [a.id for a in source_alerts(quiet_id)] == [alert.id]
    assert source_alerts(fresh_id) == []

    with time_machine.travel(NOON + timedelta(minutes=20), tick=False):
        # A fetch that works but brings nothing new does not end the silence.
        with session_scope() as session:
            source = session.get(Source, quiet_id)
            assert source is not None
            source_service.record_success(session=session, source=source, new_items=0)
        assert load("停更的公众号").health == "silent"
        assert [a.status for a in source_alerts(quiet_id)] == ["open"]
        # New posts do: the incident is over and its alert resolved (kept for the record).
        with session_scope() as session:
            source = session.get(Source, quiet_id)
            assert source is not None
            source_service.record_success(session=session, source=source, new_items=3)

    recovered = load("停更的公众号")
    assert (recovered.health, ensure_utc(recovered.last_item_at or NOON)) == ("ok", NOON + timedelta(minutes=20))
    assert [(a.id, a.status) for a in source_alerts(quiet_id)] == [(alert.id, "resolved")]
    with time_machine.travel(NOON + timedelta(minutes=30), tick=False):
        assert check_source_silence() == []
    assert len(source_alerts(quiet_id)) == 1


def test_a_source_that_stays_quiet_again_later_opens_a_new_incident(app_env: Settings) -> None:
    with time_machine.travel(NOON, tick=False):
        quiet_id = add_source("停更的公众号", "http://127.0.0.1:9/quiet.xml", health="ok",
                              health_since=NOON - timedelta(days=10), expected_gap_minutes=60,
                              last_item_at=NOON - timedelta(days=2))
        assert check_source_silence() == ["停更的公众号"]
        with session_scope() as session:
            source = session.get(Source, quiet_id)
            assert source is not None
            source_service.record_success(session=session, source=source, new_items=1)
    # Six hours (the floor) is within a 1 h gap's threshold; a day later it is silent again.
    with time_machine.travel(NOON + timedelta(hours=5), tick=False):
        assert check_source_silence() == []
    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        assert check_source_silence() == ["停更的公众号"]
    assert [(a.level, a.status) for a in source_alerts(quiet_id)] == [("silent", "resolved"), ("silent", "open")]
