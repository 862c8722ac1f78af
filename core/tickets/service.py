"""Tickets (舆情工单): state machine, clocks, timeline, responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from core.access import OFFICE, Scope
from core.audit import service as audit
from core.calendar import service as office_calendar
from core.config import get_settings
from core.errors import Conflict, InvalidInput, NotFound
from core.events import service as events
from core.events.models import Event
from core.tickets.clocks import WorkCalendar, deadlines_for, working_days_between
from core.tickets.models import (
    PRESS_CHANNELS,
    RESPONSE_CHANNELS,
    STATE_LABELS,
    Response,
    ResponseCreate,
    ResponseKind,
    Ticket,
    TicketClockPause,
    TicketState,
    TicketTimeline,
    TicketUnit,
)
from core.timeutil import ensure_utc, to_local, utcnow

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
            limit: int = 100, offset: int = 0, scope: Scope = OFFICE) -> list[Ticket]:
    """Return the tickets the scope sees, newest first; a unit sees the tickets it leads or assists on."""
    stmt = select(Ticket).where(scope.tickets()).order_by(col(Ticket.id).desc())
    if state:
        stmt = stmt.where(Ticket.state == state)
    if unit_id is not None:
        assisting = select(TicketUnit.ticket_id).where(
            TicketUnit.unit_id == unit_id, col(TicketUnit.removed_at).is_(None))
        stmt = stmt.where(sa.or_(col(Ticket.unit_id) == unit_id, col(Ticket.id).in_(assisting)))
    return list(session.exec(stmt.offset(offset).limit(limit)))


def assisting_unit_ids(*, session: Session, ticket_id: int) -> list[int]:
    """The assisting units (协办单位) of a ticket."""
    return list(session.exec(select(TicketUnit.unit_id).where(
        TicketUnit.ticket_id == ticket_id, col(TicketUnit.removed_at).is_(None))
        .order_by(col(TicketUnit.id))))


def get_for_event(*, session: Session, event_id: int) -> Ticket | None:
    """Return the ticket of an event, if one was opened."""
    return session.exec(select(Ticket).where(Ticket.event_id == event_id)).first()


def open_from_event(*, session: Session, event_id: int, actor_id: int | None,
                    unit_id: int | None = None, handler_id: int | None = None, note: str = "",
                    opened_at: datetime | None = None,
                    assisting_unit_ids: list[int] | None = None) -> tuple[Ticket, bool]:
    """Open the ticket of an event (one per event); returns it and whether it is new."""
    from core.duty import service as duty

    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"舆情事件不存在: {event_id}")
    existing = get_for_event(session=session, event_id=event_id)
    if existing is not None:
        follow_event_grade(session=session, event=event, at=opened_at)
        return existing, False
    now = ensure_utc(opened_at) if opened_at else utcnow()
    days = get_settings().close_working_days
    due = deadlines_for(event.grade, now, days, calendar=office_calendar.load(session=session))
    # 首接人: whoever opened it; an automatic ticket belongs to the officer on duty.
    first_handler = actor_id
    if first_handler is None:
        shifts = duty.on_duty(session=session, at=now, role="officer")
        first_handler = shifts[0].user_id if shifts else None
    ticket = Ticket(
        event_id=event_id, title=event.title, grade=event.grade, topic=event.topic,
        note=note, created_by_id=actor_id, first_handler_id=first_handler, created_at=now,
        updated_at=now, first_info_due_at=due.first_info_due_at,
        response_due_at=due.response_due_at, close_due_at=due.close_due_at,
        press_due_at=due.press_due_at, close_working_days=days, close_started_at=now,
        close_due_provisional=due.close_due_provisional, graded_at=now,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
    except IntegrityError:
        # Another request opened it first: one ticket per event.
        raced = get_for_event(session=session, event_id=event_id)
        if raced is None:
            raise
        follow_event_grade(session=session, event=event, at=opened_at)
        return raced, False
    assert ticket.id is not None
    _log(session, ticket.id, actor_id, "open", "", ticket.state, note or "开单", at=now,
         changes={"first_handler_id": [None, first_handler]} if first_handler else None)
    if ticket.grade in get_settings().principal_at_once_grades:
        _notify(session, ticket, kind="opened", audience="principal", key=f"ticket:{ticket.id}:opened",
                now=now)
    # The alert asked for a decision; the ticket is that decision.
    from core.alerts import service as alerts

    alerts.close_for_event(session=session, event_id=event_id, note=f"已开单（工单 {ticket.id}）",
                           actor_id=actor_id, at=now)
    if unit_id is not None:
        assign(session=session, ticket_id=ticket.id, actor_id=actor_id, unit_id=unit_id,
               handler_id=handler_id, at=now, assisting_unit_ids=assisting_unit_ids)
    return ticket, True


def assign(*, session: Session, ticket_id: int, actor_id: int | None, unit_id: int,
           handler_id: int | None = None, note: str = "", at: datetime | None = None,
           assisting_unit_ids: list[int] | None = None) -> Ticket:
    """Hand the ticket to a lead unit (交办), optionally with assisting units (协办)."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if ticket.state in {S.closed, S.dismissed}:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，不能交办")
    changes = _changes(ticket, {"unit_id": unit_id, "handler_id": handler_id})
    ticket.unit_id, ticket.handler_id = unit_id, handler_id
    if ticket.state == S.triage:
        _move(session, ticket, S.assigned, actor_id, note or "交办", action="assign", at=now,
              changes=changes)
        ticket.assigned_at = now
    else:
        _log(session, ticket_id, actor_id, "reassign", ticket.state, ticket.state,
             note or f"改派至单位 {unit_id}", at=now, changes=changes)
    session.add(ticket)
    if assisting_unit_ids is not None:
        set_assisting_units(session=session, ticket_id=ticket_id, unit_ids=assisting_unit_ids,
                            actor_id=actor_id, at=now)
    _notify(session, ticket, kind="assigned", audience="handler",
            key=f"ticket:{ticket_id}:assigned:{unit_id}:{handler_id}:{now:%Y%m%d%H%M%S}", now=now)
    return ticket


