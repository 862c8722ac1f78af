"""Notices cannot be forged (markdown links, fake lines) or silenced (a CR/LF in a mail header)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from core.config import Settings
from core.notify import service as notify
from core.notify import templates
from core.notify.models import Notification, NotificationChannelCreate
from tests.security.receivers import mailbox, robot

EVIL = "[点此紧急签收](http://evil.example/login) <a href='http://evil.example'>x</a> **加急** www.evil.example"
MD_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")


def alert_notice(title: str) -> notify.Notice:
    subject, body = templates.alert_notice(alert_id=7, grade="II", title=title, reason="负面信息集中\n查看：http://evil",
                                           topic="parking", step=1, audience_label="值班人员",
                                           people=["王值班](http://evil.example)"], minutes=0)
    return notify.Notice(key="alert:7:step1:duty", subject=subject, body=body, audience="duty",
                         link=templates.alert_link(7), grade="II")


def test_a_title_cannot_put_a_link_or_markup_into_a_robot_message(session: Session, app_env: Settings) -> None:
    with robot() as receiver:
        for kind in ("wecom", "dingtalk"):
            notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
                name=kind, kind=kind, url=f"{receiver.base_url}/{kind}?key=k"))
        notify.enqueue(session=session, notice=alert_notice(f"站前小区停车难{EVIL}\n# 紧急\n查看：http://evil.example"))
        session.commit()
        stats = notify.deliver_due()
        assert stats.sent == 2 and len(receiver.posts) == 2
        for _, body in receiver.posts:
            text = body["markdown"].get("content") or body["markdown"]["text"]
            assert "[" not in body["markdown"].get("title", "")  # DingTalk's title line too
            assert not MD_LINK.search(text), text
            assert "http://evil" not in text and "<a" not in text and "**" not in text
            assert "www.evil" not in text
            # Our own link is the one link left, on the one line that starts with 查看.
            assert [ln for ln in text.splitlines() if ln.startswith("查看：")] == [f"查看：{templates.alert_link(7)}"]
            assert not any(ln.startswith("#") for ln in text.splitlines())
            assert "站前小区停车难" in text and "点此紧急签收" in text  # still readable


@pytest.mark.parametrize("title", ["第一行\n第二行", "停车\r\nBcc: victim@example.com", "\u2028分隔"])
def test_a_title_with_a_line_break_still_gets_its_mail_out(session: Session, app_env: Settings,
                                                           title: str) -> None:
    with mailbox() as box:
        notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
            name="值班邮箱", kind="email", url=f"smtp://{box.host}:{box.port}",
            config={"to": ["duty@example.com", "bad\r\nBcc: x@example.com"], "from": "yuqing@example.com\nX: y"}))
        notice = alert_notice(title)
        notice.recipients = []
        notify.enqueue(session=session, notice=notice)
        session.commit()
        stats = notify.deliver_due()
        row = session.exec(select(Notification)).one()
        session.refresh(row)
        assert (stats.sent, row.status, row.last_error) == (1, "sent", "")
        assert len(box.messages) == 1
        rcpts, mail = box.messages[0]
        assert rcpts == ["duty@example.com"]
        assert mail["Bcc"] is None and mail["X"] is None
        subject = str(mail["Subject"])
        assert "\n" not in subject and "\r" not in subject and templates.safe(title) in subject
        assert str(mail["From"]) == "yuqing@localhost"  # the forged From was dropped for the default


def test_header_helpers() -> None:
    assert templates.header_text("a\r\nBcc: b") == "a Bcc: b"
    assert templates.email_address("ok@example.com") == "ok@example.com"
    for bad in ("a@b.c\r\nBcc: d@e.f", "x, y@z.org", "<a@b.c>", "no-at-sign"):
        assert templates.email_address(bad) == ""
