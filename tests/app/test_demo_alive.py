"""The demo a new user meets looks alive on the day it runs (loaded in-process, without serving)."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.config import Settings
from core.mentions.models import Mention
from core.tickets import queues
from core.tickets.models import Ticket, TicketTimeline
from core.timeutil import ensure_utc, utcnow
from core.users.models import Role, User

pytestmark = pytest.mark.slow


def test_the_demo_has_a_live_month_a_closed_last_year_and_alerts_only_for_open_matters(
        app_env: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.demo import DEMO_USERS, run_demo

    monkeypatch.setenv("YUQING_AUTO_TICKET_GRADES", "[]")  # run_demo sets it; restored after the test
    assert run_demo(host="127.0.0.1", port=0, serve=False) == 0
    session.expire_all()
    now = utcnow()

    recent = session.exec(select(Mention).where(col(Mention.seen_at) >= now - timedelta(days=30))).all()
    assert len(recent) >= 20 and len({m.channel for m in recent}) >= 4  # weibo, wechat, board, news, hotline

    all_tickets = session.exec(select(Ticket)).all()
    old = [t for t in all_tickets if ensure_utc(t.created_at) < now - timedelta(days=35)]
    assert old and all(t.state == "closed" for t in old)  # last year is handled, nothing left to escalate
    recent_tickets = [t for t in all_tickets if t not in old]
    closed = [t for t in recent_tickets if t.state == "closed"]
    assert len(closed) >= 4 and len(closed) > len(recent_tickets) / 3

    users = {u.username: u for u in session.exec(select(User)).all()}
    assert {Role(u.role) for u in users.values()} == set(Role)
    logins = json.loads((app_env.var_dir / "demo_logins.json").read_text(encoding="utf-8"))
    assert {name for name, *_ in DEMO_USERS} <= set(logins)

    leader = users["leader"]
    overdue = queues.get_queue(session=session, user=leader, queue="overdue")
    assert 1 <= len(overdue) <= 2
    for ticket in overdue:
        steps = session.exec(select(TicketTimeline).where(
            TicketTimeline.ticket_id == ticket.id, col(TicketTimeline.action) == "escalate")
            .order_by(col(TicketTimeline.id))).all()
        assert steps, "an overdue matter has been escalated"
        times = [ensure_utc(s.at) for s in steps]
        # One level at a time, when each fell due: never several levels in the same minute.
        assert all(b - a >= timedelta(minutes=30) for a, b in pairwise(times))
        assert all("分钟" in s.note and int(s.note.split("已超期")[1].split("分钟")[0]) <= 24 * 60 for s in steps)
    review = queues.get_queue(session=session, user=leader, queue="mine")
    assert review and review[0].draft_text  # 待我签发 shows the reply to sign
    assert queues.get_queue(session=session, user=users["duty"], queue="mine")  # 待交办
    assert any(queues.counts(session=session, user=u)["due_soon"] for u in users.values() if u.role == "handler")

    alerts = session.exec(select(Alert)).all()
    ticketed = {t.event_id for t in all_tickets}
    live = [a for a in alerts if a.status in ("open", "acknowledged")]
    assert live, "the duty officer has something to look at"
    assert all(a.event_id not in ticketed for a in live)  # a ticket closes its alert
    assert all(now - ensure_utc(a.created_at) < timedelta(hours=2) for a in live)  # no stale alerts