def set_assisting_units(*, session: Session, ticket_id: int, unit_ids: list[int],
                        actor_id: int | None, at: datetime | None = None) -> list[int]:
    """Make `unit_ids` the assisting units (removed ones are kept on record)."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    wanted = [u for u in dict.fromkeys(unit_ids) if u != ticket.unit_id]
    before = assisting_unit_ids(session=session, ticket_id=ticket_id)
    rows = {r.unit_id: r for r in session.exec(select(TicketUnit).where(TicketUnit.ticket_id == ticket_id))}
    for unit_id, row in rows.items():
        if unit_id not in wanted and row.removed_at is None:
            row.removed_at = now
            session.add(row)
    for unit_id in wanted:
        row = rows.get(unit_id) or TicketUnit(ticket_id=ticket_id, unit_id=unit_id, created_at=now)
        row.removed_at = None
        session.add(row)
    if sorted(before) != sorted(wanted):
        _log(session, ticket_id, actor_id, "units", ticket.state, ticket.state,
             f"协办单位：{', '.join(map(str, wanted)) or '无'}", at=now,
             changes={"assisting_unit_ids": [before, wanted]})
    return wanted


def transition(*, session: Session, ticket_id: int, to_state: str, actor_id: int | None,
               note: str = "", at: datetime | None = None) -> Ticket:
    """Move a ticket to another state, or raise Conflict for an illegal move."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if to_state == S.dismissed and not note.strip():
        raise InvalidInput("标记误报需要填写原因")
    if (ticket.state in {S.closed, S.dismissed} and to_state in TRANSITIONS[ticket.state]
            and not note.strip()):
        raise InvalidInput("重新打开工单需要填写原因")
    if to_state == S.responded:
        raise Conflict("请通过“记录回应”进入已回应状态")
    if to_state == S.assigned and ticket.unit_id is None:
        raise Conflict("交办前请指定责任单位")
    from_state = ticket.state
    changes: dict[str, Any] = {}
    if from_state in {S.review, S.responded} and to_state == S.handling:
        changes = _clear_sign_off(ticket)  # a new draft needs a new review and sign-off
    if from_state in {S.closed, S.dismissed}:
        changes = {**_clear_sign_off(ticket), **_reopen(session, ticket, now)}
    action = "reopen" if from_state in {S.closed, S.dismissed} else "transition"
    _move(session, ticket, to_state, actor_id, note, action=action, at=now, changes=changes)
    if action == "reopen":
        # A grade that rose while the ticket was closed applies once it is open again.
        event = session.get(Event, ticket.event_id)
        if event is not None:
            follow_event_grade(session=session, event=event, at=now)
    if to_state == S.closed:
        ticket.closed_at = now
        if ticket.paused_at is not None:
            _end_pause(session, ticket, actor_id, now)
    if to_state == S.dismissed:
        ticket.dismiss_reason = note.strip()
        from core.alerts import service as alerts

        alerts.close_for_event(session=session, event_id=ticket.event_id,
                               note=f"事件已标记误报：{ticket.dismiss_reason}"[:200], actor_id=actor_id, at=now)
    session.add(ticket)
    return ticket


