"""api.access, rule by rule: which ticket a user may reach, which unit and handler a ticket may get."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from api import access
from core.errors import Forbidden, InvalidInput, NotFound
from core.tickets import service as tickets
from core.tickets.models import Ticket
from core.users.models import User
from tests.core.factories import make_event, make_unit, make_user


@pytest.fixture
def ticket(session: Session) -> Ticket:
    lead = make_unit(session, "站前街道城管执法中队", "parking")
    helper = make_unit(session, "站前街道社区服务中心", "welfare")
    ticket, _ = tickets.open_from_event(session=session, event_id=make_event(session).id, actor_id=None,
                                        unit_id=lead.id)
    assert ticket.id is not None and helper.id is not None
    tickets.set_assisting_units(session=session, ticket_id=ticket.id, unit_ids=[helper.id], actor_id=None)
    session.commit()
    return ticket


def user(session: Session, name: str, role: str, unit: str | None = None) -> User:
    unit_id = make_unit(session, unit, "other").id if unit else None
    return make_user(session, name, role, unit_id)


def test_staff_outside_the_units_reach_every_ticket(session: Session, ticket: Ticket) -> None:
    assert ticket.id is not None
    for role in ("admin", "leader", "duty"):
        someone = user(session, f"u-{role}", role)
        assert access.visible_unit(someone) == (False, None)
        assert access.ticket_for(session=session, user=someone, ticket_id=ticket.id, lead_only=True) is ticket


def test_a_handler_reaches_his_units_tickets_and_reads_those_he_assists(session: Session, ticket: Ticket) -> None:
    assert ticket.id is not None
    lead = user(session, "h-lead", "handler", "站前街道城管执法中队")
    helper = user(session, "h-help", "handler", "站前街道社区服务中心")
    other = user(session, "h-other", "handler", "站前街道安全生产办")
    loose = user(session, "h-loose", "handler")  # a handler not (yet) in any unit
    assert access.visible_unit(lead) == (True, lead.unit_id)
    assert access.ticket_for(session=session, user=lead, ticket_id=ticket.id, lead_only=True) is ticket
    assert access.ticket_for(session=session, user=helper, ticket_id=ticket.id) is ticket
    with pytest.raises(Forbidden, match="只能查看和办理本单位的工单"):
        access.ticket_for(session=session, user=helper, ticket_id=ticket.id, lead_only=True)
    for outsider in (other, loose):
        with pytest.raises(Forbidden):
            access.ticket_for(session=session, user=outsider, ticket_id=ticket.id)
    with pytest.raises(NotFound):
        access.ticket_for(session=session, user=lead, ticket_id=ticket.id + 1000)


def test_units_and_handlers_of_an_assignment_must_exist_and_belong_together(session: Session) -> None:
    unit = make_unit(session, "站前街道城管执法中队", "parking")
    other = make_unit(session, "站前街道社区服务中心", "welfare")
    assert unit.id is not None and other.id is not None
    handler = make_user(session, "h-1", "handler", unit.id)
    duty = make_user(session, "d-1", "duty")  # no unit: may be named handler of any unit
    gone = make_user(session, "h-gone", "handler", unit.id)
    gone.is_active = False
    session.add(gone)
    session.flush()
    assert handler.id is not None and duty.id is not None and gone.id is not None

    access.check_assignment(session=session, unit_id=unit.id, handler_id=handler.id)
    access.check_assignment(session=session, unit_id=unit.id, handler_id=None)
    access.check_assignment(session=session, unit_id=None, handler_id=None)
    access.check_assignment(session=session, unit_id=other.id, handler_id=duty.id)
    refusals = [
        ((other.id + 100, None), f"责任单位不存在: {other.id + 100}"),
        ((None, handler.id), "指定承办人时须同时指定责任单位"),
        ((unit.id, handler.id + 100), f"承办人不存在: {handler.id + 100}"),
        ((unit.id, gone.id), f"承办人不存在: {gone.id}"),
        ((other.id, handler.id), "承办人不属于该责任单位"),
    ]
    for (unit_id, handler_id), message in refusals:
        with pytest.raises(InvalidInput) as refused:
            access.check_assignment(session=session, unit_id=unit_id, handler_id=handler_id)
        assert str(refused.value.args[0]) == message

    access.check_units(session=session, unit_ids=[unit.id, other.id])
    access.check_units(session=session, unit_ids=[])
    with pytest.raises(InvalidInput) as refused:
        access.check_units(session=session, unit_ids=[unit.id, other.id + 100])
    assert refused.value.args[0] == f"责任单位不存在: {other.id + 100}"
