"""Real Redis, a real Celery worker and two beat schedulers: each notice reaches the robots once."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from core.alerts import service as alerts
from core.config import Settings, get_settings
from core.db import get_engine
from core.notify import service as notify
from core.notify.models import Notification, NotificationChannelCreate
from tests.core.factories import make_event
from tests.loop.conftest import DINGTALK_SECRET, Office, Receiver, max_in_window

pytestmark = pytest.mark.slow
ALERT_ID = re.compile(r"\?alert=(\d+)")
# 5 per 10 s: 26 notices overflow it however slowly a busy machine posts (20 per 4 s did not, under load).
RATE, WINDOW = 5, 10.0
# `celery -A worker.app ARGS` on this run's own queue. The shared test Redis database is used by
# every pytest process on the machine: on the default "celery" queue another run's worker takes
# our beats' tasks and runs them against ITS database (our notices then sit pending past the
# deadline), and another run's redis_url fixture FLUSHDBs our rate-limit windows mid-test (then
# more than 20 messages reach a robot in one window). Both were seen when suites ran in parallel.
CELERY = ("import sys; from worker.app import app; app.conf.task_default_queue = sys.argv[1]; "
          "sys.exit(app.start(sys.argv[2:]))")


@pytest.fixture
def own_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private real Redis server for this test where redis-server is installed (so no other
    pytest process can flush or share its keys); otherwise the shared test Redis."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield request.getfixturevalue("redis_url")
        return
    import redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"private redis-server on port {port} did not start")
            time.sleep(0.05)
    client.close()
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def stack(app_env: Settings, own_redis: str, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One worker (4 threads) and two beats, every loop sweep each second, on a queue of their own."""
    from worker.app import app, configure

    redis_url = own_redis

    queue = f"yuqing-loop-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    for key, value in {"YUQING_REDIS_URL": redis_url, "YUQING_LOOP_SWEEP_SECONDS": "1",
                       "YUQING_NOTIFY_RATE_PER_WINDOW": str(RATE),
                       "YUQING_NOTIFY_RATE_WINDOW_SECONDS": str(WINDOW),
                       "YUQING_NOTIFY_BACKOFF_SECONDS": "1"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    configure(app)
    logs = []
    procs = []
    commands = [["worker", "--pool=threads", "--concurrency=4", "--without-gossip", "--without-mingle",
                 "--hostname", f"loop-{os.getpid()}@%h"]]
    commands += [["beat", "-s", str(tmp_path / f"beat-{n}"), "--pidfile", str(tmp_path / f"beat-{n}.pid")]
                 for n in (1, 2)]
    for n, args in enumerate(commands):
        log = (tmp_path / f"proc-{n}.log").open("wb")
        logs.append(log)
        procs.append(subprocess.Popen([sys.executable, "-c", CELERY, queue, *args, "--loglevel=INFO"],
                                      env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT))
    yield procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    for log in logs:
        log.close()
    monkeypatch.delenv("YUQING_REDIS_URL")
    get_settings.cache_clear()
    configure(app)


def test_each_notice_reaches_each_robot_once_signed_and_within_the_rate_limit(
        session: Session, office: Office, receiver: Receiver,
        stack: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班企业微信群", kind="wecom", url=f"{receiver.base_url}/cgi-bin/webhook/send?key=abc"))
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班钉钉群", kind="dingtalk", url=f"{receiver.base_url}/dingtalk/robot/send?access_token=xyz",
        secret=DINGTALK_SECRET))
    session.commit()
    receiver.fail_next["/cgi-bin/webhook/send"] = 2  # WeCom is busy twice: retried with backoff
    started = time.monotonic()
    ids = []
    for n in range(26):
        alert = alerts.open_for_event(session=session, event=make_event(session, grade="III",
                                                                        title=f"站前小区停车事件{n}"))
        assert alert is not None and alert.id is not None
        ids.append(alert.id)
    session.commit()

    def unfinished() -> int:
        with Session(get_engine()) as s:
            return len(s.exec(select(Notification).where(
                col(Notification.status).in_(("pending", "sending", "held")))).all())

    deadline = time.monotonic() + 180  # a generous bound: digests wait for the window to free
    while (unfinished() or len(receiver.messages) < 2) and time.monotonic() < deadline:
        assert all(p.poll() is None for p in stack), "a worker or beat process died"
        time.sleep(0.5)
    # A few more beats, counted in the worker's log: nothing may arrive twice.
    def sweeps() -> int:
        log = (tmp_path / "proc-0.log").read_text(errors="replace")
        return len(re.findall(r"yuqing\.deliver_notifications\[[^\]]+\] succeeded", log))

    later = sweeps() + 3
    while sweeps() < later and time.monotonic() < deadline + 60:
        assert all(p.poll() is None for p in stack), "a worker or beat process died"
        time.sleep(0.2)
    assert sweeps() >= later, "the beats stopped sending delivery sweeps"
    assert unfinished() == 0
    assert receiver.bad_signatures == 0
    for path in ("/cgi-bin/webhook/send", "/dingtalk/robot/send"):
        got = receiver.on(path)
        seen = sorted(int(m) for msg in got for m in ALERT_ID.findall(msg.text()))
        assert seen == sorted(ids), path  # every alert's notice exactly once
        assert max_in_window([m.at for m in got], WINDOW) <= RATE, path
        assert all("@王值班" in m.text() or "消息汇总" in m.text() for m in got)
    with Session(get_engine()) as s:
        digests = {n.digest_id for n in s.exec(select(Notification).where(Notification.status == "digested"))}
    assert digests, f"26 notices must overflow a limit of {RATE} per robot"
    assert sum("消息汇总" in m.text() for m in receiver.messages) == len(digests)  # the overflow, as digests
    ding = receiver.on("/dingtalk/robot/send")
    assert all(m.query.get("timestamp") and m.query.get("sign") for m in ding)
    assert ding[0].body["at"]["atMobiles"] == ["13800000001"]
    print(f"\n{len(receiver.messages)} robot posts for 2×{len(ids)} notices in {time.monotonic() - started:.1f}s")
