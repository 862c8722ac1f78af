"""Alerts go to whoever is on duty, are re-sent until signed for, then escalate; handovers list what is open."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from core.alerts import service as alerts
from core.audit import service as audit
from core.duty import service as duty
from core.errors import InvalidInput
from core.notify import service as notify
from core.notify.models import Notification, NotificationChannelCreate
from core.timeutil import SHANGHAI
from tests.core.factories import make_event, make_user
from tests.loop.conftest import Office

pytestmark = pytest.mark.usefixtures("app_env")


def test_a_month_is_imported_and_the_person_on_duty_is_found(session: Session, office: Office) -> None:
    night = make_user(session, "night_he", "duty")
    night.full_name = "何夜班"
    session.commit()
    rows = duty.parse_roster_csv(
        "日期,值班人员,角色,开始时间,时长\n"
        "2025-11-01,night_he,值班员,17:30,15\n"
        "2025-11-01,lead_zhao,带班领导,08:30,24\n"
        "2025-11-02,王值班,值班员,,\n")
    shifts = duty.import_month(session=session, year=2025, month=11, rows=rows, actor_id=office.id("duty"))
    session.commit()
    assert len(shifts) == 3
    at_3am = datetime(2025, 11, 2, 3, 0, tzinfo=SHANGHAI)
    assert [s.user_id for s in duty.on_duty(session=session, at=at_3am, role="officer")] == [night.id]
    assert [r.name for r in duty.recipients(session=session, audience="duty", at=at_3am)] == ["何夜班"]
    assert [r.name for r in duty.recipients(session=session, audience="duty_leader", at=at_3am)] == ["赵带班"]
    # Importing the month again replaces it: the old shifts are cancelled, not deleted.
    duty.import_month(session=session, year=2025, month=11, rows=rows[:1], actor_id=None)
    session.commit()
    nov = (datetime(2025, 11, 1, tzinfo=SHANGHAI), datetime(2025, 12, 1, tzinfo=SHANGHAI))
    assert len(duty.get_shifts(session=session, start=nov[0], end=nov[1])) == 1
    assert len(duty.get_shifts(session=session, start=nov[0], end=nov[1], include_cancelled=True)) == 4
    assert [r.action for r in audit.get_all(session=session, entity="duty_shift")].count("cancel") == 3
    with pytest.raises(InvalidInput):
        duty.import_month(session=session, year=2025, month=12, rows=rows, actor_id=None)


def test_an_unsigned_alert_is_renotified_then_escalated_and_signing_stops_it(
        session: Session, office: Office) -> None:
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="值班群", kind="wecom", url="http://127.0.0.1:9/cgi-bin/webhook/send?key=k"))
    created = datetime(2025, 10, 4, 3, 0, tzinfo=SHANGHAI)
    with time_machine.travel(created, tick=False):
        event = make_event(session, grade="II", title="站前小区地下车库积水漫入配电室")
        alert = alerts.open_for_event(session=session, event=event)
        session.commit()
    assert alert is not None and alert.id is not None
    assert alert.notify_step == 1 and alert.notified_at == created

    def sweep_at(minutes: int) -> list[tuple[int, int]]:
        with time_machine.travel(created + timedelta(minutes=minutes), tick=False):
            fired = alerts.sweep(session=session)
            session.commit()
            return fired

    assert sweep_at(4) == []
    assert sweep_at(5) == [(alert.id, 2)]
    assert sweep_at(5) == []  # a second scheduler: nothing twice
    assert sweep_at(10) == [(alert.id, 3)]
    assert sweep_at(15) == [(alert.id, 4)]
    sent = session.exec(select(Notification).where(Notification.alert_id == alert.id)
                        .order_by(Notification.id)).all()  # type: ignore[arg-type]
    assert [n.dedupe_key.split(":ch")[0] for n in sent] == [
        f"alert:{alert.id}:step1:duty", f"alert:{alert.id}:step2:duty",
        f"alert:{alert.id}:step3:duty", f"alert:{alert.id}:step4:duty_leader"]
    assert "@王值班" in sent[0].body and "立即签收" in sent[0].body
    assert "@赵带班" in sent[3].body and "升级" in sent[3].subject
    assert f"?alert={alert.id}" in sent[0].body

    with time_machine.travel(created + timedelta(minutes=20), tick=False):
        alerts.acknowledge(session=session, alert_id=alert.id, user_id=office.id("duty"))
        session.commit()
    assert sweep_at(30) == []  # signed for: no escalation to the principal leader
    actions = [r.action for r in alerts.timeline(session=session, alert_id=alert.id)]
    assert actions == ["open", "notify", "renotify", "renotify", "escalate", "acknowledge"]


def test_a_grade_i_alert_reaches_the_principal_leader_at_once(session: Session, office: Office) -> None:
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="领导群", kind="dingtalk", url="http://127.0.0.1:9/robot/send?access_token=t",
        grades=["I", "II"]))
    with time_machine.travel(datetime(2025, 10, 5, 2, 0, tzinfo=SHANGHAI), tick=False):
        alert = alerts.open_for_event(session=session, event=make_event(session, grade="I"))
        low = alerts.open_for_event(session=session, event=make_event(session, grade="IV"))
        session.commit()
    assert alert is not None and low is not None
    keys = [n.dedupe_key.split(":ch")[0] for n in session.exec(select(Notification)).all()]
    # Routing by grade: the grade IV alert does not reach this channel at all.
    assert keys == [f"alert:{alert.id}:step1:duty", f"alert:{alert.id}:step1:principal"]


def test_a_handover_lists_what_the_shift_leaves_open(session: Session, office: Office) -> None:
    from core.tickets import service as tickets

    open_alert = alerts.open_for_event(session=session, event=make_event(session, grade="III", title="供暖不热"))
    event = make_event(session, grade="IV", title="占道停车")
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=office.id("duty"),
                                        unit_id=office.unit.id)
    tickets.pause(session=session, ticket_id=ticket.id or 0, actor_id=None, reason="待上级答复")
    done = make_event(session, grade="IV", title="已办结事项")
    closed, _ = tickets.open_from_event(session=session, event_id=done.id, actor_id=None)
    tickets.dismiss(session=session, ticket_id=closed.id or 0, actor_id=None, reason="广告")
    log = duty.handover(session=session, from_user_id=office.id("duty"), to_user_id=office.id("duty_leader"),
                        note="夜间无新增")
    session.commit()
    assert open_alert is not None
    assert log.open_alert_ids == [open_alert.id]
    assert log.open_ticket_ids == [ticket.id]
    assert "未签收预警 1 条，未办结工单 1 件" in log.summary
    assert "计时暂停" in log.summary and "占道停车" in log.summary