def reopen(*, session: Session, ticket_id: int, actor_id: int | None, note: str,
           at: datetime | None = None) -> Ticket:
    """Reopen a closed ticket (back to 处置中) or a dismissed one (back to 待研判)."""
    ticket = get(session=session, ticket_id=ticket_id)
    if not note.strip():
        raise InvalidInput("重新打开工单需要填写原因")
    target = {S.closed: S.handling, S.dismissed: S.triage}.get(TicketState(ticket.state))
    if target is None:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，无需重新打开")
    return transition(session=session, ticket_id=ticket_id, to_state=target, actor_id=actor_id,
                      note=note, at=at)


def dismiss(*, session: Session, ticket_id: int, actor_id: int | None, reason: str,
            at: datetime | None = None) -> Ticket:
    """Mark as 误报 with the reason (the event's posts become training data for 'other')."""
    return transition(session=session, ticket_id=ticket_id, to_state=S.dismissed, actor_id=actor_id,
                      note=reason, at=at)


def false_alarm_samples(*, session: Session, limit: int = 5000) -> list[dict[str, str]]:
    """`{"text","topic":"other","reason"}` lines from dismissed tickets, for `classify train`."""
    from core.mentions.models import Mention

    rows = session.exec(select(Mention.title, Mention.text, Ticket.dismiss_reason)
                        .join(Ticket, col(Ticket.event_id) == col(Mention.event_id))
                        .where(Ticket.state == S.dismissed).order_by(col(Mention.id)).limit(limit))
    return [{"text": f"{title}\n{text}".strip(), "topic": "other", "reason": reason}
            for title, text, reason in rows]


def pause(*, session: Session, ticket_id: int, actor_id: int | None, reason: str,
          at: datetime | None = None) -> Ticket:
    """Stop the clocks while waiting on a higher authority; the pause is recorded."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if not reason.strip():
        raise InvalidInput("暂停计时需要填写原因（如：待上级部门答复）")
    if ticket.state in {S.closed, S.dismissed}:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，不能暂停计时")
    if ticket.paused_at is not None:
        raise Conflict("工单计时已暂停")
    ticket.paused_at, ticket.pause_reason = now, reason.strip()[:500]
    session.add(TicketClockPause(ticket_id=ticket_id, started_at=now, reason=reason.strip()[:500],
                                 started_by_id=actor_id))
    assert ticket.id is not None
    _log(session, ticket.id, actor_id, "pause", ticket.state, ticket.state, f"暂停计时：{reason}",
         at=now, changes={"paused_at": [None, now.isoformat()]})
    session.add(ticket)
    return ticket


def resume(*, session: Session, ticket_id: int, actor_id: int | None, note: str = "",
           at: datetime | None = None) -> Ticket:
    """Restart the clocks; every deadline moves on by the time spent paused."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if ticket.paused_at is None:
        raise Conflict("工单计时未暂停")
    _end_pause(session, ticket, actor_id, now, note)
    session.add(ticket)
    return ticket


def extend(*, session: Session, ticket_id: int, actor_id: int | None, working_days: int,
           reason: str, at: datetime | None = None) -> Ticket:
    """Set the closing time limit to `working_days` (延期办结, at most the configured maximum)."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    limit = get_settings().close_max_working_days
    if not reason.strip():
        raise InvalidInput("延期需要填写原因")
    if not ticket.close_working_days < working_days <= limit:
        raise InvalidInput(f"延期后的办结时限须大于原时限（{ticket.close_working_days}个工作日）"
                           f"且不超过{limit}个工作日")
    before = ticket.close_due_at
    ticket.close_working_days = working_days
    _recompute(session, ticket)
    assert ticket.id is not None
    _log(session, ticket.id, actor_id, "extend", ticket.state, ticket.state,
         f"办结时限延长至{working_days}个工作日：{reason}", at=now,
         changes={"close_due_at": [_iso(before), _iso(ticket.close_due_at)]})
    session.add(ticket)
    return ticket


def review(*, session: Session, ticket_id: int, reviewer_id: int, confidentiality_ok: bool,
           note: str = "", at: datetime | None = None) -> Ticket:
    """审核 the draft response with its 保密审查; a failed check sends it back to 处置中."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if ticket.state != S.review:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，只有待审核的工单可以审核")
    assert ticket.id is not None
    if not confidentiality_ok:
        changes = _clear_sign_off(ticket)
        _move(session, ticket, S.handling, reviewer_id, f"审核未通过（保密审查）：{note or '退回修改'}",
              action="review_reject", at=now, changes=changes)
        session.add(ticket)
        return ticket
    ticket.reviewed_by_id, ticket.reviewed_at, ticket.confidentiality_checked = reviewer_id, now, True
    _log(session, ticket.id, reviewer_id, "review", ticket.state, ticket.state,
         note or "审核通过（已做保密审查）", at=now,
         changes={"reviewed_by_id": [None, reviewer_id], "confidentiality_checked": [False, True]})
    session.add(ticket)
    return ticket


