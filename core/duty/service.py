"""Duty roster: shifts, who is on duty now, monthly import, handovers, escalation audiences."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.audit import service as audit
from core.duty.models import (
    POST_LABELS,
    SHIFT_ROLE_LABELS,
    DutyShift,
    DutyShiftCreate,
    HandoverLog,
    Post,
    ShiftRole,
    StaffPost,
    StaffPostCreate,
)
from core.errors import InvalidInput, NotFound
from core.tickets.models import STATE_LABELS, Ticket
from core.timeutil import SHANGHAI, ensure_utc, to_local, utcnow
from core.users.models import Role, User

OPEN_TICKET_STATES = ("triage", "assigned", "handling", "review", "responded")
AUDIENCE_LABELS = {"duty": "值班人员", "duty_leader": "带班领导", "handler": "承办人",
                   **POST_LABELS}


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    mobile: str = ""
    email: str = ""


class ShiftImportRow(BaseModel):
    day: date
    username: str
    role: str = ShiftRole.officer.value
    start: time = time(8, 30)  # local time; a shift runs `hours` from here
    hours: float = Field(default=24, gt=0, le=72)
    note: str = ""


def create_shift(*, session: Session, shift_in: DutyShiftCreate, actor_id: int | None) -> DutyShift:
    """Add one shift."""
    _check_shift(session, shift_in)
    shift = DutyShift.model_validate(shift_in)
    shift.starts_at, shift.ends_at = ensure_utc(shift.starts_at), ensure_utc(shift.ends_at)
    shift.created_by_id = actor_id
    session.add(shift)
    session.flush()
    assert shift.id is not None
    audit.record(session=session, entity="duty_shift", entity_id=shift.id, action="create",
                 actor_id=actor_id, after=_shift_values(shift))
    return shift


def cancel_shift(*, session: Session, shift_id: int, actor_id: int | None, note: str = "") -> DutyShift:
    """Cancel a shift (it stays on record)."""
    shift = session.get(DutyShift, shift_id)
    if shift is None:
        raise NotFound(f"值班记录不存在: {shift_id}")
    if shift.cancelled_at is None:
        shift.cancelled_at, shift.cancelled_by_id = utcnow(), actor_id
        session.add(shift)
        audit.record(session=session, entity="duty_shift", entity_id=shift_id, action="cancel",
                     actor_id=actor_id, before=_shift_values(shift), note=note or "取消值班")
    return shift


def get_shifts(*, session: Session, start: datetime, end: datetime,
               include_cancelled: bool = False) -> list[DutyShift]:
    """Shifts overlapping [start, end), earliest first."""
    stmt = (select(DutyShift).where(col(DutyShift.starts_at) < ensure_utc(end),
                                    col(DutyShift.ends_at) > ensure_utc(start))
            .order_by(col(DutyShift.starts_at), col(DutyShift.id)))
    if not include_cancelled:
        stmt = stmt.where(col(DutyShift.cancelled_at).is_(None))
    return list(session.exec(stmt))


def on_duty(*, session: Session, at: datetime | None = None, role: str | None = None) -> list[DutyShift]:
    """The shifts running at `at` (default now)."""
    now = ensure_utc(at) if at else utcnow()
    shifts = get_shifts(session=session, start=now, end=now + timedelta(microseconds=1))
    return [s for s in shifts if role is None or s.role == role]


def import_month(*, session: Session, year: int, month: int, rows: list[ShiftImportRow],
                 actor_id: int | None) -> list[DutyShift]:
    """Replace a month's roster with the imported rows (old shifts are cancelled, not deleted)."""
    first = datetime(year, month, 1, tzinfo=SHANGHAI)
    after = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    users_by_name = {u.username: u for u in session.exec(select(User))}
    by_full_name = {u.full_name: u for u in users_by_name.values() if u.full_name}
    new: list[DutyShiftCreate] = []
    for n, row in enumerate(rows, start=1):
        if not first.date() <= row.day < after.date():
            raise InvalidInput(f"第{n}行：日期 {row.day} 不在 {year}年{month}月")
        user = users_by_name.get(row.username) or by_full_name.get(row.username)
        if user is None or user.id is None:
            raise InvalidInput(f"第{n}行：用户不存在: {row.username}")
        starts = datetime.combine(row.day, row.start, tzinfo=SHANGHAI)
        new.append(DutyShiftCreate(user_id=user.id, role=row.role, note=row.note,
                                   starts_at=ensure_utc(starts),
                                   ends_at=ensure_utc(starts + timedelta(hours=row.hours))))
    old = session.exec(select(DutyShift).where(
        col(DutyShift.starts_at) >= ensure_utc(first), col(DutyShift.starts_at) < ensure_utc(after),
        col(DutyShift.cancelled_at).is_(None))).all()
    for shift in old:
        assert shift.id is not None
        cancel_shift(session=session, shift_id=shift.id, actor_id=actor_id, note="导入新排班，替换原排班")
    return [create_shift(session=session, shift_in=s, actor_id=actor_id) for s in new]


