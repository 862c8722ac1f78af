"""Who may see which ticket: a unit handler works only on tickets of their own unit."""

from __future__ import annotations

from sqlmodel import Session

from core.errors import Forbidden, InvalidInput
from core.tickets import service as tickets
from core.tickets.models import Ticket
from core.units import service as units
from core.users import service as users
from core.users.models import Role, User


def visible_unit(user: User) -> tuple[bool, int | None]:
    """(restricted, unit id): handlers are restricted to their unit, others see all."""
    return user.role == Role.handler, user.unit_id


def ticket_for(*, session: Session, user: User, ticket_id: int, lead_only: bool = False) -> Ticket:
    """The ticket, or NotFound; Forbidden when a handler asks for another unit's ticket.

    A handler of an assisting unit (协办) may read it and add notes; changing its state or
    recording responses is for the lead unit (`lead_only`).
    """
    ticket = tickets.get(session=session, ticket_id=ticket_id)
    restricted, unit_id = visible_unit(user)
    if not restricted:
        return ticket
    if unit_id is not None and ticket.unit_id == unit_id:
        return ticket
    assert ticket.id is not None
    if (not lead_only and unit_id is not None
            and unit_id in tickets.assisting_unit_ids(session=session, ticket_id=ticket.id)):
        return ticket
    raise Forbidden("只能查看和办理本单位的工单")


def check_units(*, session: Session, unit_ids: list[int]) -> None:
    """Reject units that do not exist."""
    for unit_id in unit_ids:
        if units.get(session=session, unit_id=unit_id) is None:
            raise InvalidInput(f"责任单位不存在: {unit_id}")


def check_assignment(*, session: Session, unit_id: int | None, handler_id: int | None) -> None:
    """Reject a unit or handler that does not exist, or a handler of another unit."""
    if unit_id is not None and units.get(session=session, unit_id=unit_id) is None:
        raise InvalidInput(f"责任单位不存在: {unit_id}")
    if handler_id is None:
        return
    if unit_id is None:
        raise InvalidInput("指定承办人时须同时指定责任单位")
    handler = users.get(session=session, user_id=handler_id)
    if handler is None or not handler.is_active:
        raise InvalidInput(f"承办人不存在: {handler_id}")
    if handler.unit_id is not None and handler.unit_id != unit_id:
        raise InvalidInput("承办人不属于该责任单位")
