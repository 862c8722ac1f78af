"""The ticket's record, row by row: who did what, from which state to which, with which note.

The timeline is the 台账's evidence, so each service call is checked for the exact row it
leaves (actor, action, states, note, time), and each refusal for its exact message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from core.audit.models import AuditLog
from core.errors import Conflict, InvalidInput
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate, Ticket
from core.timeutil import SHANGHAI
from tests.core.factories import make_event
from tests.loop.conftest import Office

pytestmark = pytest.mark.usefixtures("app_env")
T0 = datetime(2025, 10, 14, 9, 0, tzinfo=SHANGHAI)  # a Tuesday, far from any holiday


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rows(session: Session, ticket: Ticket) -> list[tuple[int | None, str, str, str, str, datetime]]:
    assert ticket.id is not None
    return [(r.actor_id, r.action, r.from_state, r.to_state, r.note, r.at)
            for r in tickets.timeline(session=session, ticket_id=ticket.id)]


def refused(error: type[Exception], call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(error) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.args[0])


def test_a_grade_ii_ticket_leaves_one_exact_row_per_step(session: Session, office: Office) -> None:
    duty, handler, head = office.id("duty"), office.id("handler"), office.id("head")
    deputy, principal = office.id("deputy"), office.id("principal")
    unit, other = office.unit.id, office.other_unit.id
    assert unit is not None and other is not None
    ticket, created = tickets.open_from_event(session=session, event_id=make_event(session, grade="II").id,
                                              actor_id=duty, note="值班研判", opened_at=at(0))
    assert created and ticket.id is not None and ticket.updated_at == at(0)
    tid = ticket.id
    tickets.assign(session=session, ticket_id=tid, actor_id=duty, unit_id=unit, handler_id=handler, at=at(1))
    assert ticket.assigned_at == at(1)
    tickets.set_assisting_units(session=session, ticket_id=tid, unit_ids=[other, unit, other], actor_id=duty,
                                at=at(2))
    assert tickets.assisting_unit_ids(session=session, ticket_id=tid) == [other]  # the lead is not its own 协办
    tickets.assign(session=session, ticket_id=tid, actor_id=duty, unit_id=unit, handler_id=head, at=at(3))
    tickets.transition(session=session, ticket_id=tid, to_state="handling", actor_id=handler, at=at(4))
    tickets.pause(session=session, ticket_id=tid, actor_id=handler, reason=" 待区住建局答复 ", at=at(5))
    assert (ticket.paused_at, ticket.pause_reason) == (at(5), "待区住建局答复")
    assert refused(Conflict, tickets.pause, session=session, ticket_id=tid, actor_id=handler,
                   reason="再暂停", at=at(6)) == "工单计时已暂停"
    tickets.resume(session=session, ticket_id=tid, actor_id=handler, at=at(95))
    assert refused(Conflict, tickets.resume, session=session, ticket_id=tid, actor_id=handler,
                   at=at(96)) == "工单计时未暂停"
    assert ticket.paused_seconds == 90 * 60 and ticket.response_due_at == at(24 * 60 + 90)
    tickets.update_notes(session=session, ticket_id=tid, actor_id=handler, online_note="已回复网友",
                         offline_note="已现场查看")
    tickets.update_notes(session=session, ticket_id=tid, actor_id=handler, online_note="已回复网友")  # unchanged
    tickets.transition(session=session, ticket_id=tid, to_state="review", actor_id=handler, at=at(100))
    tickets.review(session=session, ticket_id=tid, reviewer_id=deputy, confidentiality_ok=True, at=at(101))
    tickets.sign_off(session=session, ticket_id=tid, leader_id=principal, at=at(102))
    response = tickets.record_response(session=session, ticket_id=tid, actor_id=handler, response_in=ResponseCreate(
        channel="weibo", title="关于永安小区停车整治的回应", published_at=at(103)))
    assert (response.approved_by_id, response.approved_at) == (principal, at(102))
    assert ticket.first_response_at == at(103)
    # A second response on a responded ticket: another row, no change of state; an earlier
    # publication time moves the first response back.
    tickets.record_response(session=session, ticket_id=tid, actor_id=head, response_in=ResponseCreate(
        channel="wechat", kind="interpretation", summary="政策解读：停车收费标准", published_at=at(50)))
    assert ticket.first_response_at == at(50)
    audit = session.exec(select(AuditLog).where(AuditLog.entity == "response")
                         .order_by(AuditLog.id)).all()  # type: ignore[arg-type]
    assert [(a.actor_id, a.after["ticket_id"], a.after["approved_by_id"]) for a in audit] == [
        (handler, tid, principal), (head, tid, principal)]
    tickets.transition(session=session, ticket_id=tid, to_state="closed", actor_id=handler, at=at(104))
    assert ticket.closed_at == at(104) and ticket.reopened_count == 0
    tickets.reopen(session=session, ticket_id=tid, actor_id=duty, note="群众再次反映", at=at(105))
    session.commit()

    notes = rows(session, ticket)
    assert [r[:5] for r in notes] == [
        (duty, "open", "", "triage", "值班研判"),
        (duty, "assign", "triage", "assigned", "交办"),
        (duty, "units", "assigned", "assigned", f"协办单位：{other}"),
        (duty, "reassign", "assigned", "assigned", f"改派至单位 {unit}"),
        (handler, "transition", "assigned", "handling", ""),
        (handler, "pause", "handling", "handling", "暂停计时： 待区住建局答复 "),
        (handler, "resume", "handling", "handling", "恢复计时，暂停90分钟（含0个工作日）不计入时限"),
        (handler, "note", "handling", "handling", "线上情况：已回复网友；线下情况：已现场查看"),
        (handler, "transition", "handling", "review", ""),
        (deputy, "review", "review", "review", "审核通过（已做保密审查）"),
        (principal, "sign_off", "review", "review", "审核签发"),
        (handler, "respond", "review", "responded", "微博：关于永安小区停车整治的回应"),
        (head, "respond", "responded", "responded", "微信：政策解读：停车收费标准"),
        (handler, "transition", "responded", "closed", ""),
        (duty, "reopen", "closed", "handling", "群众再次反映"),
    ]
    assert [r[5] for r in notes if r[1] != "note"] == [at(m) for m in (0, 1, 2, 3, 4, 5, 95, 100, 101, 102, 103,
                                                                       50, 104, 105)]
    opened = tickets.timeline(session=session, ticket_id=tid)[0]
    assert opened.changes == {"first_handler_id": [None, duty]}  # 首接人 on record
    note_row = next(r for r in tickets.timeline(session=session, ticket_id=tid) if r.action == "note")
    assert note_row.changes == {"online_note": ["", "已回复网友"], "offline_note": ["", "已现场查看"]}
    # Reopened: a new closing clock from now, no 办结 time, and the old sign-off no longer counts.
    assert (ticket.state, ticket.closed_at, ticket.reopened_count) == ("handling", None, 1)
    assert ticket.close_started_at == at(105) and ticket.paused_working_days == 0
    assert (ticket.signed_off_by_id, ticket.signed_off_at, ticket.reviewed_by_id, ticket.reviewed_at,
            ticket.confidentiality_checked) == (None, None, None, None, False)
    assert (ticket.online_note, ticket.offline_note) == ("已回复网友", "已现场查看")


def test_closing_while_paused_ends_the_pause_at_the_closing_time(session: Session, office: Office) -> None:
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="IV").id,
                                        actor_id=None, unit_id=office.unit.id, opened_at=at(0))
    assert ticket.id is not None
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None,
                            response_in=ResponseCreate(channel="wechat", summary="已施划停车位", published_at=at(1)))
    tickets.pause(session=session, ticket_id=ticket.id, actor_id=None, reason="待交警答复", at=at(2))
    tickets.transition(session=session, ticket_id=ticket.id, to_state="closed", actor_id=None, at=at(62))
    pause, = tickets.pauses(session=session, ticket_id=ticket.id)
    assert (pause.started_at, pause.ended_at, ticket.paused_at, ticket.paused_seconds) == (at(2), at(62), None, 3600)


def test_refusals_say_exactly_why(session: Session, office: Office) -> None:
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="II").id,
                                        actor_id=None, opened_at=at(0))
    tid = ticket.id
    assert tid is not None
    assert refused(Conflict, tickets.transition, session=session, ticket_id=tid, to_state="assigned",
                   actor_id=None) == "交办前请指定责任单位"
    assert refused(Conflict, tickets.transition, session=session, ticket_id=tid, to_state="responded",
                   actor_id=None) == "请通过“记录回应”进入已回应状态"
    assert refused(InvalidInput, tickets.transition, session=session, ticket_id=tid, to_state="dismissed",
                   actor_id=None, note=" ") == "标记误报需要填写原因"
    assert refused(InvalidInput, tickets.transition, session=session, ticket_id=tid, to_state="archived",
                   actor_id=None) == "未知的工单状态: archived"
    assert refused(Conflict, tickets.record_response, session=session, ticket_id=tid, actor_id=None,
                   response_in=ResponseCreate(channel="weibo", title="t")) == "工单处于“待研判”状态，不能记录回应"
    assert refused(InvalidInput, tickets.reopen, session=session, ticket_id=tid, actor_id=None,
                   note="") == "重新打开工单需要填写原因"
    assert refused(Conflict, tickets.reopen, session=session, ticket_id=tid, actor_id=None,
                   note="x") == "工单处于“待研判”状态，无需重新打开"
    assert refused(Conflict, tickets.review, session=session, ticket_id=tid, reviewer_id=office.id("deputy"),
                   confidentiality_ok=True) == "工单处于“待研判”状态，只有待审核的工单可以审核"
    assert refused(Conflict, tickets.sign_off, session=session, ticket_id=tid,
                   leader_id=office.id("principal")) == "工单处于“待研判”状态，只有待审核的工单可以签发"
    assert refused(InvalidInput, tickets.pause, session=session, ticket_id=tid, actor_id=None,
                   reason=" ") == "暂停计时需要填写原因（如：待上级部门答复）"
    tickets.assign(session=session, ticket_id=tid, actor_id=None, unit_id=office.unit.id or 0)
    for bad in ({"channel": "telegram"}, {"channel": "weibo", "kind": "ad"}):
        message = refused(InvalidInput, tickets.record_response, session=session, ticket_id=tid, actor_id=None,
                          response_in=ResponseCreate(title="t", **bad))
        assert message == ("未知的回应渠道: telegram" if bad["channel"] == "telegram" else "未知的回应类型: ad")
    assert refused(Conflict, tickets.record_response, session=session, ticket_id=tid, actor_id=None,
                   response_in=ResponseCreate(channel="weibo", title="t")) == "II级舆情的回应须经领导审核签发后方可发布"
    # The closing limit may grow, never shrink or stay, and at most to the configured maximum.
    limit = "延期后的办结时限须大于原时限（5个工作日）且不超过60个工作日"
    for days in (4, 5, 61):
        assert refused(InvalidInput, tickets.extend, session=session, ticket_id=tid, actor_id=None,
                       working_days=days, reason="联合核查") == limit
    assert refused(InvalidInput, tickets.extend, session=session, ticket_id=tid, actor_id=None,
                   working_days=10, reason=" ") == "延期需要填写原因"
    tickets.extend(session=session, ticket_id=tid, actor_id=None, working_days=60, reason="联合核查", at=at(5))
    assert ticket.close_working_days == 60
    assert rows(session, ticket)[-1][1:5] == ("extend", "assigned", "assigned", "办结时限延长至60个工作日：联合核查")
    tickets.transition(session=session, ticket_id=tid, to_state="handling", actor_id=None)
    tickets.transition(session=session, ticket_id=tid, to_state="review", actor_id=None)
    assert refused(InvalidInput, tickets.sign_off, session=session, ticket_id=tid, leader_id=office.id("principal"),
                   confidentiality_checked=False) == "签发前须完成保密审查"
    for state, label in (("closed", "已办结"), ("dismissed", "误报")):
        ticket.state = state
        assert refused(Conflict, tickets.assign, session=session, ticket_id=tid, actor_id=None,
                       unit_id=office.unit.id or 0) == f"工单处于“{label}”状态，不能交办"
    session.rollback()


def test_lists_page_and_a_unit_sees_what_it_leads_or_assists(session: Session, office: Office) -> None:
    unit, other = office.unit.id, office.other_unit.id
    assert unit is not None and other is not None
    made = []
    for n in range(4):
        ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, title=f"事件{n}").id,
                                            actor_id=None, unit_id=unit if n < 3 else other, opened_at=at(n))
        assert ticket.id is not None
        made.append(ticket.id)
    tickets.set_assisting_units(session=session, ticket_id=made[0], unit_ids=[other], actor_id=None)
    session.commit()
    newest_first = made[::-1]
    assert [t.id for t in tickets.get_all(session=session)] == newest_first
    assert [t.id for t in tickets.get_all(session=session, limit=2)] == newest_first[:2]
    assert [t.id for t in tickets.get_all(session=session, limit=2, offset=1)] == newest_first[1:3]
    assert [t.id for t in tickets.get_all(session=session, unit_id=other)] == [made[3], made[0]]
    assert [t.id for t in tickets.get_all(session=session, unit_id=unit, state="assigned")] == made[2::-1]
    assert tickets.get_all(session=session, state="closed") == []
    assert tickets.assisting_unit_ids(session=session, ticket_id=made[1]) == []  # another ticket's 协办 only
    tickets.set_assisting_units(session=session, ticket_id=made[0], unit_ids=[], actor_id=None)
    assert tickets.assisting_unit_ids(session=session, ticket_id=made[0]) == []
    assert [t.id for t in tickets.get_all(session=session, unit_id=other)] == [made[3]]


def test_each_deadline_says_where_it_stands(session: Session, office: Office) -> None:
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="II").id,
                                        actor_id=None, unit_id=office.unit.id, opened_at=at(0))
    assert ticket.id is not None

    def states(now: datetime) -> dict[str, str]:
        return {d["clock"]: d["status"] for d in tickets.deadlines(session=session, ticket=ticket, now=now)}

    assert states(at(0)) == {"first_info": "未到期", "response": "未到期", "press": "未到期", "close": "未到期"}
    assert states(at(4 * 60)) == {"first_info": "即将到期", "response": "未到期", "press": "未到期",
                                  "close": "未到期"}  # an hour before the 5 h deadline
    assert states(at(4 * 60 - 1))["first_info"] == "未到期"
    assert states(at(5 * 60))["first_info"] == "即将到期"  # due, not yet past
    assert states(at(5 * 60 + 1))["first_info"] == "已超期"
    ticket.signed_off_by_id, ticket.confidentiality_checked = office.id("principal"), True
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None, response_in=ResponseCreate(
        channel="press_conference", title="新闻发布会", published_at=at(6 * 60)))
    assert states(at(7 * 60)) == {"first_info": "超时完成", "response": "按时完成", "press": "按时完成",
                                  "close": "未到期"}
    tickets.pause(session=session, ticket_id=ticket.id, actor_id=None, reason="待上级答复", at=at(7 * 60))
    assert states(at(30 * 24 * 60))["close"] == "计时暂停"
    labels = {d["clock"]: d["label"] for d in tickets.deadlines(session=session, ticket=ticket, now=at(0))}
    assert labels == {"first_info": "首次权威信息发布", "response": "公开回应", "press": "新闻发布会", "close": "办结"}
    session.rollback()


def test_notices_carry_topic_unit_and_kind_and_each_assignment_is_its_own(session: Session, office: Office) -> None:
    from core.notify import service as notify
    from core.notify.models import Notification, NotificationChannelCreate

    # A channel for parking matters only: a notice without its topic would never reach it.
    notify.create_channel(session=session, actor_id=None, channel_in=NotificationChannelCreate(
        name="停车专班群", kind="webhook", url="http://127.0.0.1:9/hook", topics=["parking"]))
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session, grade="I").id,
                                        actor_id=None, opened_at=at(0))
    assert ticket.id is not None
    for handler in ("handler", "head"):  # assigned twice: two notices, not one deduplicated
        tickets.assign(session=session, ticket_id=ticket.id, actor_id=None, unit_id=office.unit.id or 0,
                       handler_id=office.id(handler), at=at(1 if handler == "handler" else 2))
    session.commit()
    queued = session.exec(select(Notification).where(Notification.ticket_id == ticket.id)
                          .order_by(Notification.id)).all()  # type: ignore[arg-type]
    assert [n.subject.split("】")[0] for n in queued] == ["【I级（特别重大）舆情工单", "【工单交办", "【工单交办"]
    assert all("责任单位：站前街道城管执法中队" in n.body for n in queued[1:])
    assert "承办人：周队长" in queued[2].body
    assert len({n.dedupe_key for n in queued}) == 3


def test_a_very_long_note_is_kept_to_the_column_size(session: Session, office: Office) -> None:
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session).id, actor_id=None,
                                        unit_id=office.unit.id, opened_at=at(0))
    assert ticket.id is not None
    tickets.transition(session=session, ticket_id=ticket.id, to_state="handling", actor_id=None,
                       note="现场核查" * 700, at=at(1))
    session.commit()
    assert len(tickets.timeline(session=session, ticket_id=ticket.id)[-1].note) == 2000
