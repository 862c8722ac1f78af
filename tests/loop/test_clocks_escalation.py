"""Time travel over the 2025 National Day week (10-01..10-08 off; Sun 09-28 and Sat 10-11 are 调休 workdays)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from core.notify.models import Notification
from core.tickets import escalation
from core.tickets import service as tickets
from core.tickets.models import TicketEscalation
from core.timeutil import SHANGHAI, to_local
from tests.core.factories import make_event
from tests.loop.conftest import Office

pytestmark = pytest.mark.usefixtures("app_env")
# The audience of each escalation step: warn the handler, then handler, unit head, 分管, 主要领导.
LADDER_AT = ["handler", "handler", "unit_head", "deputy_leader", "principal"]


def local(value: datetime | None) -> tuple[int, int, int, int]:
    assert value is not None
    v = to_local(value)
    return v.month, v.day, v.hour, v.minute


def test_the_close_deadline_counts_the_make_up_sunday_and_skips_the_holiday(session: Session) -> None:
    # Opened Friday 09-26: working days after it are Sun 09-28 (调休), 09-29, 09-30, 10-09, 10-10.
    opened = datetime(2025, 9, 26, 16, 0, tzinfo=SHANGHAI)
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="IV").id,
                                        actor_id=None, opened_at=opened)
    assert local(ticket.close_due_at) == (10, 10, 23, 59)
    # Opened on the holiday (10-03): 10-09, 10-10, Sat 10-11 (调休), 10-13, 10-14.
    on_holiday = datetime(2025, 10, 3, 3, 0, tzinfo=SHANGHAI)
    other, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="IV").id,
                                       actor_id=None, opened_at=on_holiday)
    assert local(other.close_due_at) == (10, 14, 23, 59)
    # Hours are counted on the clock, holiday or not: 48 h for a general matter.
    assert other.response_due_at == on_holiday + timedelta(hours=48)
    session.commit()


def test_an_extension_moves_the_close_deadline_by_working_days(session: Session) -> None:
    opened = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session).id,
                                        actor_id=None, opened_at=opened)
    assert local(ticket.close_due_at) == (10, 14, 23, 59)
    assert ticket.id is not None
    tickets.extend(session=session, ticket_id=ticket.id, actor_id=None, working_days=7,
                   reason="需区住建局联合核查", at=opened + timedelta(days=1))
    assert local(ticket.close_due_at) == (10, 16, 23, 59)
    session.commit()


def test_a_grade_ii_matter_left_alone_escalates_at_the_right_minutes_to_the_right_people(
        session: Session, office: Office) -> None:
    from core.notify import service as notify
    from core.notify.models import NotificationChannelCreate

    # One channel that hears every audience: each step queues exactly one notice on it.
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="督办群", kind="webhook", url="http://127.0.0.1:9/hook"))
    opened = datetime(2025, 10, 2, 3, 0, tzinfo=SHANGHAI)  # 3 a.m. on a holiday
    with time_machine.travel(opened, tick=False):
        ticket, _ = tickets.open_from_event(
            session=session, event_id=make_event(session, grade="II").id, actor_id=None,
            unit_id=office.unit.id, handler_id=office.id("handler"))
        session.commit()
    assert ticket.id is not None
    assert ticket.first_handler_id == office.id("duty")  # 首接人: the officer on duty
    assert ticket.unit_id == office.unit.id and ticket.handler_id == office.id("handler")

    expected = [  # (minutes after opening, clock, step, who hears of it: name and mobile)
        (4 * 60, "first_info", 0, ("李承办", "")),  # warned an hour before the 5 h deadline
        (5 * 60, "first_info", 1, ("李承办", "")),
        (6 * 60, "first_info", 2, ("周队长", "13800000002")),  # unit head
        (7 * 60, "first_info", 3, ("钱分管", "13800000003")),  # 分管领导 of parking
        (9 * 60, "first_info", 4, ("吴主任", "13800000004")),  # 主要领导
    ]
    for minutes, clock, step, (person, mobile) in expected:
        with time_machine.travel(opened + timedelta(minutes=minutes - 1), tick=False):
            assert escalation.sweep(session=session) == [], f"nothing due before minute {minutes}"
        with time_machine.travel(opened + timedelta(minutes=minutes), tick=False):
            fired = escalation.sweep(session=session)
            again = escalation.sweep(session=session)  # a second scheduler finds nothing left
            session.commit()
        assert [(f.clock, f.step) for f in fired] == [(clock, step)], minutes
        assert again == []
        rows = session.exec(select(Notification).where(
            Notification.dedupe_key.endswith(f":{step}:{LADDER_AT[step]}:ch1"),  # type: ignore[attr-defined]
            Notification.dedupe_key.startswith(f"ticket:{ticket.id}:{clock}:"),  # type: ignore[attr-defined]
            Notification.ticket_id == ticket.id)).all()
        assert len(rows) == 1, (minutes, [r.dedupe_key for r in rows])
        assert [(r["name"], r["mobile"]) for r in rows[0].recipients] == [(person, mobile)], minutes
        assert person in rows[0].body
        # The warning reminds; each later step is an escalation of its level.
        assert rows[0].subject.startswith("【时限提醒】" if step == 0 else f"【超期督办·第{step}级】"), rows[0].subject
    queued = session.exec(select(Notification).where(
        Notification.dedupe_key.startswith(f"ticket:{ticket.id}:first_info:"))).all()  # type: ignore[attr-defined]
    assert len(queued) == len(expected)  # one notice per step, nobody else copied at grade II

    timeline = [t for t in tickets.timeline(session=session, ticket_id=ticket.id)
                if t.action in {"remind", "escalate"}]
    assert [(to_local(t.at).hour, t.action) for t in timeline] == [
        (7, "remind"), (8, "escalate"), (9, "escalate"), (10, "escalate"), (12, "escalate")]
    assert "吴主任" in timeline[-1].note and "第4级督办" in timeline[-1].note
    assert timeline[-1].changes == {"clock": [None, "first_info"], "step": [None, 4],
                                    "audiences": [None, ["principal"]]}
    steps = session.exec(select(TicketEscalation).where(TicketEscalation.ticket_id == ticket.id)).all()
    assert sorted((s.step, s.audience) for s in steps) == [
        (0, "handler"), (1, "handler"), (2, "unit_head"), (3, "deputy_leader"), (4, "principal")]


def test_a_paused_clock_resumes_with_the_pause_excluded(session: Session, office: Office) -> None:
    opened = datetime(2025, 10, 9, 9, 0, tzinfo=SHANGHAI)  # Thursday, first day back
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="III").id,
                                        actor_id=office.id("duty"), unit_id=office.unit.id, opened_at=opened)
    assert ticket.id is not None
    assert local(ticket.close_due_at) == (10, 15, 23, 59)  # 10-10, Sat 10-11, 10-13, 10-14, 10-15
    paused_at = opened + timedelta(hours=10)
    with time_machine.travel(paused_at, tick=False):
        tickets.pause(session=session, ticket_id=ticket.id, actor_id=office.id("handler"),
                      reason="待区住建局答复房屋鉴定结论")
        session.commit()
    # While paused, nothing fires even long past the original 48 h deadline.
    with time_machine.travel(opened + timedelta(hours=60), tick=False):
        assert escalation.sweep(session=session) == []
    resumed_at = paused_at + timedelta(hours=30)  # Sat 10-11 01:00 — a 调休 working day
    with time_machine.travel(resumed_at, tick=False):
        tickets.resume(session=session, ticket_id=ticket.id, actor_id=office.id("handler"))
        session.commit()
    assert ticket.paused_at is None and ticket.paused_seconds == 30 * 3600
    assert ticket.response_due_at == opened + timedelta(hours=48 + 30)
    # The pause covered Friday 10-10 and Saturday 10-11 (调休): two working days.
    assert local(ticket.close_due_at) == (10, 17, 23, 59)
    rows = tickets.pauses(session=session, ticket_id=ticket.id)
    assert len(rows) == 1 and rows[0].reason == "待区住建局答复房屋鉴定结论"
    assert rows[0].ended_at == resumed_at
    # The warning now comes an hour before the moved deadline, not the original one.
    with time_machine.travel(opened + timedelta(hours=48 + 30 - 1, minutes=-1), tick=False):
        assert escalation.sweep(session=session) == []
    with time_machine.travel(opened + timedelta(hours=48 + 30 - 1), tick=False):
        assert [(f.clock, f.step) for f in escalation.sweep(session=session)] == [("response", 0)]
    actions = [t.action for t in tickets.timeline(session=session, ticket_id=ticket.id)]
    assert actions == ["open", "assign", "pause", "resume", "remind"]
    session.commit()


def test_a_grade_i_ticket_goes_to_the_principal_leader_at_once(session: Session, office: Office) -> None:
    from core.notify import service as notify
    from core.notify.models import NotificationChannelCreate

    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="领导群", kind="webhook", url="http://127.0.0.1:9/hook", audiences=["principal"]))
    opened = datetime(2025, 10, 1, 3, 0, tzinfo=SHANGHAI)
    with time_machine.travel(opened, tick=False):
        ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="I").id,
                                            actor_id=None)
        session.commit()
    queued = session.exec(select(Notification).where(Notification.ticket_id == ticket.id)).all()
    assert [n.dedupe_key.split(":ch")[0] for n in queued] == [f"ticket:{ticket.id}:opened"]
    assert "吴主任" in queued[0].body and "I级（特别重大）" in queued[0].body
    assert queued[0].subject.startswith("【I级（特别重大）舆情工单】")  # an opening notice, not an escalation
    # And every escalation step of a grade I ticket copies the principal leader.
    with time_machine.travel(opened + timedelta(hours=5), tick=False):
        fired = escalation.sweep(session=session)
    assert fired and all("principal" in f.audiences for f in fired)
    session.commit()
