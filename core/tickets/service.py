"""Tickets (舆情工单): state machine, clocks, timeline, responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.errors import Conflict, InvalidInput, NotFound
from core.events.models import Event
from core.tickets.clocks import deadlines_for
from core.tickets.models import (
    RESPONSE_CHANNELS,
    STATE_LABELS,
    Response,
    ResponseCreate,
    ResponseKind,
    Ticket,
    TicketState,
    TicketTimeline,
)
from core.timeutil import ensure_utc, utcnow

S = TicketState
# Allowed moves. Grades I-II pass through review (leader sign-off) before responding.
TRANSITIONS: dict[str, set[str]] = {
    S.triage: {S.assigned, S.dismissed},
    S.assigned: {S.handling, S.responded},
    S.handling: {S.review, S.responded},
    S.review: {S.handling, S.responded},
    S.responded: {S.closed, S.handling},
    S.closed: {S.handling},  # reopen
    S.dismissed: {S.triage},  # reopen a false alarm
}
SIGN_OFF_GRADES = {"I", "II"}
RESPONDABLE = {S.assigned, S.handling, S.review, S.responded}


def get(*, session: Session, ticket_id: int) -> Ticket:
    """Return a ticket or raise NotFound."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"工单不存在: {ticket_id}")
    return ticket


def get_all(*, session: Session, state: str | None = None, unit_id: int | None = None,
            limit: int = 100, offset: int = 0) -> list[Ticket]:
    """Return tickets, newest first."""
    stmt = select(Ticket).order_by(col(Ticket.id).desc())
    if state:
        stmt = stmt.where(Ticket.state == state)
    if unit_id is not None:
        stmt = stmt.where(Ticket.unit_id == unit_id)
    return list(session.exec(stmt.offset(offset).limit(limit)))


def get_for_event(*, session: Session, event_id: int) -> Ticket | None:
    """Return the ticket of an event, if one was opened."""
    return session.exec(select(Ticket).where(Ticket.event_id == event_id)).first()


def open_from_event(*, session: Session, event_id: int, actor_id: int | None,
                    unit_id: int | None = None, handler_id: int | None = None, note: str = "",
                    opened_at: datetime | None = None) -> tuple[Ticket, bool]:
    """Open the ticket of an event (one per event); returns it and whether it is new."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"舆情事件不存在: {event_id}")
    existing = get_for_event(session=session, event_id=event_id)
    if existing is not None:
        return existing, False
    now = ensure_utc(opened_at) if opened_at else utcnow()
    due = deadlines_for(event.grade, now)
    ticket = Ticket(
        event_id=event_id, title=event.title, grade=event.grade, topic=event.topic,
        note=note, created_by_id=actor_id, first_handler_id=actor_id, created_at=now,
        updated_at=now, first_info_due_at=due.first_info_due_at,
        response_due_at=due.response_due_at, close_due_at=due.close_due_at,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
    except IntegrityError:
        # Another request opened it first: one ticket per event.
        raced = get_for_event(session=session, event_id=event_id)
        if raced is None:
            raise
        return raced, False
    assert ticket.id is not None
    _log(session, ticket.id, actor_id, "open", "", ticket.state, note or "开单", at=now)
    if unit_id is not None:
        assign(session=session, ticket_id=ticket.id, actor_id=actor_id, unit_id=unit_id,
               handler_id=handler_id, at=now)
    return ticket, True


def assign(*, session: Session, ticket_id: int, actor_id: int | None, unit_id: int,
           handler_id: int | None = None, note: str = "", at: datetime | None = None) -> Ticket:
    """Hand the ticket to a responsible unit (交办)."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    ticket.unit_id, ticket.handler_id = unit_id, handler_id
    if ticket.state == S.triage:
        _move(session, ticket, S.assigned, actor_id, note or "交办", action="assign", at=now)
        ticket.assigned_at = now
    else:
        _log(session, ticket_id, actor_id, "reassign", ticket.state, ticket.state,
             note or f"改派至单位 {unit_id}", at=now)
    session.add(ticket)
    return ticket