def sign_off(*, session: Session, ticket_id: int, leader_id: int, note: str = "",
             confidentiality_checked: bool = True, at: datetime | None = None) -> Ticket:
    """A leader signs off (签发) a reviewed draft; unreviewed, the leader's own 审核 is recorded."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if ticket.state != S.review:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，只有待审核的工单可以签发")
    if ticket.reviewed_by_id is None or not ticket.confidentiality_checked:
        if not confidentiality_checked:
            raise InvalidInput("签发前须完成保密审查")
        review(session=session, ticket_id=ticket_id, reviewer_id=leader_id, confidentiality_ok=True,
               note="领导审核（已做保密审查）", at=now)
    ticket.signed_off_by_id, ticket.signed_off_at = leader_id, now
    assert ticket.id is not None
    _log(session, ticket.id, leader_id, "sign_off", ticket.state, ticket.state,
         note or "审核签发", at=now, changes={"signed_off_by_id": [None, leader_id]})
    session.add(ticket)
    return ticket


def response_by_key(*, session: Session, ticket_id: int, idempotency_key: str) -> Response | None:
    """The response a client already stored for this ticket under an Idempotency-Key."""
    return session.exec(select(Response).where(Response.ticket_id == ticket_id,
                                               Response.idempotency_key == idempotency_key)).first()


def record_response(*, session: Session, ticket_id: int, response_in: ResponseCreate,
                    actor_id: int | None, idempotency_key: str | None = None) -> Response:
    """Record a public response (回应 or 政策解读); the ticket becomes 已回应.

    With an idempotency key, a retry returns the response stored the first time.
    """
    ticket = get(session=session, ticket_id=ticket_id)
    if idempotency_key:
        existing = response_by_key(session=session, ticket_id=ticket_id, idempotency_key=idempotency_key)
        if existing is not None:
            return existing
    if response_in.channel not in RESPONSE_CHANNELS:
        raise InvalidInput(f"未知的回应渠道: {response_in.channel}")
    if response_in.kind not in {k.value for k in ResponseKind}:
        raise InvalidInput(f"未知的回应类型: {response_in.kind}")
    if ticket.state not in RESPONDABLE:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，不能记录回应")
    approved_by_id = ticket.signed_off_by_id
    if ticket.grade in SIGN_OFF_GRADES and (approved_by_id is None or not ticket.confidentiality_checked):
        raise Conflict(f"{ticket.grade}级舆情的回应须经领导审核签发后方可发布")
    now = utcnow()
    published = ensure_utc(response_in.published_at) if response_in.published_at else now
    response = Response(
        ticket_id=ticket_id, channel=response_in.channel, kind=response_in.kind,
        url=response_in.url, title=response_in.title, summary=response_in.summary,
        published_at=published, approved_by_id=approved_by_id,
        approved_at=ticket.signed_off_at, created_by_id=actor_id, created_at=now,
        idempotency_key=idempotency_key or None, leader_present=response_in.leader_present,
    )
    try:
        with session.begin_nested():  # a concurrent retry with the same key: the constraint decides
            session.add(response)
    except IntegrityError:
        existing = response_by_key(session=session, ticket_id=ticket_id, idempotency_key=idempotency_key or "")
        if existing is None:
            raise
        return existing
    assert response.id is not None
    audit.record(session=session, entity="response", entity_id=response.id, action="create",
                 actor_id=actor_id, at=now, after=response_in.model_dump() | {
                     "ticket_id": ticket_id, "approved_by_id": approved_by_id})
    if ticket.first_response_at is None or published < ensure_utc(ticket.first_response_at):
        ticket.first_response_at = published
    note = f"{RESPONSE_CHANNELS[response.channel]}：{response.title or response.summary[:60]}"
    changes = {"response_id": [None, response.id]}
    if ticket.state != S.responded:
        _move(session, ticket, S.responded, actor_id, note, action="respond", at=published,
              changes=changes)
    else:
        _log(session, ticket_id, actor_id, "respond", ticket.state, ticket.state, note,
             at=published, changes=changes)
    session.add(ticket)
    return response


DRAFTABLE = {S.triage, S.assigned, S.handling}


def save_draft(*, session: Session, ticket_id: int, text: str, actor_id: int | None,
               at: datetime | None = None) -> Ticket:
    """Save the reply draft (回应稿); writing it starts the handling of an assigned ticket.

    Under review or after the response the draft is what was signed or published: frozen.
    """
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if ticket.state not in DRAFTABLE:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，不能修改回应稿"
                       + ("（请领导退回后修改）" if ticket.state == S.review else ""))
    if text == ticket.draft_text:
        return ticket
    assert ticket.id is not None
    if ticket.state == S.assigned:
        _move(session, ticket, S.handling, actor_id, "开始处置（撰写回应稿）", action="transition", at=now)
    ticket.draft_text, ticket.draft_updated_at, ticket.draft_updated_by_id = text, now, actor_id
    ticket.updated_at = now
    _log(session, ticket.id, actor_id, "draft", ticket.state, ticket.state,
         f"回应稿：{text[:200]}", at=now)
    session.add(ticket)
    return ticket


def submit_for_review(*, session: Session, ticket_id: int, actor_id: int | None, note: str = "",
                      at: datetime | None = None) -> Ticket:
    """提交审核: the draft goes to the leader; there must be a draft to read."""
    ticket = get(session=session, ticket_id=ticket_id)
    if not ticket.draft_text.strip():
        raise InvalidInput("请先撰写回应稿再提交审核")
    return transition(session=session, ticket_id=ticket_id, to_state=S.review, actor_id=actor_id,
                      note=note or "回应稿提交审核", at=at)


def return_draft(*, session: Session, ticket_id: int, actor_id: int | None, reason: str,
                 at: datetime | None = None) -> Ticket:
    """领导退回: the draft goes back to the handler (review → handling) with the reason."""
    ticket = get(session=session, ticket_id=ticket_id)
    now = ensure_utc(at) if at else utcnow()
    if not reason.strip():
        raise InvalidInput("退回需要填写原因")
    if ticket.state != S.review:
        raise Conflict(f"工单处于“{STATE_LABELS[ticket.state]}”状态，只有待审核的工单可以退回")
    changes = _clear_sign_off(ticket)
    _move(session, ticket, S.handling, actor_id, f"退回修改：{reason.strip()}", action="return",
          at=now, changes=changes)
    session.add(ticket)
    return ticket


def update_notes(*, session: Session, ticket_id: int, actor_id: int | None,
                 online_note: str | None = None, offline_note: str | None = None,
                 at: datetime | None = None) -> Ticket:
    """Record 线上情况 / 线下情况."""
    ticket = get(session=session, ticket_id=ticket_id)
    changes: dict[str, Any] = {}
    texts = []
    if online_note is not None and online_note != ticket.online_note:
        changes["online_note"] = [ticket.online_note, online_note]
        ticket.online_note = online_note
        texts.append(f"线上情况：{online_note[:200]}")
    if offline_note is not None and offline_note != ticket.offline_note:
        changes["offline_note"] = [ticket.offline_note, offline_note]
        ticket.offline_note = offline_note
        texts.append(f"线下情况：{offline_note[:200]}")
    if texts:
        ticket.updated_at = ensure_utc(at) if at else utcnow()
        assert ticket.id is not None
        _log(session, ticket.id, actor_id, "note", ticket.state, ticket.state, "；".join(texts),
             at=ticket.updated_at, changes=changes)
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


def pauses(*, session: Session, ticket_id: int) -> list[TicketClockPause]:
    """Return a ticket's clock pauses, oldest first."""
    return list(session.exec(select(TicketClockPause).where(TicketClockPause.ticket_id == ticket_id)
                             .order_by(col(TicketClockPause.id))))