ROLE_BY_LABEL = {**{v: k for k, v in SHIFT_ROLE_LABELS.items()}, **{k: k for k in SHIFT_ROLE_LABELS}}


def parse_roster_csv(text: str) -> list[ShiftImportRow]:
    """Rows of a roster CSV: 日期,用户,角色(值班员/带班领导)[,开始时间,时长(小时),备注]."""
    rows: list[ShiftImportRow] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        lines = list(reader)
    except csv.Error as exc:  # e.g. a cell past csv's field limit, or a NUL
        raise InvalidInput(f"第{reader.line_num}行格式有误: {exc}") from None
    for n, cells in enumerate(lines, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0] in {"日期", "date"}:
            continue
        if len(cells) < 2:
            raise InvalidInput(f"第{n}行：至少需要日期和值班人员")
        role = ROLE_BY_LABEL.get(cells[2] if len(cells) > 2 and cells[2] else "officer")
        if role is None:
            raise InvalidInput(f"第{n}行：未知的值班角色: {cells[2]}")
        try:
            rows.append(ShiftImportRow(
                day=date.fromisoformat(cells[0]), username=cells[1], role=role,
                start=time.fromisoformat(cells[3]) if len(cells) > 3 and cells[3] else time(8, 30),
                hours=float(cells[4]) if len(cells) > 4 and cells[4] else 24.0,
                note=cells[5] if len(cells) > 5 else ""))
        except ValueError as exc:
            raise InvalidInput(f"第{n}行格式有误: {exc}") from None
    return rows


def handover(*, session: Session, from_user_id: int | None, to_user_id: int | None, note: str = "",
             now: datetime | None = None) -> HandoverLog:
    """Record a handover with what the shift leaves open (unsigned alerts, open tickets)."""
    now = ensure_utc(now) if now else utcnow()
    alerts = list(session.exec(select(Alert).where(Alert.status == "open").order_by(col(Alert.id))))
    open_tickets = list(session.exec(select(Ticket).where(col(Ticket.state).in_(OPEN_TICKET_STATES))
                                     .order_by(col(Ticket.id))))
    lines = [f"未签收预警 {len(alerts)} 条，未办结工单 {len(open_tickets)} 件。"]
    lines += [f"预警#{a.id}（{a.level}）{a.reason[:60]}" for a in alerts]
    for t in open_tickets:
        due = [f"{label}{to_local(d):%m-%d %H:%M}" for label, d in
               (("回应时限", t.response_due_at), ("办结时限", t.close_due_at)) if d is not None]
        paused = "（计时暂停）" if t.paused_at else ""
        lines.append(f"工单#{t.id} [{STATE_LABELS.get(t.state, t.state)}]{paused} {t.title[:60]}；"
                     + "，".join(due))
    log = HandoverLog(at=now, from_user_id=from_user_id, to_user_id=to_user_id, note=note,
                      open_alert_ids=[a.id for a in alerts if a.id is not None],
                      open_ticket_ids=[t.id for t in open_tickets if t.id is not None],
                      summary="\n".join(lines))
    session.add(log)
    session.flush()
    assert log.id is not None
    audit.record(session=session, entity="handover", entity_id=log.id, action="create",
                 actor_id=from_user_id, after={"to_user_id": to_user_id, "note": note}, at=now)
    return log


def get_handovers(*, session: Session, limit: int = 50) -> list[HandoverLog]:
    """Handovers, newest first."""
    return list(session.exec(select(HandoverLog).order_by(col(HandoverLog.id).desc()).limit(limit)))


def create_post(*, session: Session, post_in: StaffPostCreate, actor_id: int | None) -> StaffPost:
    """Name someone unit head, 分管领导 or 主要领导 (or record a person's contacts)."""
    if post_in.post not in POST_LABELS:
        raise InvalidInput(f"未知的职务: {post_in.post}")
    if post_in.post == Post.unit_head and post_in.unit_id is None:
        raise InvalidInput("单位负责人须指定所在单位")
    if session.get(User, post_in.user_id) is None:
        raise InvalidInput(f"用户不存在: {post_in.user_id}")
    post = StaffPost.model_validate(post_in)
    session.add(post)
    session.flush()
    assert post.id is not None
    audit.record(session=session, entity="staff_post", entity_id=post.id, action="create",
                 actor_id=actor_id, after=post_in.model_dump())
    return post


