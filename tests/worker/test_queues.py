"""Queues on a real Redis: the response loop has its own, the sweep re-queues nothing queued, and a
mention that kills its worker process is counted and finally given up."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.config import Settings
from core.db import get_engine
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.processing import service as processing
from core.timeutil import utcnow
from tests.core.factories import make_event
from tests.realstack import RedisServer, wait_for, yuqing_worker

pytestmark = [pytest.mark.slow, pytest.mark.redis]
FIRE = "站前街道永安小区楼道电动车充电起火，浓烟很大，居民被困，消防车已到"


def _store(n: int, text: str = FIRE, prefix: str = "q", numbered: bool = True) -> list[int]:
    with Session(get_engine()) as s:
        ids = []
        for i in range(n):
            m = mentions.ingest(session=s, mention_in=MentionCreate(
                channel="weibo", external_id=f"{prefix}-{i}", text=f"{text}（{i}）" if numbered else text)).mention
            assert m.id is not None
            ids.append(m.id)
        s.commit()
    return ids


def _unanalyzed() -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(Mention)
                          .where(col(Mention.analyzed_at).is_(None))).one())


def test_the_outbox_sweep_does_not_requeue_mentions_still_in_the_queue(
        redis_stack: Settings, broker: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import get_settings
    from worker.dispatch import enqueue_mentions
    from worker.tasks import sweep_outbox

    monkeypatch.setenv("YUQING_SWEEP_STALE_MINUTES", "0")
    get_settings.cache_clear()
    ids = _store(20)
    assert enqueue_mentions(ids) == 20
    client = redis.Redis.from_url(broker.url)
    batches = -(-20 // get_settings().process_batch_size)  # one message per batch of mentions
    assert client.llen("celery") == batches
    assert sweep_outbox() == 0  # no worker yet: all 20 are waiting in the queue, not lost
    assert client.llen("celery") == batches
    # Past the lease the sweep takes them for lost (a Redis restarted without its data).
    with Session(get_engine()) as s:
        s.execute(sa.update(Mention).values(enqueued_at=utcnow() - timedelta(hours=1)))
        s.commit()
    assert sweep_outbox() == 20
    assert client.llen("celery") == 2 * batches


def test_loop_tasks_go_to_their_own_queue_and_do_not_wait_behind_the_backlog(
        redis_stack: Settings, broker: RedisServer, tmp_path: Path) -> None:
    from worker.app import app
    from worker.dispatch import enqueue_mentions
    from worker.tasks import sweep_alerts

    for name in ("yuqing.sweep_alerts", "yuqing.sweep_ticket_clocks", "yuqing.deliver_notifications",
                 "yuqing.sweep_outbox"):
        assert app.amqp.router.route({}, name)["queue"].name == "celery.loop", name
    for entry in app.conf.beat_schedule.values():  # beat's loop tasks follow the same routes
        if entry["task"] != "yuqing.crawl_due_sources":
            assert app.amqp.router.route({}, entry["task"])["queue"].name == "celery.loop"
    assert app.amqp.router.route({}, "yuqing.process_mention")["queue"].name == "celery"
    assert app.amqp.router.route({}, "yuqing.process_batch")["queue"].name == "celery"

    with Session(get_engine()) as s:  # an alert whose re-notification (5 minutes) is due
        past = utcnow() - timedelta(minutes=7)
        alert = alerts.open_for_event(session=s, event=make_event(s, grade="III", at=past))
        assert alert is not None
        alert.created_at = past
        s.add(alert)
        s.commit()
        alert_id, step = alert.id, alert.notify_step
    enqueue_mentions(_store(300))  # a backlog first, as after a crawl of many sources
    sweep_alerts.delay()
    worker = yuqing_worker(tmp_path, concurrency=2)
    try:
        def stepped() -> bool:
            assert worker.alive(), worker.log()
            with Session(get_engine()) as s:
                a = s.get(Alert, alert_id)
                return a is not None and a.notify_step > step

        wait_for(stepped, timeout=120, what="the alert's next step")
        left = _unanalyzed()
    finally:
        worker.stop()
    assert left > 100, f"the sweep ran only after the backlog ({left} of 300 mentions left)"


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier]
        out += kids
        frontier = kids
    return out


def _tcp_ports(pid: int) -> set[int]:
    """Local TCP ports of a process's sockets (to find its PostgreSQL backends)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_mention_that_kills_its_worker_counts_as_an_attempt_and_is_given_up(
        redis_stack: Settings, broker: RedisServer, tmp_path: Path) -> None:
    from worker.dispatch import enqueue_mentions

    first, second = _store(2, prefix="kill", numbered=False)
    with Session(get_engine()) as s:  # the event the second (near-duplicate) mention will join
        event_id = processing.process_mention(session=s, mention_id=first).event_id
        s.commit()
    # Holding the event's row lock makes processing hang where the worker can be killed mid-way.
    holder = get_engine().connect()
    lock = holder.begin()
    holder.execute(sa.text("SELECT id FROM event WHERE id = :id FOR UPDATE"), {"id": event_id})
    enqueue_mentions([second])
    worker = yuqing_worker(tmp_path, concurrency=1)
    client = redis.Redis.from_url(broker.url)

    def attempts() -> int:
        with Session(get_engine()) as s:
            m = s.get(Mention, second)
            assert m is not None and m.analyzed_at is None
            return m.process_attempts

    def waiting_on_lock() -> bool:
        assert worker.alive(), worker.log()
        with get_engine().connect() as conn:  # pg_stat_activity is a snapshot per transaction
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar())

    try:
        for n in range(1, mentions.MAX_PROCESS_ATTEMPTS + 1):
            # Counted before the work, although the work never finishes.
            wait_for(lambda: waiting_on_lock() and attempts() == n, timeout=120,  # noqa: B023
                     what=f"attempt {n} counted and blocked in processing")
            busy = [p for p in _descendants(worker.proc.pid) if not _descendants(p)]
            ports = set().union(*(_tcp_ports(p) for p in busy))
            for pid in busy:  # the pool process doing the work (a leaf of the worker's tree)
                os.kill(pid, signal.SIGKILL)
            # A backend waiting on a lock notices its dead client only with TCP keepalives; end
            # the killed process's backends now, so its open transaction holds no locks.
            with get_engine().connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                                     "WHERE client_port = ANY(:ports)"), {"ports": sorted(ports)})
        lock.rollback()
        # The next delivery finds the attempts used up: refused, acknowledged, not re-delivered.
        wait_for(lambda: client.llen("celery") == 0 and client.hlen("unacked") == 0, timeout=120,
                 what="the queue drained")
        assert worker.alive(), worker.log()
    finally:
        holder.close()
        worker.stop()
    assert attempts() == mentions.MAX_PROCESS_ATTEMPTS
    with Session(get_engine()) as s:
        assert mentions.get_pending_ids(session=s, older_than=timedelta(0)) == []  # no longer re-sent