OPEN_STATES = (S.triage, S.assigned, S.handling, S.review, S.responded)


def recompute_close_deadlines(*, session: Session, calendar: WorkCalendar, actor_id: int | None,
                              at: datetime, reason: str) -> int:
    """Recount open tickets' close deadlines on a changed calendar; a timeline row says why.

    Returns how many tickets changed (deadline moved, or became final / provisional).
    """
    moved = 0
    for ticket in session.exec(select(Ticket).where(col(Ticket.state).in_(OPEN_STATES))
                               .order_by(col(Ticket.id))):
        before, was_provisional = ticket.close_due_at, ticket.close_due_provisional
        _recompute(session, ticket, calendar)
        if _iso(before) == _iso(ticket.close_due_at) and was_provisional == ticket.close_due_provisional:
            continue
        assert ticket.id is not None
        old = f"{to_local(before):%Y-%m-%d}" if before else "无"
        new = f"{to_local(ticket.close_due_at):%Y-%m-%d}" if ticket.close_due_at else "无"
        text = (f"{reason}；办结时限由{old}调整为{new}" if old != new
                else f"{reason}；办结时限{new}不变")
        text += ("（暂按周一至周五计算，待节假日安排录入后确定）" if ticket.close_due_provisional
                 else "（已按节假日安排确定）")
        changes: dict[str, Any] = {"close_due_at": [_iso(before), _iso(ticket.close_due_at)]}
        if was_provisional != ticket.close_due_provisional:
            changes["close_due_provisional"] = [was_provisional, ticket.close_due_provisional]
        _log(session, ticket.id, actor_id, "calendar", ticket.state, ticket.state, text, at=at,
             changes=changes)
        session.add(ticket)
        moved += 1
    return moved


