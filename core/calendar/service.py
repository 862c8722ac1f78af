"""The office calendar: entered holidays and 调休 days, coverage, and what a change moves."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from core.audit import service as audit
from core.calendar.models import (
    DAY_KIND_LABELS,
    CalendarDay,
    CalendarDayIn,
    CalendarImportError,
    CalendarImportResult,
    CalendarStatus,
    DayKind,
)
from core.errors import NotFound
from core.tickets.clocks import WorkCalendar
from core.timeutil import ensure_utc, to_local, utcnow

# The admin is warned this many days before the known calendar runs out.
WARN_DAYS = 60
KIND_WORDS: dict[str, DayKind] = {
    "holiday": DayKind.holiday, "放假": DayKind.holiday, "休": DayKind.holiday, "休息": DayKind.holiday,
    "workday": DayKind.workday, "班": DayKind.workday, "上班": DayKind.workday,
    "调休上班": DayKind.workday, "补班": DayKind.workday,
}


def get_all(*, session: Session, year: int | None = None) -> list[CalendarDay]:
    """Entered days, in date order (one year, or all)."""
    stmt = select(CalendarDay).order_by(col(CalendarDay.day))
    if year is not None:
        stmt = stmt.where(col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31))
    return list(session.exec(stmt))


def load(*, session: Session) -> WorkCalendar:
    """The working-day calendar the clocks count on: the package with the entered days on top."""
    rows = session.exec(select(col(CalendarDay.day), col(CalendarDay.kind))).all()
    entered = {day: kind == DayKind.workday for day, kind in rows}
    years = {day.year for day, kind in rows if kind == DayKind.holiday}
    return WorkCalendar(entered, years)


def upsert(*, session: Session, day_in: CalendarDayIn, actor_id: int | None,
           at: datetime | None = None) -> CalendarDay:
    """Enter (or change) one day; open tickets' close deadlines follow."""
    now = ensure_utc(at) if at else utcnow()
    row = _put(session, day_in, actor_id, now)
    recompute_open_tickets(session=session, actor_id=actor_id, at=now, reason=_describe([day_in]))
    return row


def delete(*, session: Session, day: date, actor_id: int | None, at: datetime | None = None) -> None:
    """Remove an entered day (the package decides it again); open tickets follow."""
    now = ensure_utc(at) if at else utcnow()
    row = session.exec(select(CalendarDay).where(CalendarDay.day == day)).first()
    if row is None:
        raise NotFound(f"未录入该日期: {day.isoformat()}")
    assert row.id is not None
    audit.record(session=session, entity="calendar_day", entity_id=row.id, action="delete",
                 actor_id=actor_id, before={"date": day, "kind": row.kind, "name": row.name}, at=now)
    session.delete(row)
    session.flush()
    recompute_open_tickets(session=session, actor_id=actor_id, at=now,
                           reason=f"删除{day.isoformat()}（{row.name or DAY_KIND_LABELS.get(row.kind, '')}）")


def import_csv(*, session: Session, data: bytes, actor_id: int | None,
               at: datetime | None = None) -> CalendarImportResult:
    """Import `date,kind,name` lines (UTF-8 or GBK, header optional); nothing is stored if a line is bad."""
    now = ensure_utc(at) if at else utcnow()
    days, errors = parse_csv(data)
    if errors or not days:
        if not days and not errors:
            errors = [CalendarImportError(line=0, message="文件中没有日期")]
        return CalendarImportResult(imported=0, errors=errors)
    for day_in in days:
        _put(session, day_in, actor_id, now)
    recompute_open_tickets(session=session, actor_id=actor_id, at=now, reason=_describe(days))
    return CalendarImportResult(imported=len(days), errors=[])


def parse_csv(data: bytes) -> tuple[list[CalendarDayIn], list[CalendarImportError]]:
    """Rows and per-line errors of a `date,kind,name` CSV (as Excel saves it: UTF-8 BOM or GBK)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gbk")
        except UnicodeDecodeError:
            return [], [CalendarImportError(line=0, message="无法识别文件编码（请保存为 UTF-8 或 GBK）")]
    days: dict[date, CalendarDayIn] = {}
    errors: list[CalendarImportError] = []
    for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if n == 1 and cells[0].lower() in {"date", "日期"}:
            continue
        try:
            day = date.fromisoformat(cells[0].replace("/", "-"))
        except ValueError:
            errors.append(CalendarImportError(line=n, message=f"日期格式有误：{cells[0]}（应为 YYYY-MM-DD）"))
            continue
        kind = KIND_WORDS.get(cells[1].lower() if len(cells) > 1 else "")
        if kind is None:
            given = cells[1] if len(cells) > 1 else "（空）"
            errors.append(CalendarImportError(
                line=n, message=f"类型有误：{given}（应为 holiday/放假 或 workday/上班）"))
            continue
        name = cells[2] if len(cells) > 2 else ""
        if len(name) > 50:
            errors.append(CalendarImportError(line=n, message="名称超过50字"))
            continue
        if day in days and days[day].kind != kind:
            errors.append(CalendarImportError(line=n, message=f"{day.isoformat()} 重复且类型矛盾"))
            continue
        days[day] = CalendarDayIn(date=day, kind=kind, name=name)
    return list(days.values()), errors


def status(*, session: Session, today: date | None = None) -> CalendarStatus:
    """How far the working-day calendar is known, and the admin's warning when it runs out soon."""
    today = today or to_local(utcnow()).date()
    cal = load(session=session)
    year = today.year
    while cal.covers(year):
        year += 1
    covered_until = date(year - 1, 12, 31)
    warning = None
    if covered_until - today < timedelta(days=WARN_DAYS):
        warning = f"{year}年节假日安排尚未录入"
    return CalendarStatus(covered_until=covered_until, warning=warning)


def recompute_open_tickets(*, session: Session, actor_id: int | None, at: datetime, reason: str) -> int:
    """Recount open tickets' close deadlines on the changed calendar; returns how many moved."""
    from core.tickets import service as tickets

    session.flush()
    return tickets.recompute_close_deadlines(session=session, calendar=load(session=session),
                                             actor_id=actor_id, at=at, reason=f"节假日安排调整：{reason}")


def _put(session: Session, day_in: CalendarDayIn, actor_id: int | None, now: datetime) -> CalendarDay:
    row = session.exec(select(CalendarDay).where(CalendarDay.day == day_in.date)).first()
    before = {"kind": row.kind, "name": row.name, "note": row.note} if row else {}
    if row is None:
        row = CalendarDay(day=day_in.date, kind=day_in.kind.value)
    row.kind, row.name, row.note = day_in.kind.value, day_in.name, day_in.note
    row.updated_by_id, row.updated_at = actor_id, now
    session.add(row)
    session.flush()
    assert row.id is not None
    audit.record(session=session, entity="calendar_day", entity_id=row.id,
                 action="update" if before else "create", actor_id=actor_id, before=before,
                 after={"date": day_in.date, "kind": row.kind, "name": row.name, "note": row.note}, at=now)
    return row


def _describe(days: list[CalendarDayIn]) -> str:
    """"录入2027-01-01 元旦放假" or "导入2027年节假日安排12天"."""
    if len(days) == 1:
        d = days[0]
        return f"录入{d.date.isoformat()} {d.name}{DAY_KIND_LABELS[d.kind]}".replace("  ", " ")
    years = "、".join(str(y) for y in sorted({d.date.year for d in days}))
    return f"导入{years}年节假日安排{len(days)}天"