def end_post(*, session: Session, post_id: int, actor_id: int | None) -> StaffPost:
    """End a post (kept on record)."""
    post = session.get(StaffPost, post_id)
    if post is None:
        raise NotFound(f"职务记录不存在: {post_id}")
    if post.ended_at is None:
        post.ended_at = utcnow()
        session.add(post)
        audit.record(session=session, entity="staff_post", entity_id=post_id, action="end",
                     actor_id=actor_id, before={"post": post.post, "user_id": post.user_id})
    return post


def get_posts(*, session: Session) -> list[StaffPost]:
    """Current posts."""
    return list(session.exec(select(StaffPost).where(col(StaffPost.ended_at).is_(None))
                             .order_by(col(StaffPost.id))))


def recipients(*, session: Session, audience: str, at: datetime | None = None,
               ticket: Ticket | None = None, topic: str | None = None) -> list[Recipient]:
    """The people an audience means now; someone always gets it (fallbacks up the chain)."""
    posts = get_posts(session=session)
    topic = topic or (ticket.topic if ticket else None)
    user_ids: list[int] = []
    if audience == "duty":
        user_ids = [s.user_id for s in on_duty(session=session, at=at, role=ShiftRole.officer)]
        if not user_ids:  # nobody rostered: every duty officer rather than nobody
            user_ids = _role_ids(session, Role.duty)
    elif audience == "duty_leader":
        user_ids = [s.user_id for s in on_duty(session=session, at=at, role=ShiftRole.leader)]
        if not user_ids:
            return recipients(session=session, audience=Post.deputy_leader, at=at, ticket=ticket,
                              topic=topic)
    elif audience == "handler":
        if ticket is not None and ticket.handler_id is not None:
            user_ids = [ticket.handler_id]
        elif ticket is not None and ticket.unit_id is not None:
            user_ids = [u.id for u in session.exec(select(User).where(
                User.unit_id == ticket.unit_id, User.role == Role.handler, col(User.is_active)))
                if u.id is not None]
        if not user_ids:
            return recipients(session=session, audience="duty", at=at, ticket=ticket, topic=topic)
    elif audience == Post.unit_head:
        unit_id = ticket.unit_id if ticket else None
        user_ids = [p.user_id for p in posts if p.post == Post.unit_head and p.unit_id == unit_id]
        if not user_ids:
            return recipients(session=session, audience=Post.deputy_leader, at=at, ticket=ticket,
                              topic=topic)
    elif audience == Post.deputy_leader:
        user_ids = [p.user_id for p in posts if p.post == Post.deputy_leader
                    and (not p.topics.strip() or (topic or "") in _codes(p.topics))]
        if not user_ids:
            return recipients(session=session, audience=Post.principal, at=at, ticket=ticket,
                              topic=topic)
    elif audience == Post.principal:
        user_ids = [p.user_id for p in posts if p.post == Post.principal]
        if not user_ids:
            user_ids = _role_ids(session, Role.leader)
    else:
        raise InvalidInput(f"未知的通知对象: {audience}")
    contacts = {p.user_id: p for p in reversed(posts)}
    out: list[Recipient] = []
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            continue
        contact = contacts.get(user_id)
        out.append(Recipient(user_id=user_id, name=user.full_name or user.username,
                             mobile=contact.mobile if contact else "",
                             email=contact.email if contact else ""))
    return out


def _codes(topics: str) -> set[str]:
    return {t.strip() for t in topics.split(",") if t.strip()}


def _role_ids(session: Session, role: str) -> list[int]:
    return [u.id for u in session.exec(select(User).where(User.role == role, col(User.is_active))
                                       .order_by(col(User.id))) if u.id is not None]


def _check_shift(session: Session, shift_in: DutyShiftCreate) -> None:
    if shift_in.role not in SHIFT_ROLE_LABELS:
        raise InvalidInput(f"未知的值班角色: {shift_in.role}")
    if ensure_utc(shift_in.ends_at) <= ensure_utc(shift_in.starts_at):
        raise InvalidInput("值班结束时间须晚于开始时间")
    if session.get(User, shift_in.user_id) is None:
        raise InvalidInput(f"用户不存在: {shift_in.user_id}")


def _shift_values(shift: DutyShift) -> dict[str, object]:
    return {"user_id": shift.user_id, "role": shift.role, "starts_at": shift.starts_at,
            "ends_at": shift.ends_at, "note": shift.note}
