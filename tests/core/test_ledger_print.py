"""The ledger .xlsx fit to print: title row, Chinese labels, date cells, filter, print setup, 按时 right."""

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from core.ledger import service as ledger
from core.reports.service import year_bounds
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate
from core.timeutil import SHANGHAI
from tests.core.factories import make_event, make_unit

# The clock tests' National Day case: opened Fri 09-26 16:00, close due Fri 10-10 23:59 (调休 counted).
OPENED = datetime(2025, 9, 26, 16, 0, tzinfo=SHANGHAI)


def handled(session: Session, title: str, *, answer_after: timedelta, close_at: datetime) -> int:
    unit = make_unit(session, name=f"中队{title}")
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="IV", title=title).id,
                                        actor_id=None, unit_id=unit.id, opened_at=OPENED)
    assert ticket.id is not None
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None, response_in=ResponseCreate(
        channel="wechat", title="回应", published_at=OPENED + answer_after))
    tickets.transition(session=session, ticket_id=ticket.id, to_state="closed", actor_id=None, at=close_at)
    return ticket.id


def test_the_ledger_says_on_time_from_the_real_deadlines(session: Session) -> None:
    in_time = handled(session, "按时办结", answer_after=timedelta(hours=47),
                      close_at=datetime(2025, 10, 10, 20, 0, tzinfo=SHANGHAI))
    late = handled(session, "超时办结", answer_after=timedelta(hours=49),
                   close_at=datetime(2025, 10, 11, 9, 0, tzinfo=SHANGHAI))
    session.commit()
    start, end = year_bounds(2025)
    rows = {r["工单编号"]: r for r in ledger.rows(session=session, start=start, end=end)}
    assert (rows[in_time]["回应按时"], rows[in_time]["办结按时"]) == ("是", "是")
    assert (rows[late]["回应按时"], rows[late]["办结按时"]) == ("否", "否")
    assert rows[in_time]["办结时限"] == "2025-10-10 23:59"
    assert rows[in_time]["话题"] == "停车管理" and rows[in_time]["状态"] == "已办结"


def test_the_xlsx_is_fit_to_print_and_holds_no_formula(session: Session) -> None:
    tid = handled(session, "=HYPERLINK(\"http://evil.example\",\"点我\")", answer_after=timedelta(hours=3),
                  close_at=datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI))
    session.commit()
    start, end = year_bounds(2025)
    data = ledger.rows(session=session, start=start, end=end)
    made = datetime(2026, 1, 2, 8, 30, tzinfo=SHANGHAI)
    book = load_workbook(io.BytesIO(ledger.to_xlsx(data, title="2025年舆情台账",
                                                   period="2025年1月1日至2025年12月31日", generated_at=made)))
    sheet = book.active
    assert sheet is not None
    title = str(sheet["A1"].value)
    assert "2025年舆情台账" in title and "2025年1月1日至2025年12月31日" in title and "2026-01-02 08:30" in title
    header = [c.value for c in sheet[2]]
    assert header == ledger.COLUMNS
    row = {name: sheet.cell(row=3, column=i + 1) for i, name in enumerate(header)}
    assert row["工单编号"].value == tid
    assert row["交办时间"].is_date and row["交办时间"].value == datetime(2025, 9, 26, 16, 0)
    assert row["办结时限"].is_date and row["办结时限"].value == datetime(2025, 10, 10, 23, 59)
    assert (row["话题"].value, row["状态"].value, row["办结按时"].value) == ("停车管理", "已办结", "是")
    assert row["标题"].data_type == "s" and row["标题"].quotePrefix
    assert [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"] == []
    assert row["原贴摘要"].alignment.wrap_text
    assert sheet.auto_filter.ref == f"A2:{sheet.cell(row=2, column=len(header)).column_letter}3"
    assert sheet.freeze_panes == "A3"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.print_title_rows == "$1:$2"
    widths = {name: sheet.column_dimensions[row[name].column_letter].width for name in header}
    assert widths["序号"] < widths["发布时间"] < widths["标题"] <= 40


@pytest.mark.parametrize(("answer_after", "close_at", "expected"), [
    # The clocks' case: opened Tue 09-30 10:00, five working days after National Day and its 调休
    # Saturday end Tue 10-14 23:59; a grade IV answer is due in 48 hours.
    (timedelta(hours=48), datetime(2025, 10, 14, 23, 59, tzinfo=SHANGHAI), ("是", "是")),  # on the minute
    (timedelta(hours=48, minutes=1), datetime(2025, 10, 15, 0, 1, tzinfo=SHANGHAI), ("否", "否")),
    (timedelta(hours=2), datetime(2025, 10, 11, 10, 0, tzinfo=SHANGHAI), ("是", "是")),  # on the 调休 Saturday
], ids=["on-the-deadline", "a-minute-late", "closed-on-the-make-up-saturday"])
def test_on_time_follows_the_clock_tests_national_day_case(
        session: Session, answer_after: timedelta, close_at: datetime, expected: tuple[str, str]) -> None:
    opened = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    unit = make_unit(session, name="城管中队")
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="IV").id,
                                        actor_id=None, unit_id=unit.id, opened_at=opened)
    assert ticket.id is not None
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None, response_in=ResponseCreate(
        channel="wechat", title="回应", published_at=opened + answer_after))
    tickets.transition(session=session, ticket_id=ticket.id, to_state="closed", actor_id=None, at=close_at)
    session.commit()
    start, end = year_bounds(2025)
    row = next(r for r in ledger.rows(session=session, start=start, end=end) if r["工单编号"] == ticket.id)
    assert row["办结时限"] == "2025-10-14 23:59"
    assert (row["回应按时"], row["办结按时"]) == expected


def test_an_open_ticket_past_its_deadline_says_late_not_blank(session: Session) -> None:
    unit = make_unit(session, name="城管中队")
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="IV").id,
                                        actor_id=None, unit_id=unit.id, opened_at=OPENED)
    session.commit()
    start, end = year_bounds(2025)
    row = next(r for r in ledger.rows(session=session, start=start, end=end) if r["工单编号"] == ticket.id)
    assert (row["回应按时"], row["办结按时"]) == ("否（超期未完成）", "否（超期未完成）")
