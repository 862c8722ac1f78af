"""The duty officer's daily notice (值班提醒): what is open today, and what the admin must enter.

Sent once a local day (the key is the date), from `DAILY_HOUR` on, to the officers on duty.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from core.alerts.models import Alert
from core.calendar import service as office_calendar
from core.duty import service as duty
from core.notify import service as notify
from core.notify.models import Notification
from core.tickets.models import Ticket
from core.tickets.service import OPEN_STATES
from core.timeutil import SHANGHAI, ensure_utc, to_local, utcnow

DAILY_HOUR = 8  # local time from which the day's notice goes out


def compose(*, session: Session, now: datetime | None = None) -> tuple[str, str]:
    """Subject and body of today's notice."""
    now = ensure_utc(now) if now else utcnow()
    today = to_local(now).date()
    day_end = ensure_utc(datetime(today.year, today.month, today.day, tzinfo=SHANGHAI) + timedelta(days=1))
    open_alerts = _count(session, select(func.count()).select_from(Alert).where(Alert.status == "open"))
    is_open = col(Ticket.state).in_(OPEN_STATES)
    open_tickets = _count(session, select(func.count()).select_from(Ticket).where(is_open))
    overdue = _count(session, select(func.count()).select_from(Ticket).where(
        is_open, col(Ticket.close_due_at) < now))
    due_today = _count(session, select(func.count()).select_from(Ticket).where(
        is_open, col(Ticket.close_due_at) >= now, col(Ticket.close_due_at) < day_end))
    provisional = _count(session, select(func.count()).select_from(Ticket).where(
        is_open, col(Ticket.close_due_provisional)))
    officers = [r.name for r in duty.recipients(session=session, audience="duty", at=now)]
    subject = f"【值班提醒】{today:%Y-%m-%d}"
    lines = [subject, f"今日值班：{'、'.join(officers) or '未排班'}",
             f"未签收预警 {open_alerts} 条；未办结工单 {open_tickets} 件，"
             f"其中已超期 {overdue} 件、今日到期 {due_today} 件。"]
    status = office_calendar.status(session=session, today=today)
    if status.warning:
        lines.append(f"⚠ {status.warning}：工作日历只到{status.covered_until:%Y-%m-%d}，此后的办结时限暂按"
                     f"周一至周五计算（{provisional} 件工单的办结时限为暂定）。请提醒管理员按国务院办公厅"
                     "放假通知录入节假日和调休上班日。")
    return subject, "\n".join(lines)


def send(*, session: Session, now: datetime | None = None, hour: int = DAILY_HOUR) -> list[Notification]:
    """Queue today's notice for the duty audience once (nothing before `hour` local time)."""
    now = ensure_utc(now) if now else utcnow()
    local = to_local(now)
    if local.hour < hour:
        return []
    subject, body = compose(session=session, now=now)
    people = duty.recipients(session=session, audience="duty", at=now)
    return notify.enqueue(session=session, now=now, notice=notify.Notice(
        key=f"duty-daily:{local:%Y%m%d}", subject=subject, body=body, audience="duty",
        recipients=people))


def _count(session: Session, stmt: object) -> int:
    return int(session.exec(stmt).one() or 0)  # type: ignore[call-overload]