def transition(*, session: Session, ticket_id: int, to_state: str, actor_id: int | None,
               note: str = "", at: datetime | None = None) -> Ticket:
    """Move a ticket to another state, or raise Conflict for an illegal move."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if to_state == S.dismissed and not note.strip():
        raise InvalidInput("标记误报需要填写原因")
    if to_state == S.responded:
        raise Conflict("请通过“记录回应”进入已回应状态")
    if to_state == S.assigned and ticket.unit_id is None:
        raise Conflict("交办前请指定责任单位")
    _move(session, ticket, to_state, actor_id, note, action="transition", at=now)
    if to_state == S.closed:
        ticket.closed_at = now
    if to_state == S.dismissed:
        ticket.dismiss_reason = note.strip()
    session.add(ticket)
    return ticket


def record_response(*, session: Session, ticket_id: int, response_in: ResponseCreate,
                    actor_id: int | None) -> Response:
    """Record a public response (回应 or 政策解读); the ticket becomes 已回应."""
    ticket = get(session=session, ticket_id=ticket_id)
    if response_in.channel not in RESPONSE_CHANNELS:
        raise InvalidInput(f"未知的回应渠道: {response_in.channel}")
    if response_in.kind not in {k.value for k in ResponseKind}:
        raise InvalidInput(f"未知的回应类型: {response_in.kind}")
    if ticket.state not in RESPONDABLE:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，不能记录回应")
    approved_by_id = ticket.signed_off_by_id
    if ticket.grade in SIGN_OFF_GRADES and approved_by_id is None:
        raise Conflict(f"{ticket.grade}级舆情的回应须经领导审核签发后方可发布")
    now = utcnow()
    published = ensure_utc(response_in.published_at) if response_in.published_at else now
    response = Response(
        ticket_id=ticket_id, channel=response_in.channel, kind=response_in.kind,
        url=response_in.url, title=response_in.title, summary=response_in.summary,
        published_at=published, approved_by_id=approved_by_id,
        approved_at=ticket.signed_off_at, created_by_id=actor_id,
    )
    session.add(response)
    session.flush()
    if ticket.first_response_at is None or published < ensure_utc(ticket.first_response_at):
        ticket.first_response_at = published
    note = f"{RESPONSE_CHANNELS[response.channel]}：{response.title or response.summary[:60]}"
    if ticket.state != S.responded:
        _move(session, ticket, S.responded, actor_id, note, action="respond", at=published)
    else:
        _log(session, ticket_id, actor_id, "respond", ticket.state, ticket.state, note,
             at=published)
    session.add(ticket)
    return response


def sign_off(*, session: Session, ticket_id: int, leader_id: int, note: str = "") -> Ticket:
    """A leader reviews and signs off (审核签发) the draft response of a ticket under review."""
    ticket = get(session=session, ticket_id=ticket_id)
    if ticket.state != S.review:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，只有待审核的工单可以签发")
    now = utcnow()
    ticket.signed_off_by_id, ticket.signed_off_at = leader_id, now
    assert ticket.id is not None
    _log(session, ticket.id, leader_id, "sign_off", ticket.state, ticket.state,
         note or "审核签发", at=now)
    session.add(ticket)
    return ticket


def update_notes(*, session: Session, ticket_id: int, actor_id: int | None,
                 online_note: str | None = None, offline_note: str | None = None) -> Ticket:
    """Record 线上情况 / 线下情况 of the handling."""
    ticket = get(session=session, ticket_id=ticket_id)
    changes = []
    if online_note is not None and online_note != ticket.online_note:
        ticket.online_note = online_note
        changes.append(f"线上情况：{online_note[:200]}")
    if offline_note is not None and offline_note != ticket.offline_note:
        ticket.offline_note = offline_note
        changes.append(f"线下情况：{offline_note[:200]}")
    if changes:
        ticket.updated_at = utcnow()
        assert ticket.id is not None
        _log(session, ticket.id, actor_id, "note", ticket.state, ticket.state, "；".join(changes),
             at=ticket.updated_at)
        session.add(ticket)
    return ticket


def responses(*, session: Session, ticket_id: int) -> list[Response]:
    """Return a ticket's responses, oldest first."""
    return list(session.exec(select(Response).where(Response.ticket_id == ticket_id)
                             .order_by(col(Response.published_at))))


def timeline(*, session: Session, ticket_id: int) -> list[TicketTimeline]:
    """Return a ticket's timeline, oldest first."""
    return list(session.exec(select(TicketTimeline).where(TicketTimeline.ticket_id == ticket_id)
                             .order_by(col(TicketTimeline.id))))


def _move(session: Session, ticket: Ticket, to_state: str, actor_id: int | None, note: str,
          *, action: str, at: datetime) -> None:
    if to_state not in STATE_LABELS:
        raise InvalidInput(f"未知的工单状态: {to_state}")
    allowed = TRANSITIONS.get(ticket.state, set())
    if to_state not in allowed:
        raise Conflict(
            f"不能从“{STATE_LABELS[ticket.state]}”转为“{STATE_LABELS[to_state]}”"
        )
    assert ticket.id is not None
    _log(session, ticket.id, actor_id, action, ticket.state, to_state, note, at=at)
    ticket.state = to_state
    ticket.updated_at = at


def _log(session: Session, ticket_id: int, actor_id: int | None, action: str, from_state: str,
         to_state: str, note: str, *, at: datetime) -> None:
    session.add(TicketTimeline(ticket_id=ticket_id, actor_id=actor_id, action=action,
                               from_state=from_state, to_state=to_state, note=note[:2000], at=at))