def follow_event_grade(*, session: Session, event: Event, at: datetime | None = None) -> Ticket | None:
    """Re-grade the event's open ticket when the event's grade rose past the ticket's.

    The hour clocks of the new grade start now (first information within 5 h for I-II …),
    a timeline row records it, and from then on a response needs the leader's sign-off
    (`record_response` checks the ticket's grade). A grade never falls here.
    """
    assert event.id is not None
    ticket = get_for_event(session=session, event_id=event.id)
    if ticket is None or ticket.state not in OPEN_STATES or not events.outranks(event.grade, ticket.grade):
        return ticket
    assert ticket.id is not None
    now = ensure_utc(at) if at else utcnow()
    old_grade = ticket.grade
    before = {k: _iso(getattr(ticket, k)) for k in ("first_info_due_at", "response_due_at",
                                                     "press_due_at", "close_due_at")}
    ticket.grade, ticket.graded_at = event.grade, now
    ticket.paused_seconds = 0  # a pause before the rise does not move clocks that start after it
    _recompute(session, ticket)
    # A sign-off given to the lesser matter does not carry over: the serious one is signed anew.
    changes: dict[str, Any] = {"grade": [old_grade, ticket.grade], **_clear_sign_off(ticket)}
    changes |= {k: [v, _iso(getattr(ticket, k))] for k, v in before.items() if v != _iso(getattr(ticket, k))}
    due = [f"{CLOCK_LABELS[name]}{to_local(d):%m-%d %H:%M}前" for name, d in
           (("first_info", ticket.first_info_due_at), ("response", ticket.response_due_at),
            ("press", ticket.press_due_at)) if d is not None]
    note = (f"舆情事件等级由{old_grade or '未分级'}级升为{ticket.grade}级，工单随之升级，时限重新起算："
            + "，".join(due))
    if ticket.grade in SIGN_OFF_GRADES:
        note += "；此后回应须经领导审核签发"
    _log(session, ticket.id, None, "regrade", ticket.state, ticket.state, note, at=now, changes=changes)
    ticket.updated_at = now
    session.add(ticket)
    if ticket.grade in get_settings().principal_at_once_grades:
        _notify(session, ticket, kind="regraded", audience="principal",
                key=f"ticket:{ticket.id}:regraded:{ticket.grade}", now=now)
    return ticket


@dataclass(frozen=True)
class Clock:
    name: str  # first_info | response | press | close
    label: str
    due_at: datetime | None
    met_at: datetime | None  # when it was satisfied, if it was

    def met(self) -> bool | None:
        """True/False once decided (satisfied, or overdue and still open); None while running."""
        if self.due_at is None:
            return None
        if self.met_at is not None:
            return ensure_utc(self.met_at) <= ensure_utc(self.due_at)
        return None

    def overdue(self, now: datetime) -> bool:
        """Past due and not satisfied."""
        return self.due_at is not None and self.met_at is None and ensure_utc(now) > ensure_utc(self.due_at)


