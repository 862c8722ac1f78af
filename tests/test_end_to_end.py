"""One post travels from a feed to the annual report, on the real stack.

A real-format feed on a local HTTP server is crawled by the real spider (in a child process,
as beat does), a real Celery worker on the real Redis processes it, the API opens a ticket
and records a response, and the annual count goes up by exactly one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from core.alerts.models import Alert
from core.config import Settings, get_settings
from core.db import get_engine
from core.events.models import Event
from core.mentions.models import Mention
from core.sources import service as sources
from core.sources.models import SourceCreate
from core.units import service as units
from core.units.models import UnitCreate
from core.users import service as users
from core.users.models import UserCreate

FEED = Path(__file__).parent / "fixtures" / "e2e" / "zhanqian_wechat.xml"
pytestmark = pytest.mark.slow


@pytest.fixture
def feed_server() -> Iterator[str]:
    body = FEED.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


@pytest.fixture
def redis_env(app_env: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Switch the whole process (and its children) from embedded mode to the real Redis."""
    from worker.app import app, configure

    monkeypatch.setenv("YUQING_REDIS_URL", redis_url)
    get_settings.cache_clear()
    configure(app)
    yield get_settings()
    monkeypatch.delenv("YUQING_REDIS_URL")
    get_settings.cache_clear()
    configure(app)


@pytest.fixture
def celery_worker(redis_env: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--hostname", f"e2e-{os.getpid()}@%h"],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_for(predicate: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("condition not reached in time")


def _count(model: Any) -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_a_post_travels_from_a_feed_to_the_annual_report(
    feed_server: str, celery_worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    from api.main import create_app
    from crawlers.run import run_crawl_subprocess

    with Session(get_engine()) as s:
        sources.create(session=s, source_in=SourceCreate(name="站前生活圈", kind="feed", channel="wechat",
                                                         url=feed_server))
        unit = units.get_or_create(session=s, unit_in=UnitCreate(name="站前街道安全生产办", topics="safety"))
        unit_id = unit.id
        users.create(session=s, user_in=UserCreate(username="duty", role="duty", password="duty-password-1"))
        users.create(session=s, user_in=UserCreate(username="boss", role="leader", password="boss-password-1"))
        s.commit()

    summary = run_crawl_subprocess(["站前生活圈"])
    assert _count(Mention) == 1, summary

    def analyzed() -> bool:
        with Session(get_engine()) as s:
            m = s.exec(select(Mention)).one()
            return m.analyzed_at is not None and m.event_id is not None

    _wait_for(analyzed)
    assert celery_worker.poll() is None, "the worker died"
    with Session(get_engine()) as s:
        mention = s.exec(select(Mention)).one()
        assert mention.title == "站前街道永安小区楼道电动车充电起火，居民聚集要求整改"
        assert mention.published_at == datetime(2025, 3, 10, 13, 30, tzinfo=UTC)
        assert mention.channel == "wechat"
        assert "safety" in mention.topics
        event = s.exec(select(Event)).one()
        # One post about a fire with people trapped and residents gathering: 重大 (II) whatever the
        # volume (国办发〔2016〕61号), so a ticket is opened at once for the unit owning the topic,
        # and the event's alert closes with it.
        assert event.grade == "II" and "人员被困" in event.grade_reason and "火灾" in event.grade_reason
        alert = s.exec(select(Alert)).one()
        assert alert.event_id == event.id and alert.status == "closed"
        event_id = event.id

    client = TestClient(create_app())
    year = 2025

    def token(username: str, password: str) -> dict[str, str]:
        r = client.post("/api/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    duty = token("duty", "duty-password-1")
    boss = token("boss", "boss-password-1")
    before = client.get(f"/api/reports/annual?year={year}", headers=duty).json()

    r = client.post("/api/tickets", json={"event_id": event_id, "note": "值班研判"}, headers=duty)
    assert r.status_code == 200, r.text  # the auto rule opened it already: the same ticket comes back
    ticket = r.json()
    assert (ticket["state"], ticket["grade"], ticket["event_id"], ticket["unit_id"]) == (
        "assigned", "II", event_id, unit_id)
    assert ticket["first_info_due_at"] is not None  # grade II: first authoritative information within 5 h
    handling = client.post(f"/api/tickets/{ticket['id']}/transition", json={"to_state": "handling"},
                           headers=duty)
    assert handling.status_code == 200 and handling.json()["state"] == "handling"
    response = {"channel": "weibo", "kind": "response", "title": "站前街道开展楼道电动车充电专项整治",
                "published_at": "2025-03-11T10:00:00+08:00"}
    # Grade II: no response goes out before the leader signs the draft off.
    refused = client.post(f"/api/tickets/{ticket['id']}/responses", headers=duty, json=response)
    assert refused.status_code == 409, refused.text
    assert client.put(f"/api/tickets/{ticket['id']}/draft", json={"text": "已开展楼道充电专项整治。"},
                      headers=duty).status_code == 200
    review = client.post(f"/api/tickets/{ticket['id']}/transition", json={"to_state": "review"}, headers=duty)
    assert review.status_code == 200 and review.json()["state"] == "review"
    signed = client.post(f"/api/tickets/{ticket['id']}/sign-off", json={}, headers=boss)
    assert signed.status_code == 200, signed.text
    r = client.post(f"/api/tickets/{ticket['id']}/responses", headers=duty, json=response)
    assert r.status_code == 201, r.text
    assert r.json()["approved_by_id"] == signed.json()["signed_off_by_id"]

    after = client.get(f"/api/reports/annual?year={year}", headers=duty).json()
    assert after["responded_events"] == before["responded_events"] + 1
    assert after["weibo_wechat_responses"] == before["weibo_wechat_responses"] + 1
    assert after["policy_interpretations"] == before["policy_interpretations"]

    # Crawling again stores nothing twice and opens no second event or alert.
    again = run_crawl_subprocess(["站前生活圈"])
    assert again["sources"]["站前生活圈"]["new"] == 0, again  # so nothing new went on the queue
    assert (_count(Mention), _count(Event), _count(Alert)) == (1, 1, 1)

