"""The pipeline's guarantees on the real stack: a Celery worker process on Redis, a real database.

The embedded queue covers the rules; these tests check what only a real broker can break:
a message delivered several times is processed once, a transient database error is retried
with backoff (and not counted against the mention), and a mention that cannot be processed is
counted, kept with its error and given up after MAX_PROCESS_ATTEMPTS.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.alerts.models import Alert
from core.config import Settings, get_settings
from core.db import get_engine
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate

pytestmark = pytest.mark.slow
# The worker on this test's own queue (another pytest run's worker must not take our tasks).
# Mentions whose text holds FAULT raise a non-transient error in analysis: an input the
# analysis cannot take, which is the one failure a real message cannot produce on demand.
FAULT = "【测试：分析出错】"
WORKER = ("import sys\n"
          "import core.analysis\n"
          "real = core.analysis.analyze\n"
          "def analyze(text, **kwargs):\n"
          f"    if {FAULT!r} in text:\n"
          "        raise ValueError('无法分析的输入')\n"
          "    return real(text, **kwargs)\n"
          "core.analysis.analyze = analyze\n"
          "from worker.app import app\n"
          "app.conf.task_default_queue = sys.argv[1]\n"
          "sys.exit(app.start(sys.argv[2:]))\n")


@dataclass
class Worker:
    queue: str
    log: Path
    proc: subprocess.Popen[bytes]

    def send(self, task: str, *args: object) -> None:
        from worker.app import app

        app.send_task(task, args=list(args), queue=self.queue)

    def lines(self, pattern: str) -> list[str]:
        return re.findall(pattern, self.log.read_text(encoding="utf-8", errors="replace"))

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"the worker died:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{what}: not reached in {timeout:g}s\n" \
                                                f"{self.log.read_text()[-3000:]}"
            time.sleep(0.1)


@pytest.fixture
def worker(app_env: Settings, redis_url: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """A real `celery worker` (4 threads, so duplicate messages really run at once) on Redis."""
    from worker.app import app, configure

    monkeypatch.setenv("YUQING_REDIS_URL", redis_url)
    get_settings.cache_clear()
    configure(app)
    queue = f"yuqing-pipeline-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, queue, "worker", "--pool=threads", "--concurrency=4",
         "--without-gossip", "--without-mingle", "--loglevel=INFO", "--hostname", f"pipeline-{os.getpid()}@%h"],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    yield Worker(queue, log_path, proc)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    monkeypatch.delenv("YUQING_REDIS_URL")
    get_settings.cache_clear()
    configure(app)


def store(text: str, external_id: str) -> int:
    with Session(get_engine()) as session:
        result = mentions.ingest(session=session, mention_in=MentionCreate(
            channel="hotline", external_id=external_id, title="市民来电", text=text))
        session.commit()
        assert result.mention.id is not None
        return result.mention.id


def load(mention_id: int) -> Mention:
    with Session(get_engine()) as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        return mention


def test_a_message_delivered_five_times_is_processed_once(worker: Worker) -> None:
    mention_id = store("站前街道永安小区楼道电动车充电起火，浓烟很大，居民被困", "12345-dup-1")
    for _ in range(5):  # at-least-once delivery: the same id, five times, four threads
        worker.send("yuqing.process_mention", mention_id)
    worker.wait(lambda: len(worker.lines(r"Task yuqing\.process_mention\[[^\]]+\] succeeded")) == 5,
                "all five deliveries answered")
    assert len(worker.lines(r"'processed': True")) == 1  # one claim won, four found it taken
    assert len(worker.lines(r"'processed': False")) == 4
    with Session(get_engine()) as session:
        events = session.exec(select(Event)).all()
        assert len(events) == 1 and events[0].mention_count == 1
        assert len(session.exec(select(Alert)).all()) == 1
    mention = load(mention_id)
    assert mention.analyzed_at is not None and mention.event_id == events[0].id
    # An attempt is counted when it starts, in its own transaction (h8-worker: so one that kills
    # its worker still counts): the winner's, and those of any duplicate that started before the
    # winner's claim was committed. How many raced is timing; processing once is the invariant.
    assert 1 <= mention.process_attempts <= 5 and mention.process_error == ""


def test_a_mention_the_analysis_cannot_take_is_counted_and_given_up(worker: Worker) -> None:
    mention_id = store(f"站前街道路灯不亮{FAULT}", "12345-bad-1")
    for attempt in range(1, mentions.MAX_PROCESS_ATTEMPTS + 1):
        # What the outbox sweep does while the mention is pending: send it again.
        with Session(get_engine()) as session:
            pending = mentions.get_pending_ids(session=session, older_than=timedelta(0))
        assert pending == [mention_id], attempt
        worker.send("yuqing.process_mention", mention_id)
        worker.wait(lambda n=attempt: load(mention_id).process_attempts == n, f"attempt {attempt} counted")
    mention = load(mention_id)
    assert mention.analyzed_at is None and mention.event_id is None  # stays stored, unanalyzed
    assert mention.process_error == "ValueError: 无法分析的输入"
    with Session(get_engine()) as session:  # the sweep stops re-sending it
        assert mentions.get_pending_ids(session=session, older_than=timedelta(0)) == []
    assert worker.lines(r"Retry in") == []  # not a transient error: no Celery retry


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # the fault is PostgreSQL's
def test_a_transient_database_error_is_retried_with_backoff(worker: Worker, database_url: str) -> None:
    mention_id = store("站前街道南阳路积雪未清，老人摔倒", "12345-retry-1")
    name = sa.make_url(database_url).database
    admin = sa.create_engine(sa.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # the database refuses new connections, as during a failover
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        worker.send("yuqing.process_mention", mention_id)
        worker.wait(lambda: bool(worker.lines(r"process_mention\[[^\]]+\] retry: Retry in")),
                    "the task was retried")
        assert load(mention_id).analyzed_at is None
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    worker.wait(lambda: load(mention_id).analyzed_at is not None, "processed after the database came back")
    mention = load(mention_id)
    assert mention.event_id is not None
    # Transient: not a failure. Only the delivery that reached the database counts as an attempt
    # (counted at its start); the refused ones never started.
    assert (mention.process_attempts, mention.process_error) == (1, "")
    assert "OperationalError" in worker.lines(r"retry: Retry in [^\n]*")[0]
