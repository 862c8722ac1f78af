from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from core.errors import Conflict, InvalidInput
from core.reports import service as reports
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate
from core.timeutil import SHANGHAI, ensure_utc
from tests.core.factories import make_event, make_unit, make_user


def test_it_opens_one_ticket_per_event(session: Session) -> None:
    event = make_event(session)
    first, created = tickets.open_from_event(session=session, event_id=event.id, actor_id=None)
    again, created_again = tickets.open_from_event(session=session, event_id=event.id, actor_id=None)
    assert created and not created_again
    assert first.id == again.id
    session.commit()


def test_it_refuses_an_illegal_transition_with_a_conflict(session: Session) -> None:
    event = make_event(session)
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None)
    with pytest.raises(Conflict):
        tickets.transition(session=session, ticket_id=ticket.id, to_state="closed", actor_id=None)
    assert ticket.state == "triage"


def test_it_needs_a_reason_to_dismiss_as_false_alarm(session: Session) -> None:
    event = make_event(session)
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None)
    with pytest.raises(InvalidInput):
        tickets.transition(session=session, ticket_id=ticket.id, to_state="dismissed", actor_id=None)
    tickets.transition(session=session, ticket_id=ticket.id, to_state="dismissed", actor_id=None,
                       note="汽车广告，与辖区无关")
    assert ticket.dismiss_reason == "汽车广告，与辖区无关"


def test_it_records_every_step_on_the_timeline(session: Session) -> None:
    unit = make_unit(session)
    duty = make_user(session, "duty1", "duty")
    event = make_event(session)
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=duty.id, unit_id=unit.id)
    tickets.transition(session=session, ticket_id=ticket.id, to_state="handling", actor_id=duty.id)
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=duty.id,
                            response_in=ResponseCreate(channel="wechat", title="关于停车整治的回应"))
    tickets.transition(session=session, ticket_id=ticket.id, to_state="closed", actor_id=duty.id)
    session.commit()
    rows = tickets.timeline(session=session, ticket_id=ticket.id)
    steps = [(row.action, row.from_state, row.to_state) for row in rows]
    assert steps == [
        ("open", "", "triage"),
        ("assign", "triage", "assigned"),
        ("transition", "assigned", "handling"),
        ("respond", "handling", "responded"),
        ("transition", "responded", "closed"),
    ]
    assert ticket.first_handler_id == duty.id
    assert ticket.closed_at is not None


def test_it_blocks_a_grade_two_response_until_a_leader_signs_off(session: Session) -> None:
    unit = make_unit(session)
    leader = make_user(session, "leader1", "leader")
    event = make_event(session, grade="II")
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None, unit_id=unit.id)
    tickets.transition(session=session, ticket_id=ticket.id, to_state="handling", actor_id=None)
    response = ResponseCreate(channel="weibo", title="情况通报")
    with pytest.raises(Conflict):
        tickets.record_response(session=session, ticket_id=ticket.id, response_in=response, actor_id=None)
    with pytest.raises(Conflict):  # only a ticket under review can be signed off
        tickets.sign_off(session=session, ticket_id=ticket.id, leader_id=leader.id)
    tickets.transition(session=session, ticket_id=ticket.id, to_state="review", actor_id=None)
    tickets.sign_off(session=session, ticket_id=ticket.id, leader_id=leader.id)
    saved = tickets.record_response(session=session, ticket_id=ticket.id, response_in=response, actor_id=None)
    assert saved.approved_by_id == leader.id
    assert ticket.state == "responded"


def test_the_annual_report_counts_only_recorded_responses_in_that_year(session: Session) -> None:
    unit = make_unit(session)
    in_year = datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI)
    counted = []
    for topic, channel, kind in [("parking", "wechat", "response"), ("snow", "weibo", "response"),
                                 ("relocation", "website", "interpretation")]:
        event = make_event(session, topic=topic, at=in_year)
        ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None,
                                            unit_id=unit.id, opened_at=in_year)
        tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None, response_in=ResponseCreate(
            channel=channel, kind=kind, title="回应", published_at=in_year + timedelta(hours=5)))
        counted.append(ticket)
    # A second response to the same event is not a second responded event.
    tickets.record_response(session=session, ticket_id=counted[0].id, actor_id=None, response_in=ResponseCreate(
        channel="website", kind="interpretation", title="政策解读", published_at=in_year + timedelta(days=2)))
    # A response published on 2026-01-01 00:30 Beijing time belongs to 2026, not 2025.
    late = make_event(session, topic="noise", at=in_year)
    late_ticket, _ = tickets.open_from_event(session=session, event_id=late.id, actor_id=None, unit_id=unit.id)
    tickets.record_response(session=session, ticket_id=late_ticket.id, actor_id=None, response_in=ResponseCreate(
        channel="weibo", title="回应", published_at=datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI)))
    # An open ticket without a response does not count.
    make_event(session, topic="heating", at=in_year)
    session.commit()

    figures = reports.annual(session=session, year=2025)
    assert figures["responded_events"] == 3
    assert figures["policy_interpretations"] == 2
    assert figures["weibo_wechat_responses"] == 2
    assert figures["topics"] == {"parking": 1, "relocation": 1, "snow": 1}
    assert figures["responses_on_time"] == 3
    assert "共回应公众关注热点或舆情3次" in figures["text"]
    assert "发布政策解读稿件2篇" in figures["text"]
    assert reports.annual(session=session, year=2026)["responded_events"] == 1
    assert ensure_utc(counted[0].first_response_at) == ensure_utc(in_year + timedelta(hours=5))