CLOCK_LABELS = {"first_info": "首次权威信息发布", "response": "公开回应", "press": "新闻发布会",
                "close": "办结"}


def press_times(*, session: Session, ticket_ids: list[int]) -> dict[int, datetime]:
    """The first press conference / briefing of each ticket that had one (one query)."""
    if not ticket_ids:
        return {}
    rows = session.exec(select(Response.ticket_id, func.min(Response.published_at)).where(
        col(Response.ticket_id).in_(ticket_ids), col(Response.channel).in_(PRESS_CHANNELS))
        .group_by(col(Response.ticket_id)))
    return {tid: at for tid, at in rows if at is not None}


_LOOKUP: Any = object()  # "query it": distinguishes a known absence (None) from not looked up


def clocks(*, session: Session, ticket: Ticket, press_at: datetime | None = _LOOKUP) -> list[Clock]:
    """The ticket's running and finished clocks (only those its grade has).

    Lists pass `press_at` from `press_times` so that no query runs per row.
    """
    if press_at is _LOOKUP:
        press_at = None
        if ticket.press_due_at is not None and ticket.id is not None:
            press_at = press_times(session=session, ticket_ids=[ticket.id]).get(ticket.id)
    closed_at = ticket.closed_at if ticket.state == S.closed else None
    out = [Clock("first_info", CLOCK_LABELS["first_info"], ticket.first_info_due_at, ticket.first_response_at),
           Clock("response", CLOCK_LABELS["response"], ticket.response_due_at, ticket.first_response_at),
           Clock("press", CLOCK_LABELS["press"], ticket.press_due_at, press_at),
           Clock("close", CLOCK_LABELS["close"], ticket.close_due_at, closed_at)]
    return [c for c in out if c.due_at is not None]


def deadlines(*, session: Session, ticket: Ticket, now: datetime | None = None,
              press_at: datetime | None = _LOOKUP) -> list[dict[str, Any]]:
    """Each deadline with its state, for people: 未到期 / 即将到期 / 已超期 / 按时完成 / 超时完成."""
    now = ensure_utc(now) if now else utcnow()
    warn = get_settings().deadline_warn_minutes * 60
    out = []
    for c in clocks(session=session, ticket=ticket, press_at=press_at):
        assert c.due_at is not None
        met = c.met()
        if met is not None:
            status = "按时完成" if met else "超时完成"
        elif ticket.state == S.dismissed:
            status = "已撤销"
        elif ticket.paused_at is not None:
            status = "计时暂停"
        elif c.overdue(now):
            status = "已超期"
        elif (ensure_utc(c.due_at) - now).total_seconds() <= warn:
            status = "即将到期"
        else:
            status = "未到期"
        out.append({"clock": c.name, "label": c.label, "due_at": c.due_at, "met_at": c.met_at,
                    "met": met, "status": status})
    return out


def _end_pause(session: Session, ticket: Ticket, actor_id: int | None, now: datetime,
               note: str = "") -> None:
    assert ticket.paused_at is not None and ticket.id is not None
    started = ensure_utc(ticket.paused_at)
    seconds = max(int((now - started).total_seconds()), 0)
    lost_days = working_days_between(started, now, office_calendar.load(session=session))
    row = session.exec(select(TicketClockPause).where(
        TicketClockPause.ticket_id == ticket.id, col(TicketClockPause.ended_at).is_(None))).first()
    if row is not None:
        row.ended_at, row.ended_by_id = now, actor_id
        session.add(row)
    before = {k: _iso(getattr(ticket, k)) for k in ("first_info_due_at", "response_due_at",
                                                     "press_due_at", "close_due_at")}
    ticket.paused_seconds += seconds
    ticket.paused_working_days += lost_days
    ticket.paused_at, ticket.pause_reason = None, ""
    _recompute(session, ticket)
    changes: dict[str, Any] = {k: [v, _iso(getattr(ticket, k))] for k, v in before.items()
                               if v != _iso(getattr(ticket, k))}
    _log(session, ticket.id, actor_id, "resume", ticket.state, ticket.state,
         note or f"恢复计时，暂停{seconds // 60}分钟（含{lost_days}个工作日）不计入时限", at=now,
         changes=changes)


