"""The office calendar over chinesecalendar: entered days win, unknown years are provisional.

The package installed (1.11.0) knows 2025 and 2026 but not 2027. The 2027 Spring Festival
dates below are TEST DATA, not the State Council's notice (published after this was written):
only 1 January (元旦) is certain.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
import time_machine
from sqlmodel import Session

from core.calendar import service as office_calendar
from core.calendar.models import CalendarDayIn, DayKind
from core.duty import daily
from core.notify.models import NotificationChannel
from core.tickets import service as tickets
from core.tickets.clocks import PACKAGE_ONLY, close_deadline, package_knows
from core.timeutil import SHANGHAI, to_local
from tests.core.factories import make_event, make_unit

# 测试数据（非官方）: a made-up 2027 春节 arrangement, for the tests only.
SPRING_FESTIVAL_2027_TEST_DATA = [
    ("2027-02-05", "holiday"), ("2027-02-08", "holiday"), ("2027-02-09", "holiday"),
    ("2027-02-10", "holiday"), ("2027-02-11", "holiday"), ("2027-02-20", "workday"),
]
NEW_YEAR_2027 = CalendarDayIn(date=date(2027, 1, 1), kind=DayKind.holiday, name="元旦")
DEC_28 = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)  # a Monday


def local_day(value: datetime | None) -> date:
    assert value is not None
    return to_local(value).date()


def event_id(session: Session) -> int:
    event = make_event(session, grade="IV")
    assert event.id is not None
    return event.id


def enter(session: Session, days: list[tuple[str, str]], name: str = "春节（测试数据）") -> None:
    for day, kind in days:
        office_calendar.upsert(session=session, day_in=CalendarDayIn(
            date=date.fromisoformat(day), kind=DayKind(kind), name=name), actor_id=None)


def test_the_installed_package_does_not_know_2027() -> None:
    # The premise of these tests; when the package learns 2027, move them to the next year.
    assert package_knows(2026) and not package_knows(2027)


def test_a_year_the_package_knows_is_unchanged_by_an_empty_office_calendar(session: Session) -> None:
    cal = office_calendar.load(session=session)
    day = date(2025, 1, 1)
    while day.year == 2025:
        assert cal.day(day) == (chinese_calendar.is_workday(day), True), day
        day += timedelta(days=1)
    # National Day 2025: 10-01..10-08 off, Sunday 09-28 and Saturday 10-11 are 调休 working days.
    assert cal.day(date(2025, 9, 28)) == (True, True) and cal.day(date(2025, 10, 11)) == (True, True)
    assert not any(cal.day(date(2025, 10, d))[0] for d in range(1, 9))
    due, provisional = close_deadline(datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI), 5, cal)
    # 09-28 (Sun, 调休), 09-29, 09-30, then 10-09, 10-10.
    assert (local_day(due), provisional) == (date(2025, 10, 10), False)
    assert close_deadline(datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI), 5, PACKAGE_ONLY) == (due, False)


def test_a_deadline_over_days_no_calendar_knows_is_provisional_monday_to_friday() -> None:
    due, provisional = close_deadline(DEC_28, 5)
    # 12-29, 12-30, 12-31, then 2027-01-01 (Fri, guessed a working day) and 01-04.
    assert (local_day(due), provisional) == (date(2027, 1, 4), True)
    due, provisional = close_deadline(DEC_28, 3)  # 12-29..12-31: all known
    assert (local_day(due), provisional) == (date(2026, 12, 31), False)


def test_an_entered_day_wins_over_the_package_and_deleting_it_restores_the_package(session: Session) -> None:
    opened = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)
    office_calendar.upsert(session=session, day_in=CalendarDayIn(
        date=date(2025, 9, 29), kind=DayKind.holiday, name="临时放假（测试）"), actor_id=None)
    office_calendar.upsert(session=session, day_in=CalendarDayIn(
        date=date(2025, 10, 11), kind=DayKind.holiday, name="取消调休（测试）"), actor_id=None)
    cal = office_calendar.load(session=session)
    assert cal.day(date(2025, 9, 29)) == (False, True) and cal.day(date(2025, 10, 11)) == (False, True)
    # 09-28, 09-30, 10-09, 10-10, 10-13.
    assert local_day(close_deadline(opened, 5, cal)[0]) == date(2025, 10, 13)
    office_calendar.delete(session=session, day=date(2025, 9, 29), actor_id=None)
    office_calendar.delete(session=session, day=date(2025, 10, 11), actor_id=None)
    assert local_day(close_deadline(opened, 5, office_calendar.load(session=session))[0]) == date(2025, 10, 10)


def test_the_entered_spring_festival_is_skipped_and_its_make_up_saturday_counted(session: Session) -> None:
    opened = datetime(2027, 2, 3, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
    # Unknown: Monday-Friday straight through the festival week, marked provisional.
    assert (local_day(close_deadline(opened, 5)[0]), close_deadline(opened, 5)[1]) == (date(2027, 2, 10), True)
    enter(session, SPRING_FESTIVAL_2027_TEST_DATA)
    cal = office_calendar.load(session=session)
    due, provisional = close_deadline(opened, 5, cal)
    # 02-04, (02-05..02-11 off), 02-12, 02-15, 02-16, 02-17.
    assert (local_day(due), provisional) == (date(2027, 2, 17), False)
    due, _ = close_deadline(datetime(2027, 2, 15, 10, 0, tzinfo=SHANGHAI), 5, cal)
    assert local_day(due) == date(2027, 2, 20)  # the make-up Saturday is the 5th working day


def test_the_warning_shows_from_sixty_days_before_the_calendar_runs_out(session: Session) -> None:
    assert office_calendar.status(session=session, today=date(2026, 11, 1)).warning is None
    status = office_calendar.status(session=session, today=date(2026, 11, 2))
    assert status.covered_until == date(2026, 12, 31)
    assert status.warning == "2027年节假日安排尚未录入"
    office_calendar.upsert(session=session, day_in=NEW_YEAR_2027, actor_id=None)
    status = office_calendar.status(session=session, today=date(2026, 12, 28))
    assert (status.covered_until, status.warning) == (date(2027, 12, 31), None)
    # A make-up working day alone does not make a year known: its holidays are still missing.
    assert office_calendar.status(session=session, today=date(2027, 11, 2)).warning == "2028年节假日安排尚未录入"
    enter(session, [("2028-01-29", "workday")])
    assert office_calendar.status(session=session, today=date(2027, 11, 2)).warning == "2028年节假日安排尚未录入"


def test_a_ticket_opened_on_28_december_before_and_after_2027_is_entered(session: Session) -> None:
    unit = make_unit(session)
    with time_machine.travel(DEC_28, tick=False):
        before, _ = tickets.open_from_event(session=session, event_id=event_id(session),
                                            actor_id=None, unit_id=unit.id)
        assert (local_day(before.close_due_at), before.close_due_provisional) == (date(2027, 1, 4), True)
        assert office_calendar.status(session=session).warning == "2027年节假日安排尚未录入"

        office_calendar.upsert(session=session, day_in=NEW_YEAR_2027, actor_id=None)
        enter(session, SPRING_FESTIVAL_2027_TEST_DATA)
        session.refresh(before)
        assert (local_day(before.close_due_at), before.close_due_provisional) == (date(2027, 1, 5), False)
        rows = [t for t in tickets.timeline(session=session, ticket_id=before.id or 0) if t.action == "calendar"]
        # The first entry moved it (and made it final); the festival days did not touch it.
        assert len(rows) == 1
        assert "录入2027-01-01 元旦放假" in rows[0].note
        assert "由2027-01-04调整为2027-01-05" in rows[0].note
        assert rows[0].changes["close_due_provisional"] == [True, False]
        assert office_calendar.status(session=session).warning is None

        after, _ = tickets.open_from_event(session=session, event_id=event_id(session),
                                           actor_id=None, unit_id=unit.id)
        assert (local_day(after.close_due_at), after.close_due_provisional) == (date(2027, 1, 5), False)
        assert not [t for t in tickets.timeline(session=session, ticket_id=after.id or 0)
                    if t.action == "calendar"]


def test_closed_tickets_keep_their_deadline_when_the_calendar_changes(session: Session) -> None:
    with time_machine.travel(DEC_28, tick=False):
        ticket, _ = tickets.open_from_event(session=session, event_id=event_id(session),
                                            actor_id=None, unit_id=make_unit(session).id)
        tickets.transition(session=session, ticket_id=ticket.id or 0, to_state="handling", actor_id=None)
        ticket.state = "closed"  # the ledger row is final: its deadline was what it was
        session.add(ticket)
        session.flush()
        office_calendar.upsert(session=session, day_in=NEW_YEAR_2027, actor_id=None)
        session.refresh(ticket)
        assert local_day(ticket.close_due_at) == date(2027, 1, 4) and ticket.close_due_provisional


def test_a_csv_in_gbk_with_a_header_is_imported_and_a_bad_line_stores_nothing(session: Session) -> None:
    good = "date,kind,name\n2027-01-01,放假,元旦\n2027/02/20,上班,春节调休（测试数据）\n".encode("gbk")
    result = office_calendar.import_csv(session=session, data=good, actor_id=None)
    assert (result.imported, result.errors) == (2, [])
    assert [(d.day, d.kind) for d in office_calendar.get_all(session=session, year=2027)] == [
        (date(2027, 1, 1), "holiday"), (date(2027, 2, 20), "workday")]
    bad = "2027-10-01,holiday,国庆节\n2027-13-01,holiday,x\n2027-10-02,补休,y\n".encode()
    result = office_calendar.import_csv(session=session, data=bad, actor_id=None)
    assert result.imported == 0
    assert [e.line for e in result.errors] == [2, 3]
    assert result.errors[0].message.startswith("日期格式有误") and result.errors[1].message.startswith("类型有误")
    assert len(office_calendar.get_all(session=session)) == 2


def test_the_duty_officers_daily_notice_carries_the_warning_until_2027_is_entered(session: Session) -> None:
    session.add(NotificationChannel(name="值班群", kind="webhook", url="http://127.0.0.1:9/hook"))
    session.flush()
    with time_machine.travel(DEC_28.replace(hour=7), tick=False):
        assert daily.send(session=session) == []  # not before 08:00
    with time_machine.travel(DEC_28, tick=False):
        tickets.open_from_event(session=session, event_id=event_id(session), actor_id=None)
        [row] = daily.send(session=session)
        assert "2027年节假日安排尚未录入" in row.body and "1 件工单的办结时限为暂定" in row.body
        assert daily.send(session=session) == []  # once a day
    with time_machine.travel(DEC_28 + timedelta(days=1), tick=False):
        office_calendar.upsert(session=session, day_in=NEW_YEAR_2027, actor_id=None)
        [row] = daily.send(session=session)
        assert "节假日安排" not in row.body and "未办结工单 1 件" in row.body


@pytest.mark.parametrize("kind", ["holiday", "workday"])
def test_entering_a_day_twice_keeps_one_row(session: Session, kind: str) -> None:
    enter(session, [("2027-10-01", "holiday")], name="国庆节")
    enter(session, [("2027-10-01", kind)], name="改")
    [row] = office_calendar.get_all(session=session, year=2027)
    assert (row.kind, row.name) == (kind, "改")
