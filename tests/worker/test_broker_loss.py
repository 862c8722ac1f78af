"""Redis killed mid-batch: health says 503 while it is away, and the worker (supervised by `yuqing worker`)
processes again within a minute of its return, with no hand on it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from core.config import Settings, get_settings
from core.db import get_engine
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from tests.realstack import Process, RedisServer, wait_for, yuqing_worker

pytestmark = [pytest.mark.slow, pytest.mark.redis]
# What Celery (or the supervisor, when Celery died of it) logs when the broker goes away.
LOST = ("Connection to broker lost", "Cannot connect to redis", "Celery 退出")
TEXT = "站前街道幸福小区暖气不热，室温只有十二度，老人孩子受冻，供热公司不接电话"


def _store(prefix: str, n: int) -> list[int]:
    with Session(get_engine()) as s:
        ids = [mentions.ingest(session=s, mention_in=MentionCreate(
            channel="weibo", external_id=f"{prefix}-{i}", text=f"{TEXT} {prefix}{i}")).mention.id
            for i in range(n)]
        s.commit()
    return [i for i in ids if i is not None]


def _analyzed(ids: list[int]) -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(Mention).where(
            col(Mention.id).in_(ids), col(Mention.analyzed_at).is_not(None))).one())


def test_the_worker_recovers_from_a_redis_outage_and_health_tells_the_truth(
        redis_stack: Settings, broker: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.main import create_app
    from worker.dispatch import enqueue_mentions

    # The outbox sweep (sent by beat every minute) re-sends what the killed Redis lost.
    monkeypatch.setenv("YUQING_SWEEP_STALE_MINUTES", "0")
    monkeypatch.setenv("YUQING_SWEEP_REQUEUE_MINUTES", "0")
    get_settings.cache_clear()
    client = TestClient(create_app())
    batch = _store("a", 300)
    enqueue_mentions(batch)
    worker = yuqing_worker(tmp_path, concurrency=2)
    beat = Process([sys.executable, "-m", "cli.main", "beat"], tmp_path / "beat.log")
    try:
        wait_for(lambda: client.get("/api/health").json()["beat"] == "ok", timeout=90, what="beat's first run")
        res = client.get("/api/health")
        assert res.status_code == 200 and (res.json()["database"], res.json()["broker"]) == ("ok", "ok")
        wait_for(lambda: _analyzed(batch) >= 20, timeout=120, what="the batch under way")

        broker.kill()  # mid-batch
        started = time.monotonic()
        res = client.get("/api/health")
        assert res.status_code == 503 and res.json()["broker"] == "error", res.text
        assert time.monotonic() - started < 10  # a probe answers even when Redis is gone
        assert _analyzed(batch) < len(batch)
        wait_for(lambda: any(sign in worker.log() for sign in LOST), timeout=60,
                 what="the worker noticing the lost broker")
        assert client.get("/api/health").status_code == 503

        broker.start()  # the same port, empty (the queued messages are lost)
        back = time.monotonic()
        fresh = _store("b", 10)
        wait_for(lambda: enqueue_mentions(fresh) == len(fresh), timeout=30, what="enqueue after the return")
        wait_for(lambda: _analyzed(fresh) == len(fresh), timeout=60,
                 what="new mentions processed within a minute of Redis coming back")
        recovered = time.monotonic() - back
        # And nothing of the batch is lost: beat's outbox sweep re-sends what Redis forgot.
        wait_for(lambda: _analyzed(batch) == len(batch), timeout=240, what="the whole batch processed")
        wait_for(lambda: client.get("/api/health").status_code == 200, timeout=90, what="healthy again")
        assert worker.alive() and beat.alive()
    finally:
        beat.stop()
        worker.stop()
    print(f"\nprocessing again {recovered:.1f}s after Redis came back")


def test_yuqing_worker_restarts_celery_when_it_dies(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    child = f"open({str(runs)!r}, 'a').write('x'); raise SystemExit(3)"
    script = ("import sys; from cli.main import supervise; "
              f"sys.exit(supervise([sys.executable, '-c', {child!r}], max_delay=0.2))")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        wait_for(lambda: runs.exists() and len(runs.read_text()) >= 3, timeout=60, what="three restarts")
        assert proc.poll() is None  # still supervising
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 3  # stops when told to, with the child's last code


def test_health_is_503_when_beat_stopped_and_stays_200_in_embedded_mode(
        app_env: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from api.main import create_app
    from core import health
    from core.timeutil import utcnow

    client = TestClient(create_app())
    body = client.get("/api/health").json()  # embedded: no broker, no beat process to watch
    assert (body["status"], body["broker"], body["beat"]) == ("ok", "embedded", "embedded")
    monkeypatch.setenv("YUQING_REDIS_URL", redis_url)
    get_settings.cache_clear()
    health.record_beat_run(utcnow() - timedelta(minutes=30))  # beat stopped half an hour ago
    res = client.get("/api/health")
    assert res.status_code == 503 and (res.json()["broker"], res.json()["beat"]) == ("ok", "stale")
    health.record_beat_run()
    res = client.get("/api/health")
    assert res.status_code == 200 and res.json()["beat"] == "ok"
    assert res.json()["beat_last_run"]
