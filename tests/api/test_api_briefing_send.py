"""Briefings sent: e-mail gets the Word file, WeCom/DingTalk a link that opens it without a login
until it expires (audited, its token kept out of responses and logs); 立即报送 from the page; PDF."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.audit.models import AuditLog
from core.events.models import Event
from core.notify import service as notify
from core.notify.models import Notification, NotificationChannelCreate
from core.redact import guard_loggers
from core.reports import briefing_send, pdf
from core.reports.models import BriefingDocument
from core.timeutil import SHANGHAI, to_local, utcnow
from tests.api.test_api_tickets import people  # noqa: F401  (fixture)
from tests.conftest import unavailable
from tests.security.receivers import mailbox, robot

LINK = re.compile(r"https?://\S+/api/reports/briefing/documents/(\d+)/file\?token=([A-Za-z0-9_-]+)")


def beat_time() -> datetime:
    """09:00 Beijing of the latest day whose 09:00 has passed: the beat may send, the link is fresh."""
    local = to_local(utcnow())
    at = datetime.combine(local.date(), datetime.min.time().replace(hour=9), tzinfo=SHANGHAI)
    return at if at <= local else at - timedelta(days=1)


def channels(session: Session, box_url: str, robot_url: str) -> None:
    for name, kind, url in (("值班邮箱", "email", box_url), ("值班群", "wecom", f"{robot_url}/wecom?key=k"),
                            ("领导群", "dingtalk", f"{robot_url}/dingtalk?access_token=t")):
        notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
            name=name, kind=kind, url=url, config={"to": ["duty@example.com"]} if kind == "email" else {}))
    session.commit()


def test_the_beat_mails_the_file_and_gives_robots_a_link_that_expires(
        client: TestClient, session: Session, people: dict[str, Any],  # noqa: F811
        make_event: Callable[..., Event]) -> None:
    now = beat_time()
    make_event("站前小区暖气不热", topic="heating", grade="III", seen_at=now - timedelta(days=1))
    with mailbox() as box, robot() as receiver:
        channels(session, f"smtp://{box.host}:{box.port}", receiver.base_url)
        queued = briefing_send.send(session=session, now=now)
        session.commit()
        assert len(queued) == 3 * 3  # day, week, month × three channels
        stats = notify.deliver_due()
        assert (stats.sent, stats.failed) == (9, 0)
    # E-mail: the Word file attached, and it opens.
    assert len(box.messages) == 3
    daily = next(m for _, m in box.messages if "日报" in str(m["Subject"]))
    files = [p for p in daily.iter_attachments()]
    assert [p.get_filename() for p in files] == [
        f"yuqing-briefing-daily-{to_local(now).date() - timedelta(days=1)}.docx"]
    doc = Document(io.BytesIO(files[0].get_content()))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "站前小区暖气不热" in text and "研判意见" in text and len(doc.inline_shapes) >= 1
    # Each sent file's figures are the API's JSON for the same period.
    for period, mail in ((p, m) for p in ("daily", "weekly", "monthly") for _, m in box.messages
                         if briefing_send.briefing.PERIODS[p] in str(m["Subject"])):
        attached = Document(io.BytesIO(next(mail.iter_attachments()).get_content()))
        day = briefing_send.last_completed(period, to_local(now).date())
        body = client.get(f"/api/reports/briefing?period={period}&date={day}", headers=people["h"]["duty"]).json()
        assert [[c.text for c in r.cells][:3] for r in attached.tables[0].rows[1:]] == [
            [f["label"], str(f["value"]), str(f["previous"])] for f in body["figures"]], period
    # Robots: a link in the text; it downloads the same file without a login.
    assert len(receiver.posts) == 6
    _, body = next(b for b in receiver.posts if b[0].startswith("/wecom") and "日报" in str(b[1]))
    found = LINK.search(str(body["markdown"]["content"]))
    assert found, body
    doc_id, token = int(found.group(1)), found.group(2)
    url = f"/api/reports/briefing/documents/{doc_id}/file?token={token}"
    res = client.get(url)
    assert res.status_code == 200 and res.content == files[0].get_content()
    assert res.headers["cache-control"] == "no-store"
    # A wrong token, another document's id with this token: refused alike.
    assert client.get(f"/api/reports/briefing/documents/{doc_id}/file?token={'x' * 43}").status_code == 404
    assert client.get(f"/api/reports/briefing/documents/{doc_id + 1}/file?token={token}").status_code == 404
    # The token is not stored (only its hash) and the outbox shows it masked.
    stored = session.get(BriefingDocument, doc_id)
    assert stored is not None and token not in stored.token_hash and stored.downloads == 1
    listed = client.get("/api/notifications", headers=people["h"]["admin"]).json()
    assert listed and token not in str(listed)
    downloads = session.exec(select(AuditLog).where(AuditLog.entity == "briefing_document",
                                                    AuditLog.action == "download")).all()
    assert [a.entity_id for a in downloads] == [doc_id]
    # Past its expiry the link is dead.
    stored.expires_at = utcnow() - timedelta(seconds=1)
    session.add(stored)
    session.commit()
    res = client.get(url)
    assert res.status_code == 404 and "过期" in res.json()["detail"]


def test_the_access_log_never_shows_a_link_token() -> None:
    from uvicorn.logging import AccessFormatter

    guard_loggers("uvicorn.access")
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/api/reports/briefing/documents/3/file?token={token}&x=1",
                                "1.1", 200), None)
    for f in logging.getLogger("uvicorn.access").filters:
        assert f.filter(record)
    # Formatted as uvicorn formats it (it unpacks record.args).
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert token not in line and "/documents/3/file?token=" in line and "&x=1" in line and "200" in line
    # An httpx request line (the URL is an object, not a str) is cleaned too.
    import httpx

    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s %d %s"',
                               ("POST", httpx.URL(f"http://robot.example/send?key={token}"), "HTTP/1.1", 200, "OK"),
                               None)
    guard_loggers("httpx")
    for f in logging.getLogger("httpx").filters:
        f.filter(record)
    assert token not in record.getMessage() and "robot.example/send?key=" in record.getMessage()


def test_send_now_from_the_page_carries_the_opinion(
        client: TestClient, session: Session, people: dict[str, Any],  # noqa: F811
        make_event: Callable[..., Event]) -> None:
    h = people["h"]
    today = to_local(utcnow()).date()
    body = {"period": "weekly", "date": str(today), "opinion": "建议持续关注供暖\n[点此](http://evil.example)"}
    res = client.post("/api/reports/briefing/send", headers=h["duty"], json=body)
    assert res.status_code == 409 and "通知渠道" in res.json()["detail"]  # nowhere to send
    make_event("站前小区暖气不热", topic="heating", grade="III")
    with mailbox() as box, robot() as receiver:
        channels(session, f"smtp://{box.host}:{box.port}", receiver.base_url)
        res = client.post("/api/reports/briefing/send", headers=h["duty"], json=body)
        assert res.status_code == 201, res.text
        sent = res.json()
        assert sent["channels"] == 3 and sent["filename"].startswith("yuqing-briefing-weekly-")
        # Sent again: a second, separate dispatch (the duty officer asked twice on purpose).
        assert client.post("/api/reports/briefing/send", headers=h["duty"], json=body).json()["channels"] == 3
        assert notify.deliver_due().sent == 6
    _, mail = box.messages[0]
    doc = Document(io.BytesIO(next(mail.iter_attachments()).get_content()))
    assert "建议持续关注供暖" in "\n".join(p.text for p in doc.paragraphs)
    text = str(receiver.posts[0][1]["markdown"])
    assert "建议持续关注供暖" in text and "](http" not in text
    audit = session.exec(select(AuditLog).where(AuditLog.entity == "briefing_document")
                         .order_by(col(AuditLog.id))).all()
    assert [(a.action, a.actor_id) for a in audit] == [("send", people["duty"].id)] * 2
    assert client.post("/api/reports/briefing/send", headers=h["handler_a"], json=body).status_code == 403
    rows = session.exec(select(Notification)).all()
    assert {r.document_id for r in rows} == {sent["document_id"], sent["document_id"] + 1}


def test_the_api_says_whether_it_can_make_a_pdf(client: TestClient, people: dict[str, Any],  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    h = people["h"]
    url = f"/api/reports/briefing?period=daily&date={to_local(utcnow()).date()}&format=pdf"
    with monkeypatch.context() as m:  # a server without LibreOffice on its PATH
        m.setenv("PATH", str(tmp_path))
        formats = client.get("/api/reports/formats", headers=h["duty"]).json()
        assert formats == {"briefing": ["json", "docx"], "pdf": False, "pdf_note": pdf.MISSING}
        res = client.get(url, headers=h["duty"])
        assert res.status_code == 501 and "LibreOffice" in res.json()["detail"] and "Word" in res.json()["detail"]
    if pdf.converter() is None:
        unavailable("LibreOffice (soffice)", "not on PATH: the PDF itself is not tested here; .ci/run installs it")
    formats = client.get("/api/reports/formats", headers=h["duty"]).json()
    assert formats["pdf"] is True and "pdf" in formats["briefing"]
    res = client.get(url, headers=h["duty"])
    assert res.status_code == 200 and res.headers["content-type"] == "application/pdf"
    assert res.content.startswith(b"%PDF-") and b"/Image" in res.content  # the charts came along
    assert res.headers["content-disposition"].endswith('.pdf"')
