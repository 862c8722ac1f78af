from datetime import datetime

from core.tickets.clocks import add_working_days, deadlines_for, is_workday
from core.timeutil import SHANGHAI, to_local


def test_it_counts_national_day_as_holiday_and_the_make_up_saturday_as_workday() -> None:
    # 2025: 10-01..10-08 off, Saturday 10-11 is a 调休 working day.
    assert not is_workday(datetime(2025, 10, 3).date())
    assert is_workday(datetime(2025, 10, 11).date())
    assert not is_workday(datetime(2025, 10, 12).date())


def test_it_puts_a_five_working_day_close_deadline_past_the_holiday() -> None:
    opened = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    # Working days after 09-30: 10-09 (Thu), 10-10 (Fri), 10-11 (Sat, 调休), 10-13, 10-14.
    due = to_local(add_working_days(opened, 5))
    assert (due.month, due.day, due.hour, due.minute) == (10, 14, 23, 59)


def test_it_gives_serious_grades_five_hours_for_first_information() -> None:
    opened = datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI)
    due = deadlines_for("II", opened)
    assert due.first_info_due_at is not None
    assert to_local(due.first_info_due_at).hour == 14
    assert due.response_due_at is not None
    assert (due.response_due_at - opened).total_seconds() == 24 * 3600
    general = deadlines_for("IV", opened)
    assert general.first_info_due_at is None
    assert general.response_due_at is not None
    assert (general.response_due_at - opened).total_seconds() == 48 * 3600
