"""Secrets are write-only: stored and used, shown masked, never in a response, an audit row or a log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.audit.models import AuditLog
from core.notify import service as notify
from core.notify.models import NotificationChannel
from core.redact import mask, redact_text, redact_url
from tests.security.conftest import Office, all_text
from tests.security.receivers import robot
from tests.security.test_access_matrix import API_ROUTES

WECOM_KEY = "693a91f6-7b1c-4bc4-97a0-0ec2e1fa5aaa"
DING_TOKEN = "d1n9t0k3nAbCdEfGhIjKlMnOpQrStUvWx"
DING_SECRET = "SECd1n9s1gn1ngs3cr3tValue0123456789"
SMTP_PASSWORD = "Sm7pPassw0rd-Zhanqian"
HOOK_TOKEN = "T0k3nInThePath9f8e7d6c5b4a"
HOOK_SECRET = "hmacSecretForWebhook1234567"
NEW_KEY = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
NEW_SECRET = "SECrotatedSecretValue98765432100"
FEED_KEY = "rsshubAccessKey5566778899"
COOKIE = "SUB=_2A25cookieValueOfWeibo0123456789"
SECRETS = [WECOM_KEY, DING_TOKEN, DING_SECRET, SMTP_PASSWORD, HOOK_TOKEN, HOOK_SECRET, NEW_KEY, NEW_SECRET,
           FEED_KEY, COOKIE]


def leaks(text: str) -> list[str]:
    # The full secret, and its first half (the masked form keeps only the last four characters).
    return [s for s in SECRETS if s in text or s[: len(s) // 2] in text]


def test_the_mask_helper() -> None:
    assert mask(WECOM_KEY) == "…5aaa" and mask("short") == "…" and mask("") == ""
    assert redact_url(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}") == \
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…5aaa"
    assert redact_url(f"smtp://duty%40x.cn:{SMTP_PASSWORD}@mail.example:465") == \
        "smtp://duty%40x.cn:…qian@mail.example:465"
    assert redact_url(f"https://open.feishu.cn/open-apis/bot/v2/hook/{HOOK_TOKEN}").endswith("/hook/…5b4a")
    assert DING_TOKEN not in redact_text(f"无法连接 https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}，超时")


def test_no_secret_in_any_response_audit_row_or_log_line(
        client: TestClient, office: Office, session: Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin = office.headers["admin"]
    answers: list[Any] = []
    with robot() as receiver:
        receiver.refuse = True  # answers 500 quoting the URL it was sent to, key and all
        bodies = [
            {"name": "企业微信值班群", "kind": "wecom",
             "url": f"{receiver.base_url}/cgi-bin/webhook/send?key={WECOM_KEY}"},
            {"name": "钉钉值班群", "kind": "dingtalk", "secret": DING_SECRET,
             "url": f"{receiver.base_url}/robot/send?access_token={DING_TOKEN}"},
            {"name": "值班邮箱", "kind": "email", "url": f"smtp://duty:{SMTP_PASSWORD}@127.0.0.1:9",
             "config": {"to": ["duty@example.com"]}},
            {"name": "飞书", "kind": "webhook", "secret": HOOK_SECRET,
             "url": f"{receiver.base_url}/open-apis/bot/v2/hook/{HOOK_TOKEN}"},
        ]
        ids = []
        for body in bodies:
            res = client.post("/api/notifications/channels", headers=admin, json=body)
            assert res.status_code == 201, res.text
            answers.append(res.json())
            ids.append(res.json()["id"])
        shown = answers[0]["url"]
        assert shown.endswith("key=…5aaa") and answers[1]["secret_masked"] == "…6789"
        # A form that sends the masked URL back keeps the stored key; a new key replaces it.
        res = client.patch(f"/api/notifications/channels/{ids[0]}", headers=admin, json={"url": shown})
        assert res.status_code == 200
        session.expire_all()
        assert session.get(NotificationChannel, ids[0]).url.endswith(WECOM_KEY)  # type: ignore[union-attr]
        for channel_id, body in ((ids[0], {"url": f"{receiver.base_url}/cgi-bin/webhook/send?key={NEW_KEY}"}),
                                 (ids[1], {"secret": NEW_SECRET, "enabled": True}),
                                 (ids[2], {"url": f"smtp://duty:{SMTP_PASSWORD}x@127.0.0.1:9"})):
            res = client.patch(f"/api/notifications/channels/{channel_id}", headers=admin, json=body)
            assert res.status_code == 200, res.text
            answers.append(res.json())
        source = client.post("/api/sources", headers=admin, json={
            "name": "RSSHub 微博", "kind": "feed", "url": f"http://127.0.0.1:9/weibo/user/1?key={FEED_KEY}",
            "params": {"access_token": FEED_KEY}})
        assert source.status_code == 201, source.text
        answers.append(source.json())
        res = client.put(f"/api/sources/{source.json()['id']}/credentials", headers=admin, json={"cookie": COOKIE})
        answers.append(res.json())
        assert res.json()["has_credentials"] is True

        # Deliveries fail against a receiver that quotes the URL: errors are stored and logged.
        notify.enqueue(session=session, notice=notify.Notice(key="t1", subject="测试", body="测试", audience="duty"))
        session.commit()
        stats = notify.deliver_due()
        assert stats.retried == 4

    # Every GET route, as each role that may call it.
    for method, path in API_ROUTES:
        if method != "GET":
            continue
        url = path
        for name in ("channel_id", "source_id", "alert_id", "ticket_id", "event_id", "mention_id"):
            url = url.replace("{" + name + "}", "1")
        for role in ("admin", "leader", "duty"):
            params = {"year": 2026} if path == "/api/ledger" else None
            res = client.get(url, headers=office.headers[role], params=params)
            assert res.status_code < 500, (url, res.text)
            answers.append(res.text)
    rows = list(session.exec(select(AuditLog)))
    assert {r.entity for r in rows} >= {"channel"}
    assert not leaks(all_text(answers)), leaks(all_text(answers))
    assert not leaks(all_text([(r.before, r.after, r.note) for r in rows]))
    assert "invalid webhook url" in caplog.text  # the errors were logged ...
    assert not leaks(caplog.text), leaks(caplog.text)  # ... without the keys they quoted


def test_a_fetch_error_quoting_the_url_or_cookie_is_stored_masked(session: Session, office: Office) -> None:
    from core.alerts.models import Alert
    from core.sources import service as sources
    from core.sources.models import Source

    source = Source(name="微博", kind="weibo", url=f"http://127.0.0.1:9/api?key={FEED_KEY}",
                    credentials={"cookie": COOKIE})
    session.add(source)
    session.flush()
    sources.record_failure(session=session, source=source, health="login_expired",
                           error=f"GET http://127.0.0.1:9/api?key={FEED_KEY} -> 403; sent {COOKIE}")
    session.commit()
    alerts = list(session.exec(select(Alert).where(Alert.source_id == source.id)))
    assert alerts and not leaks(all_text([source.last_error] + [a.reason for a in alerts]))
    assert "…" in source.last_error


def test_the_migration_masks_audit_rows_written_before(app_env: object, database_url: str) -> None:
    import json

    import sqlalchemy as sa

    from core import migrate
    from core.db import get_engine

    migrate.downgrade(database_url, "0006")
    after = json.dumps({"url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
                        "name": "值班群"})
    with get_engine().begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_log (at, entity, entity_id, action, before, after, note) "
                             "VALUES (CURRENT_TIMESTAMP, 'channel', 1, 'create', '{}', :a, '')"), {"a": after})
    migrate.upgrade(database_url)
    with get_engine().connect() as conn:
        stored = conn.execute(sa.text("SELECT after FROM audit_log")).scalar_one()
    value = stored if isinstance(stored, dict) else json.loads(stored)
    assert value == {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…5aaa", "name": "值班群"}
