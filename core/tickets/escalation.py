"""Warn before a deadline, then escalate after it: handler → unit head → 分管领导 → 主要领导.

Each step fires once (a unique key per ticket, clock, deadline and step), is a timeline row,
and queues a notice. Paused, closed and dismissed tickets are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.config import get_settings
from core.duty import service as duty
from core.notify import service as notify
from core.notify import templates
from core.tickets import service as tickets
from core.tickets.models import Ticket, TicketEscalation
from core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
OPEN_STATES = ("triage", "assigned", "handling", "review", "responded")
# Escalation level n (1-based) goes to LADDER[n-1].
LADDER = ("handler", "unit_head", "deputy_leader", "principal")


@dataclass(frozen=True)
class Fired:
    ticket_id: int
    clock: str
    step: int  # 0 = warning, 1..4 = escalation level
    audiences: tuple[str, ...]
    at: datetime


def schedule(due_at: datetime) -> list[tuple[int, datetime]]:
    """(step, when) for a deadline: the warning, then each escalation level with its delay."""
    settings = get_settings()
    due = ensure_utc(due_at)
    steps = [(0, due - timedelta(minutes=settings.deadline_warn_minutes))]
    steps += [(n, due + timedelta(minutes=m))
              for n, m in enumerate(settings.escalation_delays_minutes[:len(LADDER)], start=1)]
    return steps


def sweep(*, session: Session, now: datetime | None = None) -> list[Fired]:
    """Fire every reminder and escalation step that is due now."""
    now = ensure_utc(now) if now else utcnow()
    fired: list[Fired] = []
    open_tickets = session.exec(select(Ticket).where(col(Ticket.state).in_(OPEN_STATES),
                                                     col(Ticket.paused_at).is_(None))
                                .order_by(col(Ticket.id))).all()
    for ticket in open_tickets:
        for clock in tickets.clocks(session=session, ticket=ticket):
            if clock.met_at is not None or clock.due_at is None:
                continue
            due = ensure_utc(clock.due_at)
            for step, at in schedule(due):
                if at > now or (step == 0 and now >= due):
                    continue  # not yet; a warning after the deadline is pointless
                result = _fire(session, ticket, clock.name, due, step, now)
                if result is not None:
                    fired.append(result)
    return fired


def _fire(session: Session, ticket: Ticket, clock: str, due: datetime, step: int,
          now: datetime) -> Fired | None:
    settings = get_settings()
    assert ticket.id is not None
    audience = LADDER[0] if step == 0 else LADDER[step - 1]
    audiences = [audience]
    if ticket.grade in settings.principal_at_once_grades and "principal" not in audiences:
        audiences.append("principal")  # grade I: the principal leader hears of every step
    key = f"ticket:{ticket.id}:{clock}:{due:%Y%m%d%H%M}:{step}"
    try:  # two schedulers sweeping at once: the unique key lets one of them fire it
        with session.begin_nested():
            session.add(TicketEscalation(key=key, ticket_id=ticket.id, clock=clock, step=step,
                                         audience=",".join(audiences), due_at=due, at=now))
    except IntegrityError:
        return None
    minutes = abs(int((now - due).total_seconds() // 60))
    label = templates.CLOCK_LABELS.get(clock, clock)
    people_names: list[str] = []
    for aud in audiences:
        people = duty.recipients(session=session, audience=aud, at=now, ticket=ticket)
        people_names += [p.name for p in people]
        subject, body = templates.ticket_notice(
            ticket_id=ticket.id, grade=ticket.grade, title=ticket.title,
            kind="warn" if step == 0 else "escalate", unit=tickets._unit_name(session, ticket.unit_id),
            handler=tickets._user_name(session, ticket.handler_id),
            audience_label=duty.AUDIENCE_LABELS.get(aud, aud), people=[p.name for p in people],
            clock=clock, due_at=due, minutes=minutes, level=step)
        notify.enqueue(session=session, now=now, notice=notify.Notice(
            key=f"{key}:{aud}", subject=subject, body=body, audience=aud, recipients=people,
            link=templates.ticket_link(ticket.id), grade=ticket.grade, topic=ticket.topic,
            unit_id=ticket.unit_id, ticket_id=ticket.id))
    who = "、".join(dict.fromkeys(people_names)) or "（无）"
    if step == 0:
        note = f"{label}时限将于{templates.when(due)}到期，已提醒：{who}"
    else:
        role = "、".join(duty.AUDIENCE_LABELS.get(a, a) for a in audiences)
        note = f"{label}时限已超期{minutes}分钟，第{step}级督办（{role}）：{who}"
    tickets._log(session, ticket.id, None, "remind" if step == 0 else "escalate", ticket.state,
                 ticket.state, note, at=now,
                 changes={"clock": [None, clock], "step": [None, step], "audiences": [None, audiences]})
    log.info("ticket %s %s step %s fired", ticket.id, clock, step)
    return Fired(ticket.id, clock, step, tuple(audiences), now)
