"""Notifications under a bad receiver: one that takes the message and answers after the timeout, one
that fails; a real HTTP server on loopback for each."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.audit.models import AuditLog
from core.config import Settings, get_settings
from core.db import get_engine
from core.notify import service as notify
from core.notify.models import Notification, NotificationChannelCreate
from core.notify.ratelimit import RedisRateLimiter
from tests.api.conftest import bearer
from tests.core.factories import make_event
from tests.loop.conftest import Office, Receiver

TIMEOUT = 0.3
SLOW = 1.5  # the slow receiver answers this long after it took the message


@dataclass
class SlowReceiver:
    base_url: str = ""
    bodies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, text: str) -> int:
        with self.lock:
            return sum(text in b for b in self.bodies)


@pytest.fixture
def slow_receiver() -> Iterator[SlowReceiver]:
    state = SlowReceiver()
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            with state.lock:
                state.bodies.append(body)  # taken: the message has arrived
            done.wait(SLOW)  # ... but the answer comes after the sender's timeout
            data = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    done.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def quick(app_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("YUQING_NOTIFY_TIMEOUT_SECONDS", str(TIMEOUT))
    monkeypatch.setenv("YUQING_NOTIFY_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("YUQING_NOTIFY_MAX_UNCERTAIN_ATTEMPTS", "2")
    get_settings.cache_clear()
    return get_settings()


def _deliver_until_settled(**kwargs: Any) -> None:
    """Run deliveries (as beat would, every sweep) until nothing is waiting to go out."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        notify.deliver_due(**kwargs)
        with Session(get_engine()) as s:
            if not s.exec(select(Notification.id).where(
                    col(Notification.status).in_(("pending", "sending", "held")))).first():
                return
    raise AssertionError("notifications still waiting after 120 s")


def test_a_receiver_answering_after_the_timeout_gets_each_notice_at_most_twice_and_the_duty_officer_is_told(
        session: Session, office: Office, receiver: Receiver, slow_receiver: SlowReceiver,
        quick: Settings) -> None:
    from api.main import create_app

    slow_channel = notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="迟钝的企业微信群", kind="wecom", url=f"{slow_receiver.base_url}/cgi-bin/webhook/send?key=slow"))
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班企业微信群", kind="wecom", url=f"{receiver.base_url}/wecom/send?key=ok"))
    ids = []
    for n in range(3):
        alert = alerts.open_for_event(session=session, event=make_event(session, grade="III", title=f"事件{n}"))
        assert alert is not None and alert.id is not None
        ids.append(alert.id)
    session.commit()

    _deliver_until_settled()

    for alert_id in ids:  # at most the capped 2 tries, never the 6 of a plain failure
        assert 1 <= slow_receiver.count(f"alert={alert_id}") <= 2
        assert sum(f"alert={alert_id}" in m.text() for m in receiver.on("/wecom/send")) == 1
    session.expire_all()
    slow = session.exec(select(Notification).where(col(Notification.alert_id).in_(ids),
                                                   Notification.channel_id == slow_channel.id)).all()
    assert len(slow) == 3
    assert all(n.status == "failed" and n.uncertain_attempts == 2 and n.failed_at for n in slow)
    assert all("可能已收到" in n.last_error for n in slow)
    failed_audits = session.exec(select(AuditLog).where(AuditLog.entity == "notification",
                                                        AuditLog.action == "failed")).all()
    assert {a.entity_id for a in failed_audits} >= {n.id for n in slow}
    # Someone is told: one alert for the channel, whose notice reached the duty group that works.
    told = session.exec(select(Alert).where(Alert.kind == "notify")).all()
    assert len(told) == 1 and "迟钝的企业微信群" in told[0].reason
    assert any(f"alert={told[0].id}" in m.text() for m in receiver.on("/wecom/send"))

    # The duty officer lists the failed notices and sends one again (audited); others may not.
    client = TestClient(create_app())
    duty = bearer(office.people["duty"])
    listed = client.get("/api/notifications/failed", headers=duty)
    assert listed.status_code == 200
    assert {n["id"] for n in listed.json()} >= {n.id for n in slow}
    assert all(n["uncertain_attempts"] == 2 for n in listed.json() if n["id"] in {r.id for r in slow})
    target = slow[0].id
    assert client.post(f"/api/notifications/{target}/resend",
                       headers=bearer(office.people["handler"])).status_code == 403
    res = client.post(f"/api/notifications/{target}/resend", headers=duty)
    assert res.status_code == 200, res.text
    assert (res.json()["status"], res.json()["attempts"]) == ("pending", 0)
    assert client.post(f"/api/notifications/{target}/resend", headers=duty).status_code == 409
    assert client.post("/api/notifications/999999/resend", headers=duty).status_code == 404
    session.expire_all()
    audit = session.exec(select(AuditLog).where(AuditLog.entity == "notification", AuditLog.entity_id == target,
                                                AuditLog.action == "resend")).one()
    assert audit.actor_id == office.id("duty")


def test_failed_attempts_do_not_use_up_the_rate_limit(
        session: Session, office: Office, receiver: Receiver, quick: Settings, redis_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班企业微信群", kind="wecom", url=f"{receiver.base_url}/wecom/send?key=ok"))
    for n in range(3):
        alerts.open_for_event(session=session, event=make_event(session, grade="III", title=f"事件{n}"))
    session.commit()
    receiver.fail_next["/wecom/send"] = 4  # refused (HTTP 500) four times: nothing arrived
    limiter = RedisRateLimiter(redis_url, limit=3, window=600)

    _deliver_until_settled(limiter=limiter)

    session.expire_all()
    rows = session.exec(select(Notification)).all()
    assert [r.status for r in rows] == ["sent"] * 3  # each on its own, no digest: 3 sent, 3 slots
    assert len(receiver.on("/wecom/send")) == 3