def _recompute(session: Session, ticket: Ticket, calendar: WorkCalendar | None = None) -> None:
    cal = calendar if calendar is not None else office_calendar.load(session=session)
    due = deadlines_for(ticket.grade, ticket.graded_at or ticket.created_at, ticket.close_working_days,
                        paused_seconds=ticket.paused_seconds,
                        paused_working_days=ticket.paused_working_days,
                        close_started_at=ticket.close_started_at or ticket.created_at, calendar=cal)
    ticket.first_info_due_at, ticket.response_due_at = due.first_info_due_at, due.response_due_at
    ticket.press_due_at, ticket.close_due_at = due.press_due_at, due.close_due_at
    ticket.close_due_provisional = due.close_due_provisional


def _reopen(session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """A reopened ticket gets a fresh closing clock and no 办结 time."""
    changes = {"closed_at": [_iso(ticket.closed_at), None],
               "reopened_count": [ticket.reopened_count, ticket.reopened_count + 1]}
    ticket.closed_at = None
    ticket.reopened_count += 1
    ticket.close_started_at, ticket.paused_working_days = now, 0
    _recompute(session, ticket)
    return changes


def _clear_sign_off(ticket: Ticket) -> dict[str, Any]:
    if ticket.signed_off_by_id is None and ticket.reviewed_by_id is None:
        return {}
    changes = {"signed_off_by_id": [ticket.signed_off_by_id, None],
               "reviewed_by_id": [ticket.reviewed_by_id, None]}
    ticket.signed_off_by_id = ticket.signed_off_at = None
    ticket.reviewed_by_id = ticket.reviewed_at = None
    ticket.confidentiality_checked = False
    return changes


def _notify(session: Session, ticket: Ticket, *, kind: str, audience: str, key: str,
            now: datetime) -> None:
    """Queue a notice about the ticket for `audience` (sent by the outbox sweep)."""
    from core.duty import service as duty
    from core.notify import service as notify
    from core.notify import templates

    assert ticket.id is not None
    people = duty.recipients(session=session, audience=audience, at=now, ticket=ticket)
    subject, body = templates.ticket_notice(
        ticket_id=ticket.id, grade=ticket.grade, title=ticket.title, kind=kind,
        unit=_unit_name(session, ticket.unit_id), handler=_user_name(session, ticket.handler_id),
        audience_label=duty.AUDIENCE_LABELS.get(audience, audience), people=[p.name for p in people])
    notify.enqueue(session=session, now=now, notice=notify.Notice(
        key=key, subject=subject, body=body, audience=audience, recipients=people,
        link=templates.ticket_link(ticket.id), grade=ticket.grade, topic=ticket.topic,
        unit_id=ticket.unit_id, ticket_id=ticket.id))


def _unit_name(session: Session, unit_id: int | None) -> str:
    from core.units.models import Unit

    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return unit.name if unit else ""


def _user_name(session: Session, user_id: int | None) -> str:
    from core.users.models import User

    user = session.get(User, user_id) if user_id is not None else None
    return (user.full_name or user.username) if user else ""


def _iso(value: datetime | None) -> str | None:
    return ensure_utc(value).isoformat() if value else None


def _changes(ticket: Ticket, values: dict[str, Any]) -> dict[str, Any]:
    return {k: [getattr(ticket, k), v] for k, v in values.items() if getattr(ticket, k) != v}


def _move(session: Session, ticket: Ticket, to_state: str, actor_id: int | None, note: str,
          *, action: str, at: datetime, changes: dict[str, Any] | None = None) -> None:
    if to_state not in STATE_LABELS:
        raise InvalidInput(f"未知的工单状态: {to_state}")
    allowed = TRANSITIONS.get(ticket.state, set())
    if to_state not in allowed:
        raise Conflict(
            f"不能从“{STATE_LABELS[ticket.state]}”转为“{STATE_LABELS[to_state]}”"
        )
    assert ticket.id is not None
    _log(session, ticket.id, actor_id, action, ticket.state, to_state, note, at=at, changes=changes)
    ticket.state = to_state
    ticket.updated_at = at


def _log(session: Session, ticket_id: int, actor_id: int | None, action: str, from_state: str,
         to_state: str, note: str, *, at: datetime, changes: dict[str, Any] | None = None) -> None:
    session.add(TicketTimeline(ticket_id=ticket_id, actor_id=actor_id, action=action,
                               from_state=from_state, to_state=to_state, note=note[:2000], at=at,
                               changes=audit.jsonable(changes or {})))
