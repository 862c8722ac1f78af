"""The outbox on one machine: each notice once, signed, within the limit, retried with backoff."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, col, select

from core.alerts import service as alerts
from core.config import Settings, get_settings
from core.notify import service as notify
from core.notify.models import Notification, NotificationChannelCreate
from core.notify.senders import dingtalk_signed_url
from tests.core.factories import make_event
from tests.loop.conftest import DINGTALK_SECRET, Office, Receiver, max_in_window

ALERT_ID = re.compile(r"\?alert=(\d+)")


@pytest.fixture
def fast_retries(app_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("YUQING_NOTIFY_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("YUQING_NOTIFY_RATE_PER_WINDOW", "20")
    monkeypatch.setenv("YUQING_NOTIFY_RATE_WINDOW_SECONDS", "4")
    get_settings.cache_clear()
    return get_settings()


def channels(session: Session, receiver: Receiver) -> None:
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班企业微信群", kind="wecom", url=f"{receiver.base_url}/wecom/send?key=abc"))
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班钉钉群", kind="dingtalk", url=f"{receiver.base_url}/dingtalk/robot/send?access_token=xyz",
        secret=DINGTALK_SECRET))
    session.commit()


def test_dingtalk_signing_matches_the_documented_example() -> None:
    # DingTalk's documented recipe (自定义机器人 加签): timestamp + "\n" + secret, HMAC-SHA256 keyed with
    # the secret, base64, then quote_plus; with the documentation's sample secret "this is secret".
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "this is secret",
                              1577262236757)
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1577262236757"
                   "&sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D")
    # Another secret gives another signature (the secret is really used, not a constant).
    other = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECxxx", 1577262236757)
    assert other.endswith("&sign=TajHYUQC5a6smO3qjKNgFiJalsQ51g5gqH0iiy2oY%2Bo%3D")


def test_two_workers_send_each_notice_once_and_the_overflow_as_one_digest(
        session: Session, office: Office, receiver: Receiver, fast_retries: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 per 10 s: the overflow cannot depend on how fast a busy machine posts (it did with 20 per 4 s).
    monkeypatch.setenv("YUQING_NOTIFY_RATE_PER_WINDOW", "5")
    monkeypatch.setenv("YUQING_NOTIFY_RATE_WINDOW_SECONDS", "10")
    get_settings.cache_clear()
    channels(session, receiver)
    ids = []
    for n in range(25):
        alert = alerts.open_for_event(session=session, event=make_event(session, grade="III", title=f"事件{n}"))
        assert alert is not None
        ids.append(alert.id)
    session.commit()
    receiver.fail_next["/wecom/send"] = 1  # the first WeCom post fails once and is retried

    def unfinished() -> int:
        with Session(session.get_bind()) as s:
            return len(s.exec(select(Notification).where(
                col(Notification.status).in_(("pending", "sending", "held")))).all())

    def work() -> None:
        deadline = time.monotonic() + 120  # a generous bound: the digests wait for the window
        while unfinished() and time.monotonic() < deadline:
            notify.deliver_due()
            time.sleep(0.1)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert receiver.bad_signatures == 0
    for path in ("/wecom/send", "/dingtalk/robot/send"):
        got = receiver.on(path)
        seen = [int(m) for msg in got for m in ALERT_ID.findall(msg.text())]
        assert sorted(seen) == sorted(ids), path  # every alert once, none twice
        assert max_in_window([m.at for m in got], 10.0) <= 5, path
    assert unfinished() == 0
    with Session(session.get_bind()) as fresh:
        digested = fresh.exec(select(Notification).where(Notification.status == "digested")).all()
    # The overflow went out as digests.
    assert digested, "25 notices within the window should have overflowed the limit of 5"
    assert sum("消息汇总" in m.text() for m in receiver.messages) == len({d.digest_id for d in digested})
    with Session(session.get_bind()) as fresh:
        rows = fresh.exec(select(Notification)).all()
    assert {r.status for r in rows if not r.dedupe_key.startswith("digest:")} <= {"sent", "digested"}
    # The post that failed was tried again (alone, or inside the digest) and its alert arrived above.
    failed_once = [r for r in rows if "HTTP 500" in r.last_error or (r.attempts > 1 and r.status == "sent")]
    assert len(failed_once) == 1 and failed_once[0].status in {"sent", "digested"}


def test_a_held_digest_goes_out_when_the_window_frees(
        session: Session, office: Office, receiver: Receiver, fast_retries: Settings) -> None:
    channels(session, receiver)
    start = datetime(2025, 10, 6, 3, 0)
    with time_machine.travel(start, tick=False):
        ids = [alerts.open_for_event(session=session, event=make_event(session, title=f"事件{n}")).id
               for n in range(23)]  # type: ignore[union-attr]
        session.commit()
        stats = notify.deliver_due()
    assert stats.sent == 40 and stats.held == 6  # 20 per robot, 3 held on each
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        later = notify.deliver_due()
    assert later.digests == 2 and later.sent == 2
    digest = [m for m in receiver.on("/wecom/send") if "消息汇总" in m.text()]
    assert len(digest) == 1 and "3条通知" in digest[0].text()
    assert sorted(int(m) for msg in receiver.on("/wecom/send") for m in ALERT_ID.findall(msg.text())) == ids


def test_a_digest_that_failed_is_retried_as_itself_not_folded_into_the_next(
        session: Session, office: Office, receiver: Receiver, fast_retries: Settings) -> None:
    channels(session, receiver)
    start = datetime(2025, 10, 6, 3, 0)

    def open_alerts(n: int, offset: int) -> list[int]:
        out = [alerts.open_for_event(session=session, event=make_event(session, title=f"事件{offset + k}")).id
               for k in range(n)]  # type: ignore[union-attr]
        session.commit()
        return [i for i in out if i is not None]

    with time_machine.travel(start, tick=False):
        ids = open_alerts(23, 0)
        notify.deliver_due()  # 20 sent per robot, 3 held
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        receiver.fail_next["/wecom/send"] = 1  # the WeCom digest fails once ...
        ids += open_alerts(22, 100)  # ... while new notices fill the window and are held again
        for _ in range(3):
            notify.deliver_due()
    for seconds in (10, 15, 20):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            notify.deliver_due()
    wecom = receiver.on("/wecom/send")
    assert sorted(int(m) for msg in wecom for m in ALERT_ID.findall(msg.text())) == sorted(ids)
    with Session(session.get_bind()) as fresh:
        digests = fresh.exec(select(Notification).where(col(Notification.dedupe_key).startswith("digest:"))).all()
    assert all(d.status == "sent" for d in digests)
