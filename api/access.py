"""Who may see what, for the HTTP layer: the rules themselves are in core.access (one place).

Every route that returns tickets, events, mentions or figures built from them takes the
caller's Scope (`Visible`) and hands it to the service, or checks one object with `ticket_for`,
`event_for`, `mention_for`. tests/security/test_access_matrix.py walks every route of the app
with every role, for own and other units: a new route without a rule there fails.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from api.deps import CurrentUser
from core import access
from core.access import Scope
from core.errors import Forbidden, InvalidInput, NotFound
from core.events import service as events
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import Mention
from core.tickets import service as tickets
from core.tickets.models import Ticket
from core.units import service as units
from core.users import service as users
from core.users.models import User


def scope_for(user: User) -> Scope:
    """The caller's scope; Forbidden for a role outside the closed set (deny by default)."""
    return access.scope_for(role=user.role, unit_id=user.unit_id)


def _visible(user: CurrentUser) -> Scope:
    return scope_for(user)


Visible = Annotated[Scope, Depends(_visible)]


def visible_unit(user: User) -> tuple[bool, int | None]:
    """(restricted, unit id): handlers are restricted to their unit, others see all."""
    scope = scope_for(user)
    return scope.restricted, scope.unit_id


def ticket_for(*, session: Session, user: User, ticket_id: int, lead_only: bool = False) -> Ticket:
    """The ticket, or NotFound; Forbidden when a handler asks for another unit's ticket.

    A handler of an assisting unit (协办) may read it and add notes; changing its state or
    recording responses is for the lead unit (`lead_only`).
    """
    ticket = tickets.get(session=session, ticket_id=ticket_id)
    scope = scope_for(user)
    if not scope.restricted:
        return ticket
    if scope.unit_id is not None and ticket.unit_id == scope.unit_id:
        return ticket
    if not lead_only and access.can_see_ticket(session=session, scope=scope, ticket_id=ticket_id):
        return ticket
    raise Forbidden("只能查看和办理本单位的工单")


def event_for(*, session: Session, scope: Scope, event_id: int) -> Event:
    """The event, or NotFound; Forbidden when it is not attached to one of the unit's tickets."""
    event = events.get(session=session, event_id=event_id)
    if event is None:
        raise NotFound(f"舆情事件不存在: {event_id}")
    if not access.can_see_event(session=session, scope=scope, event_id=event_id):
        raise Forbidden("只能查看本单位工单的舆情事件")
    return event


def mention_for(*, session: Session, scope: Scope, mention_id: int) -> Mention:
    """The mention, or NotFound; Forbidden when its event is not one of the unit's tickets'."""
    mention = mentions.get(session=session, mention_id=mention_id)
    if mention is None:
        raise NotFound(f"信息不存在: {mention_id}")
    if not access.can_see_mention(session=session, scope=scope, mention_id=mention_id):
        raise Forbidden("只能查看本单位工单的信息")
    return mention


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
